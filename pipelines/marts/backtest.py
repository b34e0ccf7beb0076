"""Backtest: forecast a past year at each month end from what was known then, against the year as finally counted.

No hindsight: a month's forecast reads only the landing area as it stood on that day (the newest export on or
before it, the intake plan in force, the earlier export late recording is measured on) and counts the study
rights that export could count, as a run on that day did. The actual is one figure for every month: the year as
the newest export counts it. What the two sets differ by (a study right held back on one day and not on the
other) is part of the error the forecast must carry.

The measure is taken over January–November: the forecast made on 31 December reads an export that
already holds the whole year, so it would flatter the figures. Per breakdown member (the total, a campus
or a qualification type) it gives the error of each month's year-end forecast, whether the actual fell
inside the 50 % and 80 % intervals, and over the eleven months the MAPE, the intervals' coverage and the bias.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.ingestion.landing import Landing
from pipelines.ingestion.problems import FileProblem
from pipelines.marts import late_recording
from pipelines.marts.forecast import forecast_year
from pipelines.marts.intake_plan import plan_in_force
from pipelines.marts.student_year_history import HistoryReader, history_as_of
from pipelines.marts.student_years import RIGHT, Calculation, StudyRightHistory, month_end
from schemas.codes import QUALIFICATIONS, reference

#: ``--by`` → the forecast's breakdown
BREAKDOWN_OF = {"total": "total", "campus": "campus", "type": "qualification_type"}
#: the months whose forecasts are measured: December's reads an export that holds the whole year
MEASURED_MONTHS = 11
#: the forecast's columns a month's result reads, in :class:`MonthResult`'s order around the actual
INTERVAL_COLUMNS = (
    "forecast_year_total",
    "forecast_year_low_80",
    "forecast_year_high_80",
    "forecast_year_low_50",
    "forecast_year_high_50",
)


@dataclass(frozen=True)
class MonthResult:
    month_end: dt.date
    export: str  # the export folder the forecast read
    forecast: float
    low: float  # the 80 % interval
    high: float
    actual: float
    low_50: float = float("nan")
    high_50: float = float("nan")

    @property
    def error(self) -> float:
        """Signed error relative to the actual total."""
        return (self.forecast - self.actual) / self.actual if self.actual else float("nan")

    @property
    def inside(self) -> bool:
        """Whether the actual fell inside the forecast's 80 % interval."""
        return self.low - 1e-9 <= self.actual <= self.high + 1e-9

    @property
    def inside_50(self) -> bool:
        """Whether the actual fell inside the forecast's 50 % interval."""
        return self.low_50 - 1e-9 <= self.actual <= self.high_50 + 1e-9


@dataclass(frozen=True)
class Summary:
    """A member's forecasts of January–November against the actual."""

    mape: float  # %
    covered: int  # months whose actual fell inside the 80 % interval
    months: int
    bias: float  # mean signed error, %
    covered_50: int = 0  # months whose actual fell inside the 50 % interval

    def line(self) -> str:
        return (
            f"MAPE {self.mape:.1f} %, 80 % interval covered {self.covered}/{self.months} months, "
            f"50 % interval {self.covered_50}/{self.months}, bias {self.bias:+.1f} %"
        )


def summary(results: list[MonthResult]) -> Summary:
    measured = [r for r in results if r.month_end.month <= MEASURED_MONTHS]
    errors = [r.error for r in measured]
    return Summary(
        mape=100 * sum(abs(e) for e in errors) / len(errors),
        covered=sum(r.inside for r in measured),
        months=len(measured),
        bias=100 * sum(errors) / len(errors),
        covered_50=sum(r.inside_50 for r in measured),
    )


def month_ends(year: int) -> list[dt.date]:
    return [month_end(dt.date(year, m, 1)) for m in range(1, 13)]


def _year_figures(landing: Landing, year: int, read: HistoryReader) -> pl.DataFrame:
    """Per study right the newest export counts: the year's student-years (current formula) and its breakdown
    members. The newest export must be dated after the year. The same sum the forecast forecasts: every study
    right's days, TUVA's too (``docs/architecture/student_years.md``), not KOSKI's report, which leaves TUVA out."""
    newest = landing.export_folder(landing.records_source())
    if dt.date.fromisoformat(newest.name) <= dt.date(year, 12, 31):
        raise FileProblem(
            str(newest),
            f"the newest export ({newest.name}) is not after {year}: the year's actual "
            "total is not known yet, so there is nothing to test the forecasts against",
        )
    history, _ = read(landing)
    days = (
        Calculation.of(history, dt.date(year, 1, 1), dt.date(year, 12, 31))
        .totals_per_study_right()
        .select(RIGHT, (pl.col("student_year_days_current").fill_null(0) / 365).alias("student_years"))
    )
    quals = pl.DataFrame(list(reference(QUALIFICATIONS))).select("koulutus_code", "qualification_type")
    members = (
        history.study_rights.select(RIGHT, "campus", "koulutus_code")
        .join(quals, on="koulutus_code", how="left")
        .with_columns(pl.col("qualification_type").fill_null("unknown"), pl.lit("total").alias("total"))
    )
    return days.join(members, on=RIGHT, how="left")


def _totals(figures: pl.DataFrame, breakdowns: tuple[str, ...]) -> dict[tuple[str, str], float]:
    return {
        (breakdown, member): total
        for breakdown in breakdowns
        for member, total in figures.group_by(breakdown).agg(pl.col("student_years").sum()).iter_rows()
    }


def backtest(
    landing: Landing, year: int, by: str = "total", use_plan: bool = True, read: HistoryReader = history_as_of
) -> dict[str, list[MonthResult]]:
    """breakdown member (and ``total``) → the twelve month ends' year-end forecasts (all funding) against the year
    as finally counted. ``read`` gives an export's complete history and what it holds back (the command line's
    reads it from the pipeline's assets)."""
    breakdowns = tuple(dict.fromkeys((BREAKDOWN_OF[by], "total")))
    actual = _totals(_year_figures(landing, year, read), breakdowns)
    results: dict[str, list[MonthResult]] = {member: [] for _, member in sorted(actual)}
    histories: dict[Path, StudyRightHistory] = {}  # each export is read once
    for last_day in month_ends(year):
        known_then = landing.known_on(last_day)
        folder = known_then.export_folder(landing.records_source())  # the newest on or before the month end
        if folder not in histories:
            histories[folder], _ = read(known_then)
        history = histories[folder]
        late = late_recording.from_landing(known_then, history, last_day, histories, read)
        plan = plan_in_force(known_then, last_day).rows if use_plan else None
        frame = forecast_year(Calculation.up_to(history, last_day), late=late, plan=plan).frame.filter(
            (pl.col("funding_scope") == "all") & pl.col("breakdown").is_in(breakdowns) & (pl.col("month") == 12)
        )
        forecasts = {(r["breakdown"], r["breakdown_value"]): r for r in frame.iter_rows(named=True)}
        for (breakdown, member), total in sorted(actual.items()):
            f = forecasts.get((breakdown, member))  # none: no study right of the member open or expected that day
            interval = [f[c] if f else 0.0 for c in INTERVAL_COLUMNS]
            results[member].append(MonthResult(last_day, folder.name, *interval[:3], total, *interval[3:]))
    return results
