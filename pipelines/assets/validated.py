"""Validated layer: typed rows that passed every rule; the rest in quarantine with reasons.

One multi-asset per source system, because its cross-file rules need all its files.
"""

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, AssetOut, AssetsDefinition, Output, multi_asset

from pipelines.files import write_parquet
from pipelines.ingestion.reading import RawTable
from pipelines.quarantine import quarantine_rows
from pipelines.resources import LandingArea, WarehouseResource
from pipelines.validation import TableOutcome, validate_export
from pipelines.waivers import in_force
from schemas.metadata import LINE, Source
from schemas.sources import SOURCES

#: per source, the asset ``<system>/quarantine_summary``: per file rows read, published, quarantined
QUARANTINE_SUMMARY = "quarantine_summary"
#: the same summary as the gate of the release: the blocking quality checks sit on it, so a failing one stops
#: the release but not the steward's report, which reads ``quarantine_summary``
QUALITY_GATE = "quality_gate"


def validate_asset(source: Source) -> AssetsDefinition:
    system, summary_name = source.system, QUARANTINE_SUMMARY

    @multi_asset(
        name=f"validate_{system}",
        ins={f"raw_{t.name}": AssetIn(key=AssetKey([system, f"raw_{t.name}"])) for t in source.tables},
        outs={
            **{
                f"validated_{t.name}": AssetOut(
                    key_prefix=[system],
                    group_name="validated",
                    description=f"{t.description} Typed; only rows that passed every error rule.",
                )
                for t in source.tables
            },
            summary_name: AssetOut(
                key_prefix=[system],
                group_name="validated",
                description="Per file: rows read = published + rejected, with the published rows that "
                "had a value cleared or were flagged counted beside; checksum and "
                "problems. Every failure is in <warehouse>/quarantine/<table>.parquet.",
            ),
            QUALITY_GATE: AssetOut(
                key_prefix=[system],
                group_name="validated",
                description="The file summary, checked by the blocking data-quality checks (rows add "
                "up, share of quarantined rows) before anything is released.",
            ),
        },
    )
    def _validate(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingArea, **raws: RawTable):
        """Run every rule of the export (one file's and across files); waived failures are published flagged."""
        by_table = {name.removeprefix("raw_"): raw for name, raw in raws.items()}
        area = landing.open()
        outcomes = validate_export(source, by_table, context.run.run_id, in_force(area.site, area.run_date()))
        wh, key = warehouse.open(), warehouse.key()
        # an optional source not delivered at all has no files to account for (manifest, reports): it read nothing
        delivered = not source.optional or area.has_export(system)
        summary = {}
        for table in source.tables:
            outcome, raw = outcomes[table.name], by_table[table.name]
            write_parquet(quarantine_rows(outcome.failures, key, source), wh.quarantine(table.name), private=True)
            if delivered:
                summary[table.source_file] = _file_summary(system, outcome, raw)
            context.log.info(
                f"validated {table.source_file}: {outcome.rows_published} published "
                f"({outcome.rows_cleared} with a value cleared, {outcome.rows_flagged} flagged), "
                f"{outcome.rows_rejected} rejected"
            )
            yield Output(
                outcome,
                output_name=f"validated_{table.name}",
                metadata={
                    "rows_read": outcome.rows_read,
                    "rows_published": outcome.rows_published,
                    "rows_rejected": outcome.rows_rejected,
                    "rows_cleared": outcome.rows_cleared,
                    "rows_flagged": outcome.rows_flagged,
                    "rows_with_warnings": 0 if outcome.valid is None else int(outcome.valid["has_warnings"].sum()),
                    "problem": outcome.problem or "",
                },
            )
        totals = {
            "rows_read": sum(s["rows_read"] for s in summary.values()),
            "rows_rejected": sum(s["rows_rejected"] for s in summary.values()),
        }
        yield Output(summary, output_name=summary_name, metadata=totals)
        yield Output(summary, output_name=QUALITY_GATE, metadata=totals)

    return _validate


def _file_summary(system: str, outcome: TableOutcome, raw: RawTable) -> dict:
    by_rule = (
        outcome.failures.group_by("rule_id", "severity", "consequence")
        .agg(pl.col(LINE).n_unique().alias("rows"))
        .sort("rule_id")
        .to_dicts()
    )
    return {
        "source_system": system,
        "table": outcome.table,
        "rows_read": outcome.rows_read,
        "rows_published": outcome.rows_published,
        "rows_rejected": outcome.rows_rejected,
        "rows_cleared": outcome.rows_cleared,
        "rows_flagged": outcome.rows_flagged,
        "sha256": raw.sha256,
        "encoding": raw.encoding,
        "problem": outcome.problem,
        "notices": raw.notices,
        "failures_by_rule": by_rule,
    }


VALIDATE_ASSETS = [validate_asset(source) for source in SOURCES]
