"""Point the release back at an earlier kept version, and say so on the steward report that no longer describes it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pipelines.operations.preconditions import Refused
from pipelines.publishing.warehouse import Warehouse
from pipelines.stewardship.steward_report import mark_rolled_back


@dataclass(frozen=True)
class RolledBack:
    version: str
    as_of: str
    #: the steward report (of the latest run) is marked as not describing the published version
    report_marked: bool


def rollback(warehouse: Path, to: str | None = None) -> RolledBack:
    """Roll back to version ``to`` (default: the one before the current); another run holding the warehouse is
    :class:`~pipelines.publishing.warehouse.WarehouseBusy`."""
    wh = Warehouse(warehouse)
    if not (wh.root / "versions").is_dir():
        raise Refused(f"{wh.root} has no published versions")
    try:
        version = wh.rollback(to)
    except ValueError as err:
        raise Refused(str(err)) from None
    released = next(v for v in wh.versions() if v["version"] == version)
    marked = mark_rolled_back(
        wh.root / "reports" / "steward",
        version,
        str(released["as_of"]),
        dt.datetime.now().isoformat(sep=" ", timespec="minutes"),
    )
    return RolledBack(version, str(released["as_of"]), marked)
