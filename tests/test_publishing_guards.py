"""The publishing layer's guards on their own (quick): pseudonyms, the key, the model's keys, missing sources, shrinking
tables and rollback. Written for the mutants the pipeline tests let through (docs/architecture/testing.md)."""

import hashlib
import hmac
import json
import secrets
import time

import duckdb
import polars as pl
import pytest

from pipelines.files import write_parquet
from pipelines.publishing import relationships
from pipelines.publishing.pseudonyms import (
    DEMO_KEY,
    KEY_FILE_VARIABLE,
    KEY_VARIABLE,
    KeyProblem,
    key_bits,
    pseudonym_key,
    pseudonymise,
)
from pipelines.publishing.warehouse import Warehouse, missing_sources, shrunk_tables
from tests.conftest import TEST_KEY, HeldWarehouse

KEY = TEST_KEY.encode()


def test_a_pseudonym_is_the_keyed_hmac_of_domain_and_value_and_nulls_stay_null():
    values = pl.Series(["1001", "1002", None, "1001"])
    out = pseudonymise(values, KEY, "student")
    expected = hmac.new(KEY, b"student:1001", hashlib.sha256).hexdigest()[:32]
    assert out.to_list()[0] == out.to_list()[3] == expected
    assert out[1] != expected and out[2] is None
    assert pseudonymise(values, KEY, "study_right")[0] != expected  # another domain, another pseudonym
    assert pseudonymise(values, b"another-key-0123456789abcdef", "student")[0] != expected


def test_the_key_comes_from_the_argument_the_file_or_the_environment_and_a_weak_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    monkeypatch.delenv(KEY_FILE_VARIABLE, raising=False)
    with pytest.raises(KeyProblem, match="no pseudonym key"):
        pseudonym_key()
    strong = secrets.token_hex(16)
    monkeypatch.setenv(KEY_VARIABLE, strong)
    assert pseudonym_key() == strong.encode()
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"  {TEST_KEY}\n", encoding="utf-8")
    assert pseudonym_key(key_file=str(key_file)) == KEY  # the file wins over the environment, trimmed
    monkeypatch.setenv(KEY_FILE_VARIABLE, str(key_file))
    assert pseudonym_key() == KEY
    assert pseudonym_key(strong) == strong.encode()  # an explicit key wins over both
    with pytest.raises(KeyProblem, match="inside"):
        pseudonym_key(key_file=str(key_file), keep_away_from=(tmp_path,))
    with pytest.raises(KeyProblem, match="cannot read"):
        pseudonym_key(key_file=str(tmp_path / "missing.txt"))
    with pytest.raises(KeyProblem, match=r"too short \(19 characters, at least 20\)"):
        pseudonym_key("a1b2c3d4e5f6a7b8c9d")
    with pytest.raises(KeyProblem, match=r"too easy to guess \(about \d+ bits by zxcvbn's estimate; at least 64\)"):
        pseudonym_key("abababababababababababababababab")


@pytest.mark.parametrize(
    "weak",
    [
        "abcdefghijklmnopqrst",  # a sequence
        "0123456789abcdef0123",  # sequences, repeated
        "tiedolla-avain-2026!",  # the project's name, "key" in Finnish and a year
        "Kouvola-salasana-2026",
        "aaaaaaaaaaaaaaaaaaaaaaaa",
    ],
)
def test_a_key_an_attacker_would_guess_first_is_refused_whatever_its_length(weak):
    assert key_bits(weak) < 64
    with pytest.raises(KeyProblem, match="too easy to guess"):
        pseudonym_key(weak)


def test_a_new_key_passes_and_a_key_with_a_stray_space_does_not():
    from pipelines.publishing.pseudonyms import DEMO_KEY, new_key

    key = new_key()
    assert len(key) == 64 and key_bits(key) >= 64 and pseudonym_key(key) == key.encode()
    for stray in (DEMO_KEY + " ", " " + key, key + "\n"):
        with pytest.raises(KeyProblem, match="begins or ends with a space"):
            pseudonym_key(stray)


def _release(
    wh: Warehouse,
    run_id: str,
    tables: dict[str, pl.DataFrame],
    sources: dict | None = None,
    key: bytes = KEY,
    rotate: bool = False,
) -> None:
    staged = {}
    for name, frame in tables.items():
        staged[name] = wh.staging(run_id) / f"{name}.parquet"
        write_parquet(frame, staged[name])
    manifest = {"run_id": run_id, "as_of": "2026-11-20", "sources": sources or {}}
    wh.release(run_id, staged, manifest, key, rotate)
    time.sleep(0.01)  # release times order the versions


def test_the_model_check_names_duplicated_keys_and_dangling_references(tmp_path):
    month = {"year": 2026, "month": 1, "funding_scope": "all", "breakdown": "total", "breakdown_value": "total"}
    tables = {
        "dim_campus": pl.DataFrame({"campus_key": [1, 1, 2], "campus_name": ["A", "A2", "B"]}),
        "fact_study_right": pl.DataFrame({"study_right_key": ["r1", "r2", "r3"], "campus_key": [1, 0, None]}),
        "mart_student_year_forecast": pl.DataFrame([month, month, {**month, "month": 2}]),
    }
    paths = {}
    for name, frame in tables.items():
        paths[name] = tmp_path / f"{name}.parquet"
        frame.write_parquet(paths[name])
    assert sorted(relationships.violations(paths)) == [
        "dim_campus: 1 value(s) of its key (campus_key) stand on more than one row",
        "fact_study_right.campus_key: 1 row(s) name no dim_campus.campus_key (e.g. 0)",  # a key of 0 is a key too
        "mart_student_year_forecast: 1 value(s) of its key (year, month, funding_scope, breakdown, breakdown_value) "
        "stand on more than one row",
    ]
    wh = Warehouse(tmp_path / "wh")  # the release checks the same as its database declares the keys: no version
    with pytest.raises(relationships.ModelBroken) as refused:
        wh.release("run-1", paths, {"run_id": "run-1"}, None)
    assert sorted(refused.value.found) == sorted(relationships.violations(paths))
    assert wh.current_version() is None and not (wh.root / "versions" / "run-1").exists()
    pl.DataFrame({"campus_key": [0, 1, 2], "campus_name": ["O", "A", "B"]}).write_parquet(paths["dim_campus"])
    pl.DataFrame([month]).write_parquet(paths["mart_student_year_forecast"])
    assert relationships.violations(paths) == []
    wh.release("run-2", paths, {"run_id": "run-2"}, None)
    assert wh.current_version() == "run-2"


def test_a_key_with_an_empty_part_is_checked_as_written_and_two_rows_with_the_same_empty_part_are_refused(tmp_path):
    """The monthly fact's key (study right, month, funding code) may have an empty funding code: no primary key and
    no index in the database (a unique index would count two empty codes as different), but still unique."""
    row = {"study_right_key": "r1", "month_date_key": 20260101, "funding_code": None, "year": 2026, "month": 1}
    path = tmp_path / "fact_student_year_month.parquet"
    pl.DataFrame([row, {**row, "funding_code": "1"}]).write_parquet(path)
    wh = Warehouse(tmp_path / "wh")
    wh.release("run-1", {"fact_student_year_month": path}, {"run_id": "run-1"}, None)
    con = duckdb.connect(str(wh.root / "tiedolla.duckdb"), read_only=True)
    assert (
        con.execute("SELECT count(*) FROM duckdb_indexes() WHERE table_name = 'fact_student_year_month'").fetchone()[0]
        == 0
    )
    con.close()
    pl.DataFrame([row, {**row, "funding_code": "1"}, row]).write_parquet(path)
    with pytest.raises(relationships.ModelBroken) as refused:
        wh.release("run-2", {"fact_student_year_month": path}, {"run_id": "run-2"}, None)
    assert refused.value.found == [
        "fact_student_year_month: 1 value(s) of its key (study_right_key, month_date_key, funding_code) stand on "
        "more than one row"
    ]
    assert wh.current_version() == "run-1" and not (wh.root / "versions" / "run-2").exists()


def test_a_missing_source_and_a_collapsed_table_are_named_and_a_first_run_is_free(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    assert missing_sources(wh, {"student_admin": "x"}, set()) == []  # nothing released yet
    big = pl.DataFrame({"year": list(range(2000, 2040))})  # 40 rows
    _release(
        wh,
        "run1",
        {"fact_student_year_target": big},
        {"student_admin": "landing/student_admin/2026-11-20", "crm": "landing/crm/2026-11-20"},
    )
    assert missing_sources(wh, {"student_admin": "a", "crm": "b"}, set()) == []
    assert missing_sources(wh, {"student_admin": "a", "crm": None}, set()) == [
        "the current release has a crm export (2026-11-20) but the landing area has none"
    ]
    assert missing_sources(wh, {"student_admin": "a"}, {"crm"}) == []  # allowed for this run
    staged = tmp_path / "t.parquet"
    for rows, expected in ((20, []), (19, ["fact_student_year_target would fall from 40 to 19 rows"])):
        big.head(rows).write_parquet(staged)
        assert shrunk_tables(wh, {"fact_student_year_target": staged}, 0.5, 20) == expected
    assert shrunk_tables(wh, {"fact_student_year_target": staged}, 0.5, 40) == [  # a table of min_rows counts
        "fact_student_year_target would fall from 40 to 19 rows"
    ]
    assert shrunk_tables(wh, {"fact_student_year_target": staged}, 0.5, 41) == []  # smaller tables may shrink
    # a table the current release does not have is skipped, and the next is still looked at
    assert shrunk_tables(wh, {"a_new_table": staged, "fact_student_year_target": staged}, 0.5, 20) == [
        "fact_student_year_target would fall from 40 to 19 rows"
    ]


def test_rollback_goes_to_the_version_before_the_current_and_says_when_there_is_none(tmp_path):
    wh = Warehouse(tmp_path / "wh", keep_versions=3)
    with pytest.raises(ValueError, match="no earlier version"):
        wh.rollback()
    for n in (1, 2, 3):
        _release(wh, f"run{n}", {"fact_student_year_target": pl.DataFrame({"year": list(range(n))})})
    with HeldWarehouse(wh.root):  # a run holding the warehouse does not stop a rollback (it takes its own lock)
        started = time.monotonic()
        assert wh.rollback() == "run2"
        assert time.monotonic() - started < 20  # (the run holds its lock for 30 s)
    assert wh.current_version() == "run2"
    assert pl.read_parquet(wh.published / "fact_student_year_target.parquet").height == 2
    assert wh.rollback() == "run1"
    with pytest.raises(ValueError, match="no earlier version"):
        wh.rollback()
    with pytest.raises(ValueError, match=r"no version 'run9' in .*versions; kept: run3, run2, run1"):
        wh.rollback("run9")
    assert json.loads((wh.root / "manifest.json").read_text())["run_id"] == "run1"


def test_the_warehouse_refuses_another_key_unless_rotating_and_the_demo_key_outside_a_demo(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    with pytest.raises(KeyProblem, match="demo key is public"):
        wh.check_key(DEMO_KEY.encode())
    wh.check_key(KEY)  # nothing released yet: any key
    _release(wh, "run1", {"fact_student_year_target": pl.DataFrame({"year": [2026]})})
    wh.check_key(KEY)
    other = secrets.token_hex(16).encode()
    with pytest.raises(KeyProblem, match="not the one that made the pseudonyms"):
        wh.check_key(other)
    wh.check_key(other, rotate=True)
    _release(wh, "run2", {"fact_student_year_target": pl.DataFrame({"year": [2026]})}, key=other, rotate=True)
    assert [v["version"] for v in wh.versions()] == ["run2"]  # the version made with the old key is gone
    with pytest.raises(KeyProblem):
        wh.check_key(KEY)


def test_the_demo_key_given_to_a_network_is_refused_outside_the_network_demo(tmp_path):
    """A provider's key is derived from the network's: the demo key was only looked for in the derived key, so a real
    network warehouse published with the public demo key through Dagster."""
    from pipelines.publishing.pseudonyms import DEMO_KEY, provider_key
    from pipelines.publishing.warehouse import DEMO_MARK, Warehouse, provider_folder

    provider = "1.2.246.562.10.90000000001"
    given = DEMO_KEY.encode()
    member = Warehouse(tmp_path / "network" / provider_folder(provider))
    with pytest.raises(KeyProblem, match="demo key is public"):
        member.check_key(provider_key(given, provider), given=given)
    (tmp_path / "network").mkdir(exist_ok=True)
    (tmp_path / "network" / DEMO_MARK).touch()  # `tiedolla demo --network` made it
    member.check_key(provider_key(given, provider), given=given)
