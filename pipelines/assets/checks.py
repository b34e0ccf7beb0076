"""Asset checks.

Each published table is checked against its model in ``schemas/published.py`` (the same
model that documents it, not a second copy of the rules). The checks are blocking: a
failure stops ``published_release``, so the previous version stays published.
"""

import pandera.polars as pa
import polars as pl
from dagster import (AssetCheckExecutionContext, AssetCheckResult, AssetChecksDefinition, AssetKey, MetadataValue,
                     asset_check)

from pipelines.assets.validated import QUARANTINE, SYSTEM
from pipelines.resources import WarehouseResource
from schemas import published
from schemas.metadata import Table


def model_check(table: Table) -> AssetChecksDefinition:
    @asset_check(asset=AssetKey(table.name), name="matches_published_model", blocking=True,
                 description=f"The Parquet of {table.name}, read back, satisfies every rule of its published model.")
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        wh = warehouse.open()
        path = wh.staging(context.run.run_id) / f"{table.name}.parquet"
        if not path.exists():  # checked on its own (e.g. from the UI): check what is published
            path = wh.published / f"{table.name}.parquet"
        frame = pl.read_parquet(path)
        failing: dict[str, int] = {}
        try:
            table.pandera_schema().validate(frame, lazy=True)
        except pa.errors.SchemaErrors as err:
            counts = err.failure_cases.group_by("check").len().sort("check")
            failing = dict(zip(counts["check"].to_list(), counts["len"].to_list()))
        return AssetCheckResult(passed=not failing, metadata={
            "rows": frame.height, "path": str(path),
            "failing_rules": MetadataValue.json(failing) if failing else "none"})
    return _check


@asset_check(asset=AssetKey([SYSTEM, QUARANTINE]), name="rows_add_up", blocking=True,
             description="For every input file: rows read = rows published + rows quarantined.")
def rows_add_up(student_admin_quarantine: dict) -> AssetCheckResult:
    wrong = {f: s for f, s in student_admin_quarantine.items()
             if s["rows_read"] != s["rows_published"] + s["rows_quarantined"]}
    return AssetCheckResult(passed=not wrong, metadata={
        "files": len(student_admin_quarantine), "files_not_adding_up": MetadataValue.json(wrong) if wrong else "none"})


CHECKS = [model_check(t) for t in published.TABLES] + [rows_add_up]
