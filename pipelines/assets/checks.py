"""Asset checks.

Each published table is checked against its model in ``schemas/published.py`` (the same
model that documents it, not a second copy of the rules). The checks are blocking: a
failure stops ``published_release``, so the previous version stays published.
"""

from pathlib import Path

import duckdb
import pandera.polars as pa
import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetIn,
    AssetKey,
    MetadataValue,
    asset_check,
)

from pipelines.assets.published import SYSTEM
from pipelines.assets.student_years import CALCULATION
from pipelines.assets.validated import QUALITY_GATE
from pipelines.files import sql_literal
from pipelines.marts.student_years import MEASURES, RIGHT, Calculation
from pipelines.publishing.star import study_right_keys
from pipelines.resources import LandingArea, WarehouseResource
from schemas import published
from schemas.metadata import Source, Table
from schemas.sources import SOURCES


def _staged_or_published(context: AssetCheckExecutionContext, warehouse: WarehouseResource, name: str) -> Path:
    """This run's staged Parquet; when checked on its own (e.g. from the UI), what is published."""
    path = warehouse.staging(context.run) / f"{name}.parquet"
    return path if path.exists() else warehouse.open().published / f"{name}.parquet"


def model_check(table: Table) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey(table.name),
        name="matches_published_model",
        blocking=True,
        description=f"The Parquet of {table.name}, read back, satisfies every rule of its published model.",
    )
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        path = _staged_or_published(context, warehouse, table.name)
        frame = pl.read_parquet(path)
        failing: dict[str, int] = {}
        try:
            table.pandera_schema().validate(frame, lazy=True)
        except pa.errors.SchemaErrors as err:
            counts = err.failure_cases.group_by("check").len().sort("check")
            failing = dict(zip(counts["check"].to_list(), counts["len"].to_list()))
        return AssetCheckResult(
            passed=not failing,
            metadata={
                "rows": frame.height,
                "path": str(path),
                "failing_rules": MetadataValue.json(failing) if failing else "none",
            },
        )

    return _check


def quarantine_share(source: Source) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey([source.system, QUALITY_GATE]),
        name="quarantine_share_under_threshold",
        blocking=True,
        description="For every file with at least quality.min_rows rows: the share of rows in "
        "quarantine is at most quality.max_quarantine_share (site configuration). A higher share usually "
        "means a broken export, not bad rows: nothing is published and the previous version stays.",
    )
    def _check(landing: LandingArea, quality_gate: dict) -> AssetCheckResult:
        quality = landing.open().site.quality
        limit, min_rows = float(quality["max_quarantine_share"]), int(quality["min_rows"])
        shares = {
            name: round(f["rows_rejected"] / f["rows_read"], 4)
            for name, f in quality_gate.items()
            if f["rows_read"] >= min_rows
        }
        over = {name: share for name, share in shares.items() if share > limit}
        return AssetCheckResult(
            passed=not over,
            metadata={
                "max_quarantine_share": limit,
                "min_rows": min_rows,
                "shares": MetadataValue.json(shares),
                "files_over_the_limit": MetadataValue.json(over) if over else "none",
            },
        )

    return _check


def rows_add_up(source: Source) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey([source.system, QUALITY_GATE]),
        name="rows_add_up",
        blocking=True,
        description="For every input file: rows read = rows published + rows rejected.",
    )
    def _check(quality_gate: dict) -> AssetCheckResult:
        per_file = quality_gate
        wrong = {f: s for f, s in per_file.items() if s["rows_read"] != s["rows_published"] + s["rows_rejected"]}
        return AssetCheckResult(
            passed=not wrong,
            metadata={"files": len(per_file), "files_not_adding_up": MetadataValue.json(wrong) if wrong else "none"},
        )

    return _check


@asset_check(
    asset=AssetKey("fact_student_year_month"),
    name="adds_up_to_the_calculation",
    blocking=True,
    additional_ins={"calculation": AssetIn(key=AssetKey([SYSTEM, CALCULATION]))},
    description="Summed over all its months, every study right's row of the fact equals the per-study-right "
    "report (`tiedolla student-years`) for the same period.",
)
def fact_adds_up_to_the_calculation(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource, calculation: Calculation
) -> AssetCheckResult:
    staged = _staged_or_published(context, warehouse, "fact_student_year_month")
    con = duckdb.connect()  # (DuckDB sums the ten million rows from the file without loading them)
    try:
        sums = ", ".join(f'sum("{m}") AS "fact_{m}"' for m in MEASURES)
        source = f"read_parquet({sql_literal(Path(staged))}, hive_partitioning = false)"
        summed = con.sql(f"SELECT study_right_key, {sums} FROM {source} GROUP BY study_right_key").pl()
    finally:
        con.close()
    if summed.height == 0:
        return AssetCheckResult(passed=calculation.history.study_rights.height == 0, metadata={"rows": 0})
    report = calculation.totals_per_study_right()
    report = report.with_columns(study_right_keys(report[RIGHT], warehouse.key()))
    joined = report.join(summed, on="study_right_key", how="full", coalesce=True)
    wrong = joined.filter(
        pl.any_horizontal(
            ((pl.col(m).fill_null(0) - pl.col(f"fact_{m}").fill_null(0)).abs() > 1e-6).fill_null(True) for m in MEASURES
        )
    )
    return AssetCheckResult(
        passed=wrong.height == 0,
        metadata={
            "study_rights": joined.height,
            "study_rights_not_adding_up": wrong.height,
            "examples": MetadataValue.json(wrong.head(5)["study_right_key"].to_list()),
        },
    )


CHECKS = (
    [model_check(t) for t in published.TABLES]
    + [rows_add_up(s) for s in SOURCES]
    + [quarantine_share(s) for s in SOURCES]
    + [fact_adds_up_to_the_calculation]
)
