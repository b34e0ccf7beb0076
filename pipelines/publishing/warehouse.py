"""The warehouse folder: atomic writes, published versions and the switch between them.

Layout::

    <warehouse>/published -> versions/<run_id>   (a symlink, switched atomically)
    <warehouse>/versions/<run_id>/<table>.parquet
    <warehouse>/quarantine/<table>.parquet
    <warehouse>/manifest.json, tiedolla.duckdb
    <warehouse>/.staging/<run_id>/                (tables being built; never read by BI)
    <warehouse>/.run.lock, .release.lock          (one run at a time; one switch at a time)

A reader that opens ``published/…`` sees one whole version: the old one until the
symlink is replaced (``os.replace`` is atomic), the new one after. The last
``keep_versions`` versions stay, so ``tiedolla rollback`` can switch back to one.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import polars as pl

from pipelines import failpoints

KEEP_VERSIONS = 5
#: in a version folder from the start of gathering until the version has been switched in: a crash in between
#: leaves a version that was never published, which is then neither offered for rollback nor kept
GATHERING = ".gathering"


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse; the message says which and what to do."""


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


def write_parquet(frame: pl.DataFrame | Iterable[pl.DataFrame], path: Path, schema: pa.Schema | None = None) -> int:
    """Write Parquet next to ``path`` and rename it into place; returns the rows written.

    ``frame`` may be parts (in order) of one table, written one row group after another, so that a table of ten
    million rows is never whole in memory (``schema`` is then required)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if isinstance(frame, pl.DataFrame):
        table = frame.to_arrow()
        pq.write_table(table.cast(schema) if schema is not None else table, tmp, compression="zstd")
        os.replace(tmp, path)
        return frame.height
    rows = 0
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for part in frame:
            writer.write_table(part.to_arrow().cast(schema))
            rows += part.height
    os.replace(tmp, path)
    return rows


class Warehouse:
    def __init__(self, root: Path, keep_versions: int = KEEP_VERSIONS):
        self.root = Path(root)
        self.keep_versions = max(1, keep_versions)

    @property
    def published(self) -> Path:
        return self.root / "published"

    def staging(self, run_id: str) -> Path:
        return self.root / ".staging" / run_id

    def quarantine(self, table: str) -> Path:
        return self.root / "quarantine" / f"{table}.parquet"

    # ---- one run at a time ------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, name: str = "run", wait_seconds: float = 0.0):
        """Hold ``<warehouse>/.<name>.lock`` (an OS lock: released even when the process is killed)."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f".{name}.lock"
        with open(path, "a+", encoding="utf-8") as handle:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "another process"
                        raise WarehouseBusy(f"the warehouse {self.root} is in use by {holder}; wait until it has "
                                            "finished (or use --wait), nothing was changed") from None
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} since {dt.datetime.now().isoformat(timespec='seconds')}")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    def clear_stale_staging(self) -> list[str]:
        """Staging folders of runs that never finished (call while holding the run lock)."""
        folder = self.root / ".staging"
        stale = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        for name in stale:
            shutil.rmtree(folder / name, ignore_errors=True)
        return stale

    # ---- versions ---------------------------------------------------------------
    def current_version(self) -> str | None:
        return Path(os.readlink(self.published)).name if self.published.is_symlink() else None

    def versions(self) -> list[dict]:
        """Published versions, newest first: name, release time, as-of date, rows."""
        out, current = [], self.current_version()
        for folder in (self.root / "versions").iterdir() if (self.root / "versions").is_dir() else []:
            manifest = folder / "manifest.json"
            if not manifest.exists() or ((folder / GATHERING).exists() and folder.name != current):
                continue  # a version being gathered, never switched in, or broken: never offered
            m = json.loads(manifest.read_text(encoding="utf-8"))
            out.append({"version": folder.name, "released_at": m.get("released_at", ""), "as_of": m.get("as_of"),
                        "rows_published": m.get("totals", {}).get("rows_published")})
        return sorted(out, key=lambda v: (v["released_at"], v["version"]), reverse=True)

    def release(self, run_id: str, tables: dict[str, Path], manifest: dict) -> Path:
        """Gather the checked tables into a version, point ``published`` at it, write the views."""
        with self.lock("release", wait_seconds=600):
            version = self.root / "versions" / run_id
            version.mkdir(parents=True, exist_ok=True)
            (version / GATHERING).touch()
            for name, source in tables.items():
                target = version / f"{name}.parquet"
                if not target.exists():
                    os.link(source, target)
            manifest = {**manifest, "released_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
            atomic_write_json(version / "manifest.json", manifest)
            failpoints.reached("release:gathered")
            self._switch(run_id)
            shutil.rmtree(self.staging(run_id), ignore_errors=True)
            self._prune()
        return version

    def rollback(self, version: str | None = None) -> str:
        """Point ``published`` at an earlier version (default: the one before the current)."""
        with self.lock("release", wait_seconds=60):
            names = [v["version"] for v in self.versions()]
            current = self.current_version()
            if version is None:
                older = names[names.index(current) + 1:] if current in names else names
                if not older:
                    raise ValueError("there is no earlier version to roll back to")
                version = older[0]
            if version not in names:
                raise ValueError(f"no version '{version}' in {self.root / 'versions'}; kept: {', '.join(names) or 'none'}")
            self._switch(version)
        return version

    def _switch(self, version: str) -> None:
        """Replace the ``published`` link atomically; then the manifest copy and the views follow it."""
        link = self.root / f".published.{version}"
        link.unlink(missing_ok=True)
        link.symlink_to(Path("versions") / version, target_is_directory=True)
        if self.published.exists() and not self.published.is_symlink():
            raise RuntimeError(f"{self.published} is a folder, not a link to a version: move it away first")
        outgoing = self.current_version()
        os.replace(link, self.published)
        failpoints.reached("release:switched")
        for published in {outgoing, version} - {None}:  # both have been switched in (the outgoing one perhaps by a
            (self.root / "versions" / published / GATHERING).unlink(missing_ok=True)  # run that crashed just here)
        folder = self.root / "versions" / version
        atomic_write_bytes(self.root / "manifest.json", (folder / "manifest.json").read_bytes())
        self._write_views(sorted(p.stem for p in folder.glob("*.parquet")))

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
        """Keep the newest versions; drop older ones and any left half-gathered by a crash."""
        current = self.current_version()
        keep = {v["version"] for v in self.versions()[: self.keep_versions]} | {current}
        for folder in (self.root / "versions").iterdir():
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)


def missing_sources(warehouse: Warehouse, sources: dict[str, str | None], allowed: set[str]) -> list[str]:
    """Sources the current release was made from that this run has no export of (and may not do without)."""
    current = warehouse.root / "manifest.json"
    if warehouse.current_version() is None or not current.exists():
        return []  # a first run publishes whatever sources it has
    before = json.loads(current.read_text(encoding="utf-8")).get("sources") or {}
    return [f"the current release has a {system} export ({Path(folder).name}) but the landing area has none"
            for system, folder in before.items() if folder and not sources.get(system) and system not in allowed]


def shrunk_tables(warehouse: Warehouse, staged: dict[str, Path], share: float, min_rows: int) -> list[str]:
    """Tables of at least ``min_rows`` rows in the current release that would lose more than ``share`` of them."""
    if warehouse.current_version() is None:
        return []
    shrunk = []
    for name, path in sorted(staged.items()):
        current = warehouse.published / f"{name}.parquet"
        if not current.exists():
            continue
        before, after = pq.read_metadata(current).num_rows, pq.read_metadata(path).num_rows
        if before >= min_rows and after < before * (1 - share):
            shrunk.append(f"{name} would fall from {before} to {after} rows")
    return shrunk
