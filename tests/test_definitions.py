"""The Dagster code location loads, and materialises in process into a temp warehouse."""
import json

import dagster
import polars as pl

from pipelines.assets.published import RELEASE
from pipelines.definitions import ASSETS, make_definitions
from pipelines.resources import LandingArea, WarehouseResource
from pipelines.assets.checks import CHECKS
from tests.conftest import TEST_KEY
from tests.landing import write_landing


def test_module_definitions_load_with_groups_and_checks():
    from pipelines.definitions import defs

    repo = defs.get_repository_def()
    groups = {repo.assets_defs_by_key[k].group_names_by_key[k] for k in repo.assets_defs_by_key}
    assert groups == {"raw", "validated", "matched", "published", "stewardship", "reports"}
    assert len(list(defs.resolve_asset_graph().asset_check_keys)) == len(CHECKS)
    for assets_def in ASSETS:
        for key in assets_def.keys:
            assert assets_def.descriptions_by_key.get(key), key


def test_materialize_in_process_publishes_without_a_crm_export(tmp_path):
    """A provider without a CRM export yet: the student-administration side is published, the CRM tables empty."""
    write_landing(tmp_path / "landing")
    result = dagster.materialize(
        [*ASSETS, *CHECKS],
        resources={"landing": LandingArea(path=str(tmp_path / "landing")),
                   "warehouse": WarehouseResource(path=str(tmp_path / "wh"), pseudonym_key=TEST_KEY),
                   "io_manager": dagster.FilesystemIOManager(base_dir=str(tmp_path / "io"))})
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
