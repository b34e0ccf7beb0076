"""The warehouse folder: atomic writes, published versions and the switch between them.

Layout::

    <warehouse>/published -> versions/<run_id>   (a symlink, switched atomically)
    <warehouse>/versions/<run_id>/<table>.parquet
    <warehouse>/quarantine/<table>.parquet
    <warehouse>/manifest.json, tiedolla.duckdb
    <warehouse>/.staging/<run_id>/                (tables being built; never read by BI)

A reader that opens ``published/…`` sees one whole version: the old one until the
symlink is replaced (``os.replace`` is atomic), the new one after.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import polars as pl

KEEP_VERSIONS = 3


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n").encode())


def write_parquet(frame: pl.DataFrame, path: Path, schema: pa.Schema | None = None) -> None:
    """Write Parquet next to ``path`` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = frame.to_arrow()
    if schema is not None:
        table = table.cast(schema)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


class Warehouse:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def published(self) -> Path:
        return self.root / "published"

    def staging(self, run_id: str) -> Path:
        return self.root / ".staging" / run_id

    def quarantine(self, table: str) -> Path:
        return self.root / "quarantine" / f"{table}.parquet"

    def release(self, run_id: str, tables: dict[str, Path], manifest: dict) -> Path:
        """Gather the checked tables into a version, point ``published`` at it, write the views."""
        version = self.root / "versions" / run_id
        version.mkdir(parents=True, exist_ok=True)
        for name, source in tables.items():
            target = version / f"{name}.parquet"
            if not target.exists():
                os.link(source, target)
        atomic_write_json(version / "manifest.json", manifest)
        link = self.root / f".published.{run_id}"
        link.unlink(missing_ok=True)
        link.symlink_to(Path("versions") / run_id, target_is_directory=True)
        if self.published.exists() and not self.published.is_symlink():
            raise RuntimeError(f"{self.published} is a folder, not a link to a version: move it away first")
        os.replace(link, self.published)
        atomic_write_json(self.root / "manifest.json", manifest)
        self._write_views(list(tables))
        shutil.rmtree(self.staging(run_id), ignore_errors=True)
        self._prune()
        return version

    def _write_views(self, tables: list[str]) -> None:
        """tiedolla.duckdb: one view per published table, reading through the ``published`` link."""
        target = self.root / "tiedolla.duckdb"
        tmp = self.root / ".tiedolla.duckdb.tmp"
        tmp.unlink(missing_ok=True)
        con = duckdb.connect(str(tmp))
        try:
            for name in sorted(tables):
                path = (self.published / f"{name}.parquet").as_posix().replace("'", "''")
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        finally:
            con.close()
        os.replace(tmp, target)

    def _prune(self) -> None:
        current = os.readlink(self.published)
        versions = sorted((self.root / "versions").iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in versions[KEEP_VERSIONS:]:
            if Path("versions") / old.name != Path(current):
                shutil.rmtree(old, ignore_errors=True)
