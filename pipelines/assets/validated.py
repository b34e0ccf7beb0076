"""Validated layer: typed rows that passed every rule; the rest in quarantine with reasons."""

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, AssetOut, Output, multi_asset

from pipelines.ingestion.reading import RawTable
from pipelines.resources import WarehouseResource
from pipelines.validation import TableOutcome, validate_export
from pipelines.publishing.warehouse import write_parquet
from schemas import student_admin
from schemas.metadata import LINE

SYSTEM = student_admin.SYSTEM
QUARANTINE = "student_admin_quarantine"


@multi_asset(
    ins={f"raw_{t.name}": AssetIn(key=AssetKey([SYSTEM, f"raw_{t.name}"])) for t in student_admin.TABLES},
    outs={
        **{f"validated_{t.name}": AssetOut(key_prefix=[SYSTEM], group_name="validated",
                                          description=f"{t.description} Typed; only rows that passed every error rule.")
           for t in student_admin.TABLES},
        QUARANTINE: AssetOut(key_prefix=[SYSTEM], group_name="validated",
                             description="Per file: rows read, published and quarantined, checksum and problems; "
                                         "the quarantined rows themselves are in <warehouse>/quarantine/<table>.parquet."),
    },
)
def validate_student_admin(context: AssetExecutionContext, warehouse: WarehouseResource, **raws: RawTable):
    """Run every rule of the student-administration export (one file's and across files)."""
    by_table = {name.removeprefix("raw_"): raw for name, raw in raws.items()}
    outcomes = validate_export(by_table, context.run.run_id)
    wh = warehouse.open()
    summary = {}
    for table in student_admin.TABLES:
        outcome, raw = outcomes[table.name], by_table[table.name]
        write_parquet(outcome.failures, wh.quarantine(table.name))
        summary[table.source_file] = _file_summary(outcome, raw)
        context.log.info(f"validated {table.source_file}: {outcome.rows_published} valid, "
                         f"{outcome.rows_quarantined} quarantined")
        yield Output(outcome, output_name=f"validated_{table.name}", metadata={
            "rows_read": outcome.rows_read, "rows_published": outcome.rows_published,
            "rows_quarantined": outcome.rows_quarantined,
            "rows_with_warnings": 0 if outcome.valid is None else int(outcome.valid["has_warnings"].sum()),
            "problem": outcome.problem or ""})
    yield Output(summary, output_name=QUARANTINE, metadata={
        "rows_read": sum(s["rows_read"] for s in summary.values()),
        "rows_quarantined": sum(s["rows_quarantined"] for s in summary.values())})


def _file_summary(outcome: TableOutcome, raw: RawTable) -> dict:
    by_rule = (outcome.failures.group_by("rule_id", "severity").agg(pl.col(LINE).n_unique().alias("rows"))
               .sort("rule_id").to_dicts())
    return {"table": outcome.table, "rows_read": outcome.rows_read, "rows_published": outcome.rows_published,
            "rows_quarantined": outcome.rows_quarantined, "sha256": raw.sha256, "encoding": raw.encoding,
            "problem": outcome.problem, "notices": raw.notices, "failures_by_rule": by_rule}
