"""Read a whole export folder of one source system, file by file."""
from __future__ import annotations

from pathlib import Path

from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.reading import RawTable, read_export_file
from pipelines.resources import LandingArea
from schemas.metadata import Table


def read_table(landing: LandingArea, table: Table, folder: Path | None = None) -> RawTable:
    """One export file as text; a file that cannot be read comes back with its problem, not raised."""
    try:
        folder = folder or landing.export_folder(table.source_system)
        return read_export_file(folder / table.source_file, table, landing.headers(table.source_system, table.name),
                                landing.dialect(table.source_system))
    except FileProblem as problem:
        return RawTable(table=table.name, file=table.source_file, problem=problem)


def read_folder(landing: LandingArea, tables: tuple[Table, ...], folder: Path) -> dict[str, RawTable]:
    return {t.name: read_table(landing, t, folder) for t in tables}
