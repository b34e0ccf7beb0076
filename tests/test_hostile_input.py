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
from schemas.sources import SOURCES
from tests.conftest import FUZZ_EXAMPLES, run_cli
from tests.landing import AS_OF, valid_crm_rows, write_landing

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
    raws, outcomes, table = _validate(root, file_name, mutated)
    for name, outcome in outcomes.items():
        assert outcome.rows_read == outcome.rows_published + outcome.rows_rejected, name
    problem = raws[table.name].problem
    if problem is not None:
        assert problem.file == file_name and problem.message
    else:
        lines = outcomes[table.name].failures["source_line"]
        assert lines.is_null().sum() == 0 and (lines >= 2).all()
