"""The warehouse on its own: versions kept and pruned, rollback to a named one, and the checks that guard a release."""

import json

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
