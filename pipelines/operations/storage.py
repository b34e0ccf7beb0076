"""Where a command's landing area and warehouse are: a local folder, or object storage (``s3://…``, ``abfs://…``)
worked on through a local copy (``pipelines/publishing/working_copy.py``). Every operation below runs on a folder;
this is the one place that knows the difference."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from pipelines.object_storage import is_remote
from pipelines.publishing.warehouse import PROVIDER_PREFIX
from pipelines.publishing.working_copy import landing_copy, working_copy

#: the commands that work on object storage (the others read a local warehouse folder)
ON_OBJECT_STORAGE = ("run", "rollback", "forget")


def landing_at(location: str) -> Path:
    """The landing area as a folder: itself, or a local copy of the one on object storage."""
    return landing_copy(location) if is_remote(location) else Path(location).resolve()


@contextlib.contextmanager
def warehouse_at(location: str, wait_seconds: float = 0.0, everything: bool = False) -> Iterator[Path]:
    """The warehouse as a folder for one command: itself, or (on object storage) a local working copy, locked while
    the command runs and pushed back when it returns. ``everything``: the command reads every kept version's files
    (a rollback, a forget), not only the released one's. A network provider's warehouse (``…/provider=<id>``) is
    checked out with its network's, which holds the provider's run storage (a forget removes a person from it too)
    and its benchlearning pages."""
    if not is_remote(location):
        yield Path(location).resolve()
        return
    parent, name = location.rstrip("/").rsplit("/", 1)
    member = name.startswith(PROVIDER_PREFIX)
    with working_copy(parent if member else location, wait_seconds, everything) as local:
        yield local / name if member else local
