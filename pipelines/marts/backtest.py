"""Backtest: forecast a past year at each month end from the export known then, against what happened."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipelines.ingestion.problems import FileProblem
from pipelines.marts.forecast import forecast_year
from pipelines.marts.history import history_from_folder
from pipelines.marts.student_years import Calculation, month_end, per_study_right
from pipelines.resources import LandingArea
from schemas.student_admin import SYSTEM


@dataclass(frozen=True)
class MonthResult:
    month_end: dt.date
    export: str  # the export folder the forecast read
    forecast: float
    low: float
    high: float
    actual: float

    @property
    def error(self) -> float:
        """Signed error relative to the actual total."""
        return (self.forecast - self.actual) / self.actual if self.actual else float("nan")


def month_ends(year: int) -> list[dt.date]:
    return [month_end(dt.date(year, m, 1)) for m in range(1, 13)]


def actual_total(landing: LandingArea, year: int) -> tuple[float, str]:
    """The year's student-years (current formula) by the newest export, which must be dated after the year."""
    newest = landing.export_folder(SYSTEM)
    if dt.date.fromisoformat(newest.name) <= dt.date(year, 12, 31):
        raise FileProblem(str(newest), f"the newest export ({newest.name}) is not after {year}: the year's actual "
                                       "total is not known yet, so there is nothing to test the forecasts against")
    history, _ = history_from_folder(landing, newest)
    days = per_study_right(history, dt.date(year, 1, 1), dt.date(year, 12, 31))["student_year_days_current"].sum()
    return days / 365, newest.name


def backtest(landing: LandingArea, year: int) -> list[MonthResult]:
    actual, _ = actual_total(landing, year)
    results = []
    for last_day in month_ends(year):
        known_then = LandingArea(path=landing.path, as_of=last_day.isoformat(), site_config=landing.site_config)
        folder = known_then.export_folder(SYSTEM)  # the newest export on or before the month end
        history, _ = history_from_folder(landing, folder)
        total = forecast_year(Calculation.up_to(history, last_day)).year_total()
        results.append(MonthResult(last_day, folder.name, total["forecast"], total["low"], total["high"], actual))
    return results


def mean_absolute_percentage_error(results: list[MonthResult]) -> float:
    return 100 * sum(abs(r.error) for r in results) / len(results)
