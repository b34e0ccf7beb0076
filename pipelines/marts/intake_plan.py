"""The intake plans in force on a day: read and validated like an export (``schemas/plans.py``).

A plan is made before its year (``plans/<1 December>/``) and a newer plan folder may already give next year; each
year keeps the rows of the newest folder on or before the day that gives it. Last year's plan stays readable
beside this year's: how it held is what the forecast first expects of this year's (``forecast_intake.py``).
"""

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
    folder: str | None = None  # the newest plan's date folder; None when the landing folder has no plan in force
    rows: pl.DataFrame | None = None  # year, month, study_right_type, koulutus_code, campus, planned_starters
    problems: list[str] = field(default_factory=list)  # rows left out (and why), or why a file was not read

    def for_year(self, year: int) -> pl.DataFrame | None:
        return of_year(self.rows, year)


def of_year(rows: pl.DataFrame | None, year: int) -> pl.DataFrame | None:
    """The plan rows of ``year``; None when there are none."""
    rows = None if rows is None else rows.filter(pl.col("year") == year)
    return rows if rows is not None and rows.height else None


NO_PLAN = IntakePlan()


def plan_in_force(landing: Landing, on: dt.date) -> IntakePlan:
    """Every year's rows from the newest ``plans/<date>/`` on or before ``on`` that gives the year, and the problems
    in words (an older folder's prefixed with its date)."""
    folders = [p for p in landing.exports(plans.SYSTEM) if p.name <= on.isoformat()]
    if not folders:
        return NO_PLAN
    years: dict[int, pl.DataFrame] = {}
    problems: list[str] = []
    for folder in reversed(folders):  # the newest first: a year already given is not taken from an older folder
        rows, found = _read(landing, folder)
        problems += found if folder == folders[-1] else [f"(plan {folder.name}) {p}" for p in found]
        for (year,), given in ({} if rows is None else rows.partition_by("year", as_dict=True)).items():
            years.setdefault(year, given)
    rows = pl.concat([years[y] for y in sorted(years)]) if years else None
    return IntakePlan(folders[-1].name, rows, problems)


def _read(landing: Landing, folder) -> tuple[pl.DataFrame | None, list[str]]:
    """One plan folder's valid rows and its problems in words."""
    outcome = validate_export(plans.SOURCE, read_folder(landing, plans.TABLES, folder), f"plan-{folder.name}")[
        plans.INTAKE_PLAN.name
    ]
    if outcome.valid is None:
        return None, [f"{outcome.source_file} could not be read: {outcome.problem}; new starts follow history"]
    problems = [
        f"{outcome.source_file} line {r[LINE]}: {r['message']}; the row is left out of the plan"
        for r in outcome.failures.filter(REJECTED).unique(LINE, keep="first").sort(LINE).iter_rows(named=True)
    ]
    return outcome.valid.select(c.name for c in plans.INTAKE_PLAN.columns), problems
