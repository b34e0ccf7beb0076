"""Read a whole export folder of one source system, file by file."""
from __future__ import annotations

from pathlib import Path

from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.reading import RawTable, read_export_file
from pipelines.resources import LandingArea
from schemas.metadata import Table


def safe_path(landing: LandingArea, path: Path) -> Path:
    """``path`` if it is a real file inside the landing folder and within the size limit; else a problem."""
    root = Path(landing.path).resolve()
    for part in [path, *path.parents]:
        if part.is_symlink():
            raise FileProblem(path.name, f"{part} is a symbolic link: exports must be real files and folders inside "
                              "the landing folder, not links to elsewhere")
        if part.resolve() == root:
            break
    if not path.resolve().is_relative_to(root):
        raise FileProblem(path.name, f"{path} is outside the landing folder {root}")
    limit = landing.max_file_bytes()
    if path.is_file() and path.stat().st_size > limit:
        raise FileProblem(path.name, f"the file is {_size(path.stat().st_size)}, more than the limit of "
                          f"{_size(limit)} (limits.max_file_mb in the site configuration)")
    return path


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def read_table(landing: LandingArea, table: Table, folder: Path | None = None) -> RawTable:
    """One export file as text; a file that cannot be read comes back with its problem, not raised."""
    try:
        folder = folder or landing.export_folder(table.source_system)
        path = safe_path(landing, folder / table.source_file)
        return read_export_file(path, table, landing.headers(table.source_system, table.name),
                                landing.dialect(table.source_system), landing.max_file_bytes())
    except FileProblem as problem:
        return RawTable(table=table.name, file=table.source_file, problem=problem)


def read_folder(landing: LandingArea, tables: tuple[Table, ...], folder: Path) -> dict[str, RawTable]:
    return {t.name: read_table(landing, t, folder) for t in tables}
