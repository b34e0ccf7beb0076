"""Raw layer: each export file read as text, with its encoding, checksum and line numbers."""

from dagster import AssetExecutionContext, AssetsDefinition, MetadataValue, Output, asset

from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.reading import RawTable, read_export_file
from pipelines.resources import LandingArea
from schemas import student_admin
from schemas.metadata import Table


def raw_asset(table: Table) -> AssetsDefinition:
    @asset(name=f"raw_{table.name}", group_name="raw", key_prefix=[table.source_system],
           description=f"{table.source_file} as read: every value text, every row with its source line. {table.description}")
    def _raw(context: AssetExecutionContext, landing: LandingArea) -> Output[RawTable]:
        try:
            folder = landing.export_folder(table.source_system)
            raw = read_export_file(folder / table.source_file, table, landing.headers(table.source_system, table.name),
                                   landing.dialect(table.source_system))
        except FileProblem as problem:
            raw = RawTable(table=table.name, file=table.source_file, problem=problem)
        for notice in raw.notices:
            context.log.warning(notice)
        if raw.problem:
            context.log.error(f"cannot read {raw.problem}")
        else:
            context.log.info(f"read {table.source_file}: {raw.rows_read} rows ({raw.encoding})")
        return Output(raw, metadata={
            "file": table.source_file, "rows_read": raw.rows_read, "encoding": raw.encoding or "",
            "sha256": raw.sha256 or "", "problem": str(raw.problem or ""),
            "notices": MetadataValue.md("\n".join(f"- {n}" for n in raw.notices) or "none")})
    return _raw


RAW_ASSETS = [raw_asset(t) for t in student_admin.TABLES]
