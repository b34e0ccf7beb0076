"""Hostile and broken exports: a clear message naming file, line and column, and nothing lost."""

import functools
import gzip
import json
import tempfile
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingestion.folder import read_folder
from pipelines.ingestion.landing import Landing
from pipelines.validation import validate_export
from schemas import koski_bulk
from schemas.sources import SOURCES
from tests.conftest import FUZZ_EXAMPLES, run_cli
from tests.landing import AS_OF, valid_crm_rows, valid_koski_rows, write_landing, write_source

CORPUS = Path(__file__).parent / "corpus"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
FILES = {p.name.split(".", 1)[0]: p for p in CORPUS.glob("*.csv*")}


def _landing_with(root: Path, file_name: str, data: bytes):
    """A valid tiny landing folder whose ``file_name`` holds ``data``; returns (source, its folder)."""
    write_landing(root, crm_rows=valid_crm_rows())
    source = next(s for s in SOURCES if any(t.source_file == file_name for t in s.tables))
    folder = root / source.system / AS_OF
    (folder / file_name).write_bytes(data)
    return source, folder


def _validate(root: Path, file_name: str, data: bytes):
    source, folder = _landing_with(root, file_name, data)
    raws = read_folder(Landing.at(root), source.tables, folder)
    outcomes = validate_export(source, raws, "test")
    table = next(t for t in source.tables if t.source_file == file_name)
    return raws, outcomes, table


def test_the_corpus_has_at_least_25_broken_exports():
    assert len(CASES) >= 25 and set(CASES) == set(FILES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_broken_export_is_named_or_fully_accounted_for(tmp_path, case):
    expected, path = CASES[case], FILES[case]
    file_name = path.name.removesuffix(".gz").split(".", 1)[1]
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    raws, outcomes, table = _validate(tmp_path, file_name, data)
    outcome = outcomes[table.name]
    if "problem" in expected:
        problem = raws[table.name].problem
        assert problem is not None and expected["problem"] in problem.message, problem
        assert (problem.file, problem.line, problem.column) == (file_name, expected.get("line"), expected.get("column"))
        assert str(problem).startswith(f"{file_name}, line {expected['line']}")
        assert outcome.rows_read == outcome.rows_published == outcome.rows_rejected == 0
    else:
        assert raws[table.name].problem is None
        assert (outcome.rows_read, outcome.rows_published) == (expected["read"], expected["published"])
        assert outcome.rows_read == outcome.rows_published + outcome.rows_rejected
        found = sorted(outcome.failures.select("source_line", "rule_id").unique().rows())
        assert found == sorted(tuple(r) for r in expected["rules"])
        if "notice" in expected:
            assert any(expected["notice"] in n for n in raws[table.name].notices)
        shown = dict(zip(outcome.failures["column"], outcome.failures["masked_value"]))
        for column, mask in expected.get("masked", {}).items():  # personal data masked by its shape, not its column
            assert unicodedata.normalize("NFKC", shown[column]) == mask, column
    for other in outcomes.values():  # the other files of the export go on
        assert other.rows_read == other.rows_published + other.rows_rejected


@pytest.mark.slow
def test_broken_files_in_a_real_run_are_reported_and_the_manifest_adds_up(tmp_path, fast_env):
    landing = tmp_path / "landing"
    _landing_with(landing, "opiskelijat.csv", FILES["02_mixed_encodings"].read_bytes())
    (landing / "student_admin" / AS_OF / "tutkinnon_osat.csv").write_bytes(FILES["19_negative_credits"].read_bytes())
    (landing / "crm" / AS_OF / "accounts.csv").write_bytes(FILES["30_crm_bad_timestamp"].read_bytes())
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), env=fast_env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "CANNOT READ: opiskelijat.csv, line 3, column character 34" in result.stdout
    files = json.loads((tmp_path / "wh" / "manifest.json").read_text())["files"]
    for name, f in files.items():
        assert f["rows_read"] == f["rows_published"] + f["rows_rejected"], name


@functools.cache
def _valid_bytes(file_name: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        write_landing(Path(tmp), crm_rows=valid_crm_rows())
        return next(Path(tmp).glob(f"*/{AS_OF}/{file_name}")).read_bytes()


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace", "duplicate_line", "cut"]),
        st.floats(0, 1),
        st.binary(min_size=1, max_size=4),
    ),
    min_size=1,
    max_size=4,
)


def _mutate(data: bytes, mutations) -> bytes:
    for kind, where, blob in mutations:
        i = int(where * len(data))
        if kind == "insert":
            data = data[:i] + blob + data[i:]
        elif kind == "delete":
            data = data[:i] + data[i + len(blob) :]
        elif kind == "replace":
            data = data[:i] + blob + data[i + len(blob) :]
        elif kind == "duplicate_line":
            lines = data.split(b"\n")
            k = min(int(where * len(lines)), len(lines) - 1)
            data = b"\n".join(lines[: k + 1] + lines[k:])
        else:
            data = data[:i]
    return data


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    file_name=st.sampled_from(
        ["opiskelijat.csv", "opiskeluoikeusjaksot.csv", "tutkinnon_osat.csv", "accounts.csv", "activities.csv"]
    ),
    mutations=MUTATIONS,
)
def test_fuzzed_exports_never_raise_and_lose_nothing(tmp_path_factory, file_name, mutations):
    root = tmp_path_factory.mktemp("fuzz")
    mutated = _mutate(_valid_bytes(file_name), mutations)
    _assert_nothing_lost(file_name, *_validate(root, file_name, mutated))


def _assert_nothing_lost(file_name: str, raws, outcomes, table) -> None:
    """Every row read is published or rejected; a file that cannot be read is named; a failure has its line."""
    for name, outcome in outcomes.items():
        assert outcome.rows_read == outcome.rows_published + outcome.rows_rejected, name
    problem = raws[table.name].problem
    if problem is not None:
        assert problem.file == file_name and problem.message
    else:
        lines = outcomes[table.name].failures["source_line"]
        assert lines.is_null().sum() == 0 and (lines >= 2).all()


# ---- KOSKI's bulk data (issue #30): the same reader rules for the new source ------------------------------------


@functools.cache
def _valid_koski_bytes(file_name: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_source(Path(tmp), koski_bulk.TABLES, valid_koski_rows(), ",")
        return (folder / file_name).read_bytes()


def _validate_koski(root: Path, file_name: str, data: bytes):
    folder = write_source(root, koski_bulk.TABLES, valid_koski_rows(), ",")
    for part in folder.glob(f"{file_name}*"):
        part.unlink()
    (folder / file_name).write_bytes(data)
    raws = read_folder(Landing.at(root), koski_bulk.TABLES, folder)
    outcomes = validate_export(koski_bulk.SOURCE, raws, "test")
    return raws, outcomes, next(t for t in koski_bulk.TABLES if t.source_file == file_name)


KOSKI_BROKEN = {
    # a header-only file (KOSKI writes none for no rows, but a person may have saved one): no rows, no problem
    "header_only": ("opiskeluoikeus_aikajakso.csv", lambda d: d.split(b"\r\n")[0] + b"\r\n", None),
    # the last record cut in the middle (a download that stopped): that line, not the file
    "cut_record": ("opiskeluoikeus_aikajakso.csv", lambda d: d[: d.rstrip(b"\r\n").rfind(b",")], 7),
    # a column KOSKI's reader needs is missing: the file is named with the header it lacks
    "missing_column": ("opiskeluoikeus_aikajakso.csv", lambda d: d.replace(b"tila,", b"tilaa,", 1), "tila"),
    # binary garbage instead of a CSV
    "garbage": ("opiskeluoikeus.csv", lambda d: bytes(range(256)) * 4, "opiskeluoikeus.csv"),
    # a bare CR inside an unquoted value (KOSKI's writer does not quote it): read as a space, and said so
    "bare_cr": ("paatason_suoritus.csv", lambda d: d.replace(b"Kouvolan kampus", b"Kouvolan\rkampus"), "space"),
}


@pytest.mark.parametrize("case", sorted(KOSKI_BROKEN))
def test_a_broken_koski_file_is_named_or_fully_accounted_for(tmp_path, case):
    file_name, broken, expected = KOSKI_BROKEN[case]
    raws, outcomes, table = _validate_koski(tmp_path, file_name, broken(_valid_koski_bytes(file_name)))
    problem, outcome = raws[table.name].problem, outcomes[table.name]
    if expected == "space":
        assert problem is None and any("read as a space" in n for n in raws[table.name].notices)
        assert "Kouvolan kampus" in outcome.valid["campus"].to_list()
    elif isinstance(expected, str):
        assert problem is not None and problem.file == file_name and expected in str(problem), problem
        assert "Traceback" not in str(problem)
    else:
        assert problem is None, problem
        if expected is not None:  # the line that failed, by its number
            assert expected in outcome.failures["source_line"].to_list()
    for other in outcomes.values():
        assert other.rows_read == other.rows_published + other.rows_rejected, other.table


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    file_name=st.sampled_from([t.source_file for t in koski_bulk.TABLES]),
    mutations=MUTATIONS,
)
def test_fuzzed_koski_files_never_raise_and_lose_nothing(tmp_path_factory, file_name, mutations):
    root = tmp_path_factory.mktemp("fuzz_koski")
    _assert_nothing_lost(
        file_name, *_validate_koski(root, file_name, _mutate(_valid_koski_bytes(file_name), mutations))
    )


@pytest.mark.slow
def test_a_broken_koski_delivery_alone_runs_reports_its_lines_and_the_manifest_adds_up(tmp_path, fast_env):
    landing = tmp_path / "landing"
    folder = write_source(landing, koski_bulk.TABLES, valid_koski_rows(), ",")
    slices = folder / "opiskeluoikeus_aikajakso.csv"
    slices.write_bytes(_valid_koski_bytes(slices.name).replace(b",lasna,", b",l\xe4sn\xe4,", 1))  # (not UTF-8)
    (folder / "paatason_suoritus.csv").write_bytes(bytes(range(256)) * 4)
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), env=fast_env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "CANNOT READ: paatason_suoritus.csv" in result.stdout
    files = json.loads((tmp_path / "wh" / "manifest.json").read_text())["files"]
    assert {"opiskeluoikeus.csv", "opiskeluoikeus_aikajakso.csv"} <= set(files)
    for name, f in files.items():
        assert f["rows_read"] == f["rows_published"] + f["rows_rejected"], name
