"""Data and code versions: what a run was made from, so that the next one can tell what changed.

A source's data version is the checksum of every file in its landing folder (``<landing>/<system>/…``): a new
export, a file replaced or removed changes it; the same files give the same version, whenever they are looked at.
The code version is the checksum of the pipeline's own code and metadata (``pipelines/``, ``schemas/``) and the
versions of the libraries that compute the figures. Both are what Dagster calls a data version and a code version;
they are computed here in plain Python so that a run can compare them before it starts.

Checksums are kept in a small cache keyed by each file's size and modification time (as ``git`` does), so that a
morning with one new export reads that export's bytes only.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

from pipelines.files import atomic_write_json

PROJECT = Path(__file__).resolve().parent.parent
#: the folders whose files are the pipeline's code and metadata
CODE = ("pipelines", "schemas")
CODE_SUFFIXES = (".py", ".json", ".csv", ".yaml", ".md")
#: the libraries whose versions can change a published figure or byte
LIBRARIES = ("polars", "pyarrow", "duckdb", "pandera", "splink", "numpy", "python-stdnum", "dagster")


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def file_version(path: Path | None) -> str | None:
    """One file's version (a settings file's); None: no such file."""
    return _digest(path)[:16] if path and path.is_file() else None


class Checksums:
    """Files' sha256, remembered by (size, modification time) in ``cache`` (None: nothing remembered)."""

    def __init__(self, cache: Path | None = None):
        self.cache = cache
        self.known: dict[str, list] = {}
        if cache is not None and cache.exists():
            try:
                self.known = json.loads(cache.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.known = {}  # (a cache that cannot be read is only a slower run)
        self.seen: dict[str, list] = {}

    def of(self, path: Path) -> str:
        stat = path.stat()
        name = str(path)
        size_time = [stat.st_size, stat.st_mtime_ns]
        hit = self.known.get(name)
        digest = hit[2] if hit and hit[:2] == size_time else _digest(path)
        self.seen[name] = [*size_time, digest]
        return digest

    def save(self) -> None:
        """Remember the files looked at this time (only those: a file gone is forgotten)."""
        if self.cache is not None:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.cache, self.seen)


def folder_version(folder: Path, checksums: Checksums) -> str | None:
    """One checksum of every file under ``folder`` (its path inside it and its bytes); None: no such folder."""
    if not folder.is_dir():
        return None
    whole = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        whole.update(f"{path.relative_to(folder).as_posix()}\0{checksums.of(path)}\n".encode())
    return whole.hexdigest()[:16]


def source_versions(landing: Path, checksums: Checksums, systems: set[str]) -> dict[str, str]:
    """The data version of each of ``systems``' landing folders (``<landing>/<system>/``) that exists."""
    return {
        system: version
        for system in sorted(systems)
        if (version := folder_version(landing / system, checksums)) is not None
    }


def code_version() -> str:
    """The pipeline's code and metadata, and the versions of the libraries that make the figures, as one checksum."""
    whole = hashlib.sha256()
    for top in CODE:
        for path in sorted(p for p in (PROJECT / top).rglob("*") if p.suffix in CODE_SUFFIXES and p.is_file()):
            whole.update(f"{path.relative_to(PROJECT).as_posix()}\0".encode() + path.read_bytes())
    for library in LIBRARIES:
        try:
            whole.update(f"{library}={metadata.version(library)}\n".encode())
        except metadata.PackageNotFoundError:
            whole.update(f"{library}=none\n".encode())
    return whole.hexdigest()[:16]
