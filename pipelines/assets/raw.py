"""Raw layer: each export file read as text, with its encoding, checksum and line numbers."""

import warnings

from dagster import AssetExecutionContext, AssetsDefinition, BetaWarning, DataVersion, MetadataValue, Output, asset

from pipelines.ingestion.folder import read_table
from pipelines.ingestion.reading import RawTable
from pipelines.resources import LandingArea
from schemas.metadata import Table
from schemas.sources import BY_SYSTEM, SOURCES


def raw_asset(table: Table) -> AssetsDefinition:
    @asset(
        name=f"raw_{table.name}",
        group_name="raw",
        key_prefix=[table.source_system],
        description=f"{table.source_file} as read: every value text, every row with its source line. "
        f"{table.description}",
    )
    def _raw(context: AssetExecutionContext, landing: LandingArea) -> Output[RawTable]:
        area, optional = landing.open(), BY_SYSTEM[table.source_system].optional
        raw = read_table(area, table, optional=optional)
        for notice in raw.notices:
            context.log.warning(notice)
        if raw.problem:
            context.log.error(f"cannot read {raw.problem}")
        elif optional and not area.has_export(table.source_system):
            context.log.info(f"no {table.source_system} delivery in the landing area: {table.source_file} not read")
        else:
            context.log.info(f"read {table.source_file}: {raw.rows_read} rows ({raw.encoding})")
        with warnings.catch_warnings():  # (Output's data_version is marked beta)
            warnings.simplefilter("ignore", BetaWarning)
            return _output(raw, table)

    return _raw


def _output(raw: RawTable, table: Table) -> Output[RawTable]:
    """The raw table with its file's checksum as its data version (what Dagster compares to tell it changed)."""
    return Output(
        raw,
        data_version=DataVersion(raw.sha256 or "no file"),
        metadata={
            "file": table.source_file,
            "rows_read": raw.rows_read,
            "encoding": raw.encoding or "",
            "sha256": raw.sha256 or "",
            "problem": str(raw.problem or ""),
            "notices": MetadataValue.md("\n".join(f"- {n}" for n in raw.notices) or "none"),
        },
    )


RAW_ASSETS = [raw_asset(t) for source in SOURCES for t in source.tables]
