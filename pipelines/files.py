"""Atomic writes: every file a run leaves is written beside its final path and renamed into place.

A crash (or a full disk) part-way leaves the previous file readable, or none, never half a file; the temporary
file is removed when the write fails. One module, so every layer writes files the same way without importing
the layer that publishes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


def folder_for(path: Path, private: bool = False) -> None:
    """Create ``path``'s folder; a private one (personal data) is the owner's only, whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if private:
        os.chmod(path.parent, 0o700)


def atomic_write(path: Path, write: Callable[[Path], object], private: bool = False) -> None:
    """Call ``write(tmp)`` to fill a fresh file beside ``path``, then rename it into place. ``private`` files
    (personal data) are readable by the owner only, others by everyone (a shared dashboard), whatever the umask."""
    folder_for(path, private)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes, private: bool = False) -> None:
    """``data`` as the whole of ``path``, on disk (fsync) before it replaces the old file."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    atomic_write(path, write, private)


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n").encode())


#: rows per Parquet row group (pyarrow's default, written down: a table written in parts of a multiple of it makes
#: the same file as the table written at once)
ROW_GROUP_ROWS = 1024 * 1024


def write_parquet(
    frame: pl.DataFrame | Iterable[pl.DataFrame], path: Path, schema: pa.Schema | None = None, private: bool = False
) -> int:
    """Write Parquet (zstd) atomically; returns the rows written.

    ``frame`` may be parts (in order) of one table, written one row group after another, so that a table of ten
    million rows is never whole in memory (``schema`` is then required). ``private``: as in atomic_write.

    Each frame is made one chunk first: the bytes written follow the chunks, and how polars chunks a result
    depends on its engine and the machine's cores, so the same rows would not give the same file."""
    rows = 0

    def write(tmp: Path) -> None:
        nonlocal rows
        if isinstance(frame, pl.DataFrame):
            table = frame.rechunk().to_arrow()
            table = table.cast(schema) if schema is not None else table
            pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
            rows = frame.height
            return
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for part in frame:
                writer.write_table(part.rechunk().to_arrow().cast(schema), row_group_size=ROW_GROUP_ROWS)
                rows += part.height

    atomic_write(path, write, private)
    return rows


def replace_folder(new: Path, target: Path) -> None:
    """Put the folder ``new`` (built beside ``target``) in ``target``'s place."""
    shutil.rmtree(target, ignore_errors=True)
    os.replace(new, target)


def sql_literal(text: str | Path) -> str:
    """A text (a path: its POSIX form) as a DuckDB string literal, so a folder named ``O'Brien`` reads as one."""
    text = text.as_posix() if isinstance(text, Path) else text
    return "'" + text.replace("'", "''") + "'"
