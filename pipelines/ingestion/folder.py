"""Read a whole export folder of one source system, file by file."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingestion import synapse_link
from pipelines.ingestion.delivered import delivered
from pipelines.ingestion.landing import Landing
from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.reading import CsvDialect, RawTable, no_rows, read_delivered_file, read_export_file
from schemas import crm
from schemas.metadata import Table


def safe_path(landing: Landing, path: Path) -> Path:
    """``path`` if no folder on the way to it is a link and it is inside the landing folder; else a problem. (The
    file itself is checked when it is opened: :func:`pipelines.ingestion.reading.opened_export`.)"""
    root = landing.path.resolve()
    for part in [path, *path.parents]:
        if part.is_symlink():
            raise FileProblem(
                path.name,
                f"{part} is a symbolic link: exports must be real files and folders inside "
                "the landing folder, not links to elsewhere",
            )
        if part.resolve() == root:
            break
    if not path.resolve().is_relative_to(root):
        raise FileProblem(path.name, f"{path} is outside the landing folder {root}")
    return path


def read_table(landing: Landing, table: Table, folder: Path | None = None, optional: bool = False) -> RawTable:
    """One export file as text; a file that cannot be read comes back with its problem, not raised. ``optional``:
    a source that may not be delivered at all, whose missing export folder is no rows (and says so)."""
    if optional and folder is None and not landing.has_export(table.source_system):
        return RawTable(
            table=table.name,
            file=table.source_file,
            frame=no_rows(table),
        )
    headers = landing.site.headers(table.source_system, table.name)
    fixed = table.files.delimiter  # (a writer that fixes its delimiter: no site may say otherwise)
    dialect = CsvDialect(delimiter=fixed) if fixed else landing.dialect(table.source_system)
    try:
        folder = folder or landing.export_folder(table.source_system)
        if table.source_system == crm.SYSTEM and synapse_link.is_synapse_link(folder):
            safe_path(landing, folder)
            dataverse = landing.site.dataverse_tables(table.name), landing.site.dataverse_columns(table.name)
            return synapse_link.read_table(folder, table, *dataverse)
        if table.files.empty_file_absent or table.files.split_in_parts:
            found = delivered(safe_path(landing, folder), table.source_file)
            return read_delivered_file(
                table.source_file, found.parts, table, headers, dialect, landing.site.max_file_bytes
            )
        path = safe_path(landing, folder / table.source_file)
        return read_export_file(path, table, headers, dialect, landing.site.max_file_bytes)
    except FileProblem as problem:
        return RawTable(table=table.name, file=table.source_file, problem=problem)


def read_folder(landing: Landing, tables: tuple[Table, ...], folder: Path) -> dict[str, RawTable]:
    return {t.name: read_table(landing, t, folder) for t in tables}
