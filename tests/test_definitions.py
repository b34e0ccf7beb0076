"""The Dagster code location loads, and materialises in process into a temp warehouse."""

import json
from pathlib import Path

import dagster
import polars as pl
import pytest

from pipelines.assets.checks import CHECKS
from pipelines.assets.published import RELEASE
from pipelines.definitions import ASSETS, make_definitions
from pipelines.resources import LandingArea, WarehouseResource
from tests.conftest import TEST_KEY
from tests.landing import write_landing


def test_module_definitions_load_with_groups_and_checks():
    from pipelines.definitions import defs

    repo = defs().get_repository_def()
    groups = {repo.assets_defs_by_key[k].group_names_by_key[k] for k in repo.assets_defs_by_key}
    assert groups == {"raw", "validated", "matched", "published", "stewardship", "reports"}
    assert len(list(defs().resolve_asset_graph().asset_check_keys)) == len(CHECKS)
    for assets_def in ASSETS:
        for key in assets_def.keys:
            assert assets_def.descriptions_by_key.get(key), key


@pytest.mark.slow
def test_materialize_in_process_publishes_without_a_crm_export(tmp_path):
    """A provider without a CRM export yet: the student-administration side is published, the CRM tables empty."""
    write_landing(tmp_path / "landing")
    result = dagster.materialize(
        [*ASSETS, *CHECKS],
        resources={
            "landing": LandingArea(path=str(tmp_path / "landing")),
            "warehouse": WarehouseResource(path=str(tmp_path / "wh"), pseudonym_key=TEST_KEY),
            "io_manager": dagster.FilesystemIOManager(base_dir=str(tmp_path / "io")),
        },
    )
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert pl.read_parquet(tmp_path / "wh" / "published" / "dim_student.parquet").height == 2
    assert result.output_for_node(RELEASE).endswith(result.run_id)
    assert pl.read_parquet(tmp_path / "wh" / "published" / "fact_crm_activity.parquet").height == 0
    orgs = pl.read_parquet(tmp_path / "wh" / "published" / "mart_crm_student_admin_overlap.parquet")
    assert set(orgs["overlap_category"]) == {"student_admin_only"}
    manifest = json.loads((tmp_path / "wh" / "manifest.json").read_text())
    assert manifest["sources"]["crm"] is None
    assert "no export folder" in manifest["files"]["accounts.csv"]["problem"]


def test_definitions_factory_uses_given_folders(tmp_path):
    defs = make_definitions(tmp_path / "l", tmp_path / "w", pseudonym_key="k")
    assert defs.resources["warehouse"].path == str(tmp_path / "w")


def _ui_job():
    """The job as the Dagster UI loads it (reconstructable: re-execution rebuilds it by name)."""
    import os
    from pathlib import Path

    defs = make_definitions(
        Path(os.environ["TIEDOLLA_LANDING"]),
        Path(os.environ["TIEDOLLA_WAREHOUSE"]),
        site_config=os.environ["TIEDOLLA_SITE_CONFIG"],
    )
    everything = dagster.define_asset_job("everything")
    return dagster.Definitions.merge(defs, dagster.Definitions(jobs=[everything])).resolve_job_def("everything")


@pytest.mark.slow
def test_reexecution_from_failure_and_of_one_asset_as_the_ui_does(tmp_path, monkeypatch, fast_env):
    """A run that failed in the release is re-executed from failure (the steps that failed or did not run, the
    rest loaded from the parent run): it releases the tables its parent staged. Then one asset alone again."""
    from dagster import DagsterInstance, ReexecutionOptions, execute_job, reconstructable

    write_landing(tmp_path / "landing")
    for name, value in {
        "TIEDOLLA_LANDING": str(tmp_path / "landing"),
        "TIEDOLLA_WAREHOUSE": str(tmp_path / "wh"),
        "TIEDOLLA_PSEUDONYM_KEY": TEST_KEY,
        **fast_env,
    }.items():
        monkeypatch.setenv(name, value)
    job = reconstructable(_ui_job)
    with DagsterInstance.ephemeral() as instance:
        monkeypatch.setenv("TIEDOLLA_FAILPOINT", "release:gathered")
        with execute_job(job, instance=instance, raise_on_error=False) as failed:
            assert not failed.success
            assert [e.step_key for e in failed.get_step_failure_events()] == [RELEASE]
        assert not (tmp_path / "wh" / "published").exists()
        monkeypatch.delenv("TIEDOLLA_FAILPOINT")
        options = ReexecutionOptions.from_failure(failed.run_id, instance)
        with execute_job(job, instance=instance, reexecution_options=options, raise_on_error=False) as again:
            assert again.success, [e.event_specific_data.error.message for e in again.get_step_failure_events()]
            assert RELEASE in {e.step_key for e in again.get_step_success_events()}
            assert "dim_student" not in {e.step_key for e in again.get_step_success_events()}  # loaded, not re-run
            release = again.output_for_node(RELEASE)
        assert (tmp_path / "wh" / "published").resolve() == Path(release)
        assert pl.read_parquet(tmp_path / "wh" / "published" / "dim_student.parquet").height == 2
        assert not list((tmp_path / "wh" / ".staging").iterdir())  # released: the parent's staging is gone
        one = ReexecutionOptions(parent_run_id=again.run_id, step_selection=["dashboard"])
        with execute_job(job, instance=instance, reexecution_options=one, raise_on_error=False) as dashboard:
            assert dashboard.success
            assert [e.step_key for e in dashboard.get_step_success_events()] == ["dashboard"]
        assert (tmp_path / "wh" / "reports" / "dashboard" / "index.html").exists()
