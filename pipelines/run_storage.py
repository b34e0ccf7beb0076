"""Where a run keeps the values passed between steps, beside the warehouse, written atomically.

A value is pickled, except its polars tables: each of those goes to its own Arrow IPC
file next to the pickle, which refers to it by name. Pickling ten million rows took
seconds each way; an uncompressed IPC file is written at disk speed and read back by
memory-mapping it, so a table that several steps read costs almost nothing to load.

Every file is written under a temporary name and renamed into place, the pickle last, so
a crash (even SIGKILL) never leaves a half-written value for the next run to load: the
pickle names its tables by a token of its own write, and tables of older writes are
removed only once the new pickle is in place. The files hold unpublished rows (personal
data): they are readable by the owner only.
"""

from __future__ import annotations

import os
import pickle
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

import polars as pl
import pyarrow as pa
from dagster import ConfigurableIOManager, InitResourceContext, InputContext, OutputContext
from pydantic import PrivateAttr

from pipelines import failpoints
from pipelines.files import atomic_write

#: the run tag that names a run's partition (a network's provider)
PARTITION_TAG = "dagster/partition"
#: in a run's storage folder: the run its values are from and the versions it was made from
#: (``pipelines/incremental.py``); any value written clears it until a published run writes it again
STATE = "state.json"


def apart(storage: Path, partition: str | None) -> Path:
    """Where a partition's run keeps its values in ``storage`` (a network's providers never meet)."""
    return storage / f"partition={partition}" if partition else storage


def _write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """``write(file)`` into ``path`` atomically; values hold personal data: the owner's only."""

    def fill(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            write(f)

    atomic_write(path, fill, private=True)


class _TablesApart(pickle.Pickler):
    """Pickles a value with each polars table written to ``<value>.<token>.<n>.arrow`` instead."""

    def __init__(self, file: IO[bytes], value_path: Path, token: str):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.value_path, self.token, self.written = value_path, token, 0

    def persistent_id(self, obj):
        if type(obj) is not pl.DataFrame:
            return None
        name = f"{self.value_path.name}.{self.token}.{self.written}.arrow"
        self.written += 1
        _write_atomically(self.value_path.with_name(name), obj.write_ipc)
        return name


class _TablesMapped(pickle.Unpickler):
    def __init__(self, file: IO[bytes], value_path: Path):
        super().__init__(file)
        self.folder = value_path.parent

    def persistent_load(self, name: str) -> pl.DataFrame:
        with pa.memory_map(str(self.folder / name)) as source:
            return pl.from_arrow(pa.ipc.open_file(source).read_all(), rechunk=False)


class RunStorage(ConfigurableIOManager):
    base_dir: str

    _partition: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """A run of a partition (a network's provider) keeps its values apart, so that two providers' runs never
        meet."""
        self._partition = context.run.tags.get(PARTITION_TAG) if context.run else None

    def _path(self, key_path: list[str]) -> Path:
        return apart(Path(self.base_dir), self._partition).joinpath(*key_path)

    def handle_output(self, context: OutputContext, obj) -> None:
        path = self._path(context.asset_key.path)
        apart(Path(self.base_dir), self._partition).joinpath(STATE).unlink(missing_ok=True)  # (no longer all one run's)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        for folder in (Path(self.base_dir), *reversed(path.parents[: len(path.relative_to(self.base_dir).parts) - 1])):
            os.chmod(folder, 0o700)  # unpublished personal data: the owner's only, whatever the umask
        token = uuid.uuid4().hex  # names this write's tables
        _write_atomically(path, lambda f: _TablesApart(f, path, token).dump(obj))
        for older in path.parent.glob(f"{path.name}.*.arrow"):  # tables of earlier writes of this value
            if older.name.split(".")[-3] != token:
                older.unlink(missing_ok=True)
        failpoints.reached(context.step_key)

    def load_input(self, context: InputContext):
        path = self._path(context.upstream_output.asset_key.path)
        with open(path, "rb") as f:
            return _TablesMapped(f, path).load()
