"""The warehouse on its own: versions kept and pruned, rollback to a named one, and the checks that guard a release."""

import json
import shutil

import polars as pl

from pipelines.files import write_parquet
from pipelines.publishing.warehouse import Warehouse
from tests.conftest import TEST_KEY


def _release(wh: Warehouse, run_id: str, rows: int) -> None:
    staged = wh.staging(run_id) / "fact_student_year_target.parquet"
    write_parquet(pl.DataFrame({"year": list(range(2020, 2020 + rows))}), staged)
    wh.release(
        run_id, {"fact_student_year_target": staged}, {"run_id": run_id, "as_of": "2026-11-20"}, TEST_KEY.encode()
    )


def test_pruning_keeps_the_configured_number_of_versions_and_rollback_to_a_kept_one(tmp_path):
    wh = Warehouse(tmp_path / "wh", keep_versions=2)
    for n in range(1, 5):
        _release(wh, f"run{n}", n)
    kept = [v["version"] for v in wh.versions()]
    assert kept == ["run4", "run3"] and sorted(p.name for p in (wh.root / "versions").iterdir()) == ["run3", "run4"]
    assert not list((wh.root / ".staging").iterdir())
    assert wh.rollback("run3") == "run3" and wh.current_version() == "run3"
    assert json.loads((wh.root / "manifest.json").read_text())["run_id"] == "run3"
    assert pl.read_parquet(wh.published / "fact_student_year_target.parquet").height == 3
    _release(wh, "run5", 5)  # the current one is kept whatever its age; the oldest goes
    assert [v["version"] for v in wh.versions()] == ["run5", "run4"]


def test_rows_that_do_not_add_up_fail_a_blocking_check_the_release_waits_for():
    from pipelines.assets.checks import rows_add_up
    from pipelines.assets.published import published_release
    from schemas.sources import SOURCES

    for source in SOURCES:
        check = rows_add_up(source)
        spec = next(iter(check.check_specs))
        assert spec.blocking  # a failed check stops everything downstream of the quality gate
        assert spec.asset_key in published_release.dependency_keys  # and the release is downstream of it
        good = check(quality_gate={"a.csv": {"rows_read": 3, "rows_published": 2, "rows_rejected": 1}})
        bad = check(quality_gate={"a.csv": {"rows_read": 3, "rows_published": 1, "rows_rejected": 1}})
        assert good.passed and not bad.passed
        assert bad.metadata["files_not_adding_up"].data == {
            "a.csv": {"rows_read": 3, "rows_published": 1, "rows_rejected": 1}
        }


def test_the_release_is_a_pointer_readers_follow_without_links(tmp_path):
    """release.json names the published version and each table's file relative to the warehouse: DuckDB and pyarrow
    read the published set through it alone (as on object storage, where there are no links), and a rollback is
    the pointer replaced."""
    import duckdb
    import pyarrow.parquet as pq

    wh = Warehouse(tmp_path / "wh")
    _release(wh, "run1", 1)
    _release(wh, "run2", 2)
    pointer = json.loads((wh.root / "release.json").read_text())
    assert pointer["version"] == "run2" and pointer["folder"] == "versions/run2"
    assert pointer["tables"] == {"fact_student_year_target": "versions/run2/fact_student_year_target.parquet"}
    shutil.rmtree(wh.root / "reports", ignore_errors=True)
    for link in ("published", "tiedolla.duckdb"):
        (wh.root / link).unlink()  # (what a bucket has: no links at all)
    assert wh.current_version() == "run2" and wh.published == wh.root / "versions" / "run2"
    table = wh.root / pointer["tables"]["fact_student_year_target"]
    assert pq.read_table(table).num_rows == 2
    reader = duckdb.connect()  # (docs/bi.md's way for DuckDB)
    reader.execute(
        f"SET VARIABLE t = (SELECT '{wh.root}/' || tables.fact_student_year_target "
        f"FROM read_json('{wh.root}/release.json'))"
    )
    assert reader.execute("SELECT count(*) FROM read_parquet(getvariable('t'))").fetchone()[0] == 2
    con = duckdb.connect(str(wh.root / pointer["database"]), read_only=True)
    assert con.execute("SELECT count(*) FROM fact_student_year_target").fetchone()[0] == 2
    con.close()

    assert wh.rollback() == "run1"
    assert json.loads((wh.root / "release.json").read_text())["version"] == "run1"
    assert (wh.root / "published").resolve().name == "run1"  # (the local links put back, following it)
    con = duckdb.connect(str(wh.root / "tiedolla.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM fact_student_year_target").fetchone()[0] == 1
    con.close()


def test_a_warehouse_released_before_the_pointer_keeps_its_version_and_gets_one_at_its_next_release(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    _release(wh, "run1", 1)
    (wh.root / "release.json").unlink()  # (as an earlier release left it: the link alone)
    assert wh.current_version() == "run1" and [v["version"] for v in wh.versions()] == ["run1"]
    _release(wh, "run2", 2)
    assert wh.release_pointer()["version"] == "run2" == (wh.root / "published").resolve().name


def test_links_left_behind_by_a_crash_are_put_on_the_released_version(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    _release(wh, "run1", 1)
    _release(wh, "run2", 2)
    link = wh.root / "published"
    link.unlink()
    link.symlink_to("versions/run1", target_is_directory=True)  # (a crash between the pointer and the links)
    wh.follow_release()
    assert link.resolve().name == "run2" and (wh.root / "tiedolla.duckdb").resolve().parent.name == "run2"
