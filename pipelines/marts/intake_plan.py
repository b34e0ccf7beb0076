"""The intake plan in force on a day: read and validated like an export (``schemas/plans.py``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from pipelines.ingestion.folder import read_folder
from pipelines.ingestion.landing import Landing
from pipelines.validation import REJECTED, validate_export
from schemas import plans
from schemas.metadata import LINE


@dataclass(frozen=True)
class IntakePlan:
    folder: str | None = None  # the plan's date folder; None when the landing folder has no plan in force
    rows: pl.DataFrame | None = None  # year, month, study_right_type, koulutus_code, campus, planned_starters
    problems: list[str] = field(default_factory=list)  # rows left out (and why), or why the file was not read

    def for_year(self, year: int) -> pl.DataFrame | None:
        if self.rows is None:
            return None
        rows = self.rows.filter(pl.col("year") == year)
        return rows if rows.height else None


NO_PLAN = IntakePlan()


def plan_in_force(landing: Landing, on: dt.date) -> IntakePlan:
    """The newest ``plans/<date>/`` on or before ``on``, its valid rows and its problems in words."""
    folders = [p for p in landing.exports(plans.SYSTEM) if p.name <= on.isoformat()]
    if not folders:
        return NO_PLAN
    folder = folders[-1]
    outcome = validate_export(plans.SOURCE, read_folder(landing, plans.TABLES, folder), f"plan-{folder.name}")[
        plans.INTAKE_PLAN.name
    ]
    if outcome.valid is None:
        return IntakePlan(
            folder.name,
            None,
            [f"{outcome.source_file} could not be read: {outcome.problem}; new starts follow history"],
        )
    problems = [
        f"{outcome.source_file} line {r[LINE]}: {r['message']}; the row is left out of the plan"
        for r in outcome.failures.filter(REJECTED).unique(LINE, keep="first").sort(LINE).iter_rows(named=True)
    ]
    rows = outcome.valid.select(c.name for c in plans.INTAKE_PLAN.columns)
    return IntakePlan(folder.name, rows, problems)
