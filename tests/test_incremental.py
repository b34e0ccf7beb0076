"""Re-running only what changed: nothing new runs nothing; a new CRM export recomputes the CRM side, keeps the other
tables as they were (linked, byte-identical) and publishes what a full run would."""

import hashlib
import json
import re
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.stewardship import data_docs
from pipelines.versions import Checksums, folder_version
from schemas import published
from schemas.personal_data import holds_expr
from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # runs the pipeline


def _rename_first_account(landing: Path) -> None:
    """The CRM's accounts.csv with its first account's name changed (the CSV as Dynamics exports it: Id first)."""
    accounts = sorted(landing.glob("crm/*/accounts.csv"))[-1]
    lines = accounts.read_text(encoding="utf-8").split("\n")
    first, name, rest = lines[1].split(",", 2)
    lines[1] = ",".join((first, name + " Uusi", rest))
    accounts.write_text("\n".join(lines), encoding="utf-8")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


def _run(landing: Path, warehouse: Path, env: dict, *options: str):
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), *options, env=env)
    assert result.returncode == 0, result.stderr
    return result


def test_a_rerun_recomputes_only_what_changed(small_landing, tmp_path, fast_env, monkeypatch):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(small_landing, landing)
    first = _run(landing, warehouse, fast_env)
    assert "running every step: no earlier run's values are kept" in first.stderr
    version = (warehouse / "published").readlink().name
    logs = sorted((warehouse / "logs").iterdir())

    again = _run(landing, warehouse, fast_env)
    assert "nothing new: the same exports, code and settings as the published version" in again.stdout
    assert (warehouse / "published").readlink().name == version and sorted((warehouse / "logs").iterdir()) == logs
    summary = json.loads((warehouse / "run.json").read_text(encoding="utf-8"))
    assert summary["outcome"] == "unchanged" and summary["version"] == version
    assert set(summary["sources"]) >= {"student_admin", "crm"}

    _rename_first_account(landing)
    crm = _run(landing, warehouse, fast_env)
    assert "running only what changed: changed since the published version: crm" in crm.stderr
    assert "raw_students" not in crm.stderr and "crm__raw_accounts" in crm.stderr  # (the student side is not read)
    new, old = warehouse / "published", warehouse / "versions" / version
    assert new.readlink().name != version
    kept = {p.name for p in new.glob("*.parquet") if p.stat().st_ino == (old / p.name).stat().st_ino}
    assert {"dim_student.parquet", "fact_student_year_month.parquet", "mart_student_year_forecast.parquet"} <= kept
    assert "dim_date.parquet" in kept  # (rebuilt, as it spans the CRM's facts, but the same bytes: kept too)
    assert "dim_organization.parquet" not in kept and "bridge_organization_source.parquet" not in kept
    renamed = pl.read_parquet(new / "dim_organization.parquet")["organization_name"].str.ends_with(" Uusi").sum()
    assert renamed == 1
    _kept_tables_keep_their_data_docs(new.resolve(), old, tmp_path, monkeypatch)

    full = tmp_path / "full"  # the same landing, every step: the same bytes
    _run(landing, full, fast_env, "--full")
    assert _digests(new) == _digests(full / "published")
    con, whole = (duckdb.connect(str(p / "tiedolla.duckdb"), read_only=True) for p in (new, full / "published"))
    tables = sorted(r[0] for r in whole.execute("SELECT table_name FROM duckdb_tables()").fetchall())
    assert sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()) == tables
    for table in tables:
        query = f'SELECT * FROM "{table}" ORDER BY ALL'
        assert con.execute(query).fetchall() == whole.execute(query).fetchall(), table

    options = _run(landing, warehouse, fast_env, "--allow-shrink")  # another setting: every step again
    assert "running every step: the run's settings" in options.stderr


def _kept_tables_keep_their_data_docs(new: Path, old: Path, tmp_path: Path, monkeypatch) -> None:
    """A kept table's validation is the version's before it, its pages as that version drew them; a changed table's is
    the new version's; a kept table whose expectations changed since is validated again. (The runs above have no
    Data Docs step: each version's are built here as that step builds them.)"""
    tables = list(published.TABLES)
    data_docs.build_data_docs(old, tables, old / "reports")
    data_docs.build_data_docs(new, tables, new / "reports", earlier=old)
    docs, before = new / "reports" / "data_docs", old / "reports" / "data_docs"
    student = Path("validations") / "dim_student"
    assert [p.name for p in (docs / student).iterdir()] == [old.name]
    assert [p.name for p in (docs / "validations" / "dim_organization").iterdir()] == [new.name]
    for page in (*(docs / student).rglob("*.html"), docs / "expectations" / "dim_student.html"):
        assert page.read_bytes() == (before / page.relative_to(docs)).read_bytes(), page
    index = (docs / "index.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="([^"#]+\.html)"', index))
    assert len(links) == 2 * len(tables) and all((docs / link).exists() for link in links)

    import great_expectations as gx  # (here: GX's import is seconds, for one test)

    plain = data_docs.expectations

    def one_more(table):  # (an expectation added to dim_student's model since)
        added = [gx.expectations.ExpectTableRowCountToBeBetween(min_value=0)] if table.name == "dim_student" else []
        return plain(table) + added

    monkeypatch.setattr(data_docs, "expectations", one_more)
    again = tmp_path / "again"
    outcome = data_docs.build_data_docs(new, tables, again, version="again", earlier=new)
    assert outcome["dim_student"]["evaluated"] == len(plain(published.DIM_STUDENT)) + 1
    assert [p.name for p in (again / "data_docs" / student).iterdir()] == ["again"]
    assert [p.name for p in (again / "data_docs" / "validations" / "dim_organization").iterdir()] == [new.name]


def test_a_refused_run_leaves_no_values_and_the_next_runs_every_step(small_landing, tmp_path, fast_env):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(small_landing, landing)
    _run(landing, warehouse, fast_env)
    accounts = sorted(landing.glob("crm/*/accounts.csv"))[-1]
    header, *rows = accounts.read_text(encoding="utf-8").split("\n")
    accounts.write_text("\n".join([header, *(r.replace(",", ";") for r in rows)]), encoding="utf-8")
    refused = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), env=fast_env)
    assert refused.returncode == 1 and "NOT PUBLISHED" in refused.stderr
    assert not (warehouse / ".dagster" / "storage").exists()
    shutil.rmtree(landing)
    shutil.copytree(small_landing, landing)
    after = _run(landing, warehouse, fast_env)
    assert "running every step: no earlier run's values are kept" in after.stderr


def test_a_folder_version_follows_its_files_bytes_not_their_times(tmp_path):
    folder = tmp_path / "crm" / "2026-11-20"
    folder.mkdir(parents=True)
    (folder / "accounts.csv").write_text("Id,name\n1,A Oy\n", encoding="utf-8")
    cache = tmp_path / "checksums.json"
    checksums = Checksums(cache)
    before = folder_version(tmp_path / "crm", checksums)
    checksums.save()
    (folder / "accounts.csv").write_text("Id,name\n1,A Oy\n", encoding="utf-8")  # rewritten, the same bytes
    assert folder_version(tmp_path / "crm", Checksums(cache)) == before
    (folder / "accounts.csv").write_text("Id,name\n1,B Oy\n", encoding="utf-8")
    assert folder_version(tmp_path / "crm", Checksums(cache)) != before
    assert folder_version(tmp_path / "nothing", Checksums(None)) is None


def test_a_column_of_pseudonyms_is_told_apart_without_a_look_at_each():
    keys = [hashlib.sha256(str(i).encode()).hexdigest()[:32] for i in range(1000)]
    values = pl.Series([*keys, "0123456789abcdef 010190-123A", "ABCDEF0123456789", "0401234567"])
    flagged = pl.select(holds_expr(pl.lit(values))).to_series().to_list()
    assert flagged == [False] * 1000 + [True, False, True]
