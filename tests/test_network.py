"""A network of providers (source-exports.md section 5): the generated network and its providers file."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines.demo_data.export import generate
from pipelines.demo_data.network import ARCHETYPES, provider_id
from pipelines.demo_data.profiles import DEFAULT, Profile
from pipelines.demo_data.world import build_world
from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.providers import is_network, providers
from tests.conftest import run_cli

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("network")
    result = run_cli("generate", "--providers", "2", "--out", str(out), "--as-of", AS_OF.isoformat())
    assert result.returncode == 0, result.stderr
    return out


def _cells(path: Path) -> list[list]:
    """A workbook's cell values (the file holds the time it was written; an encrypted one a fresh salt)."""
    import io

    import msoffcrypto
    from openpyxl import load_workbook

    from pipelines.ingestion.secrets import DEMO_PASSWORD

    data = io.BytesIO(path.read_bytes())
    office = msoffcrypto.OfficeFile(io.BytesIO(data.getvalue())) if data.getvalue()[:2] != b"PK" else None
    if office is not None:
        office.load_key(password=DEMO_PASSWORD)
        data = io.BytesIO()
        office.decrypt(data)
    return [list(r) for r in load_workbook(data).active.iter_rows(values_only=True)]


def _digests(folder: Path) -> dict[str, object]:
    """Each file's bytes; a workbook's cell values."""
    return {
        str(p.relative_to(folder)): _cells(p) if p.suffix == ".xlsx" else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_network_has_a_folder_per_provider_and_names_them_in_providers_csv(network):
    assert is_network(network)
    found = providers(network)
    assert [(p.id, p.name, p.group) for p in found] == [
        (provider_id(0), ARCHETYPES[0][0], ARCHETYPES[0][1]),
        (provider_id(1), ARCHETYPES[1][0], ARCHETYPES[1][1]),
    ]
    for p in found:
        assert (p.folder / "student_admin" / AS_OF.isoformat() / "opiskelijat.csv").is_file()
        assert (p.folder / "crm" / AS_OF.isoformat() / "accounts.csv").is_file()
        assert not is_network(p.folder)  # each provider's folder is a single provider's landing area


def test_the_first_provider_is_exactly_the_single_demo_provider(network, tmp_path):
    single = tmp_path / "single"
    generate("small", 1, single, AS_OF)
    assert _digests(network / provider_id(0)) == _digests(single)


def test_the_providers_differ_as_their_profiles_say(network):
    def figures(folder: Path) -> tuple[int, float, int]:
        day = AS_OF.isoformat()
        students = pl.read_csv(folder / "student_admin" / day / "opiskelijat.csv", separator=";", infer_schema=False)
        statuses = pl.read_csv(
            folder / "student_admin" / day / "opiskeluoikeusjaksot.csv", separator=";", infer_schema=False
        ).filter(pl.col("Tila").is_in(["eronnut", "katsotaaneronneeksi", "valmistunut"]))
        dropout = statuses.filter(pl.col("Tila") != "valmistunut").height / statuses.height
        accounts = pl.read_csv(folder / "crm" / day / "accounts.csv", infer_schema=False).height
        return students.height, dropout, accounts

    first, second = figures(network / provider_id(0)), figures(network / provider_id(1))
    assert second[0] < 0.75 * first[0]  # scale 0.6
    assert second[1] > first[1]  # dropout 1.4
    assert second[2] < 0.75 * first[2]  # fewer students, fewer employers, half of them with no account


def test_a_profile_with_more_dropout_ends_more_study_rights_in_dropout():
    usual = build_world("small", 5, AS_OF)
    dropping = build_world("small", 5, AS_OF, profile=Profile(dropout=2.0))

    def endings(world) -> dict[str, int]:
        periods = world.tables["status_periods"]
        return dict(periods.group_by("status").len().iter_rows())

    assert usual.tables["students"].height == dropping.tables["students"].height
    assert endings(dropping)["eronnut"] > 1.3 * endings(usual)["eronnut"]
    assert endings(dropping)["valmistunut"] < endings(usual)["valmistunut"]
    assert DEFAULT.fates() == (0.62, 0.82, 0.86)


def _broken(network: Path, tmp_path: Path, text: str | None = None, extra_folder: str | None = None) -> Path:
    copy = tmp_path / "net"
    copy.mkdir()
    for p in providers(network):
        (copy / p.id).mkdir()
    if extra_folder:
        (copy / extra_folder).mkdir()
    (copy / "providers.csv").write_text(text or (network / "providers.csv").read_text(encoding="utf-8"), "utf-8")
    return copy


@pytest.mark.parametrize(
    ("text", "extra", "where", "words"),
    [
        ("Org;Nimi;Ryhmä\n", None, "line 1", "the header must be Organisaatio;Nimi;Ryhmä"),
        (
            f"Organisaatio;Nimi;Ryhmä\n{provider_id(0)};A;x\n1.2.246.562.10.123;B;y\n",
            None,
            "line 3, column Organisaatio",
            "Organisaatio must be an organisation OID",
        ),
        (
            f"Organisaatio;Nimi;Ryhmä\n{provider_id(0)};A;x\n{provider_id(0)};B;y\n",
            None,
            "line 2, column Organisaatio",
            "Organisaatio must be unique in the file",
        ),
        (f"Organisaatio;Nimi;Ryhmä\n{provider_id(5)};A;x\n", None, "line 2, column Organisaatio", "has no folder"),
        (f"Organisaatio;Nimi;Ryhmä\n{provider_id(0)};;x\n", None, "line 2, column Nimi", "Nimi must not be empty"),
        (None, "0737546-2", "providers.csv", "the folder(s) 0737546-2 are not listed"),
    ],
    ids=["header", "bad id", "twice", "no folder", "no name", "unlisted folder"],
)
def test_a_providers_file_that_disagrees_with_the_folders_is_named_with_line_and_column(
    network, tmp_path, text, extra, where, words
):
    landing = _broken(network, tmp_path, text, extra)
    with pytest.raises(FileProblem) as caught:
        providers(landing)
    assert where in str(caught.value) and words in str(caught.value)


def test_a_y_tunnus_names_a_provider_as_well_as_an_oid(network, tmp_path):
    landing = _broken(network, tmp_path, "Organisaatio;Nimi;Ryhmä\n0737546-2;Y-tunnuksella;\n")
    for p in providers(network):
        shutil.rmtree(landing / p.id)
    (landing / "0737546-2").mkdir()
    assert [(p.id, p.group) for p in providers(landing)] == [("0737546-2", None)]


def test_too_many_or_no_providers_is_a_usage_error(tmp_path):
    result = run_cli("generate", "--providers", "0", "--out", str(tmp_path / "n"))
    assert result.returncode == 2 and "--providers 0 is not a number of providers from 1 to 99" in result.stderr
