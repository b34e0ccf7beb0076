"""Backtest: forecast a past year at each month end from the export known then, against what happened.

The measure is taken over January–November: the forecast made on 31 December reads an export that
already holds the whole year, so it would flatter the figures. Per breakdown member (the total, a campus
or a qualification type) it gives the error of each month's year-end forecast, whether the actual fell
inside the 80 % interval, and over the eleven months the MAPE, the interval's coverage and the bias.
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
from pipelines.marts.student_years import RIGHT, Calculation, StudyRightHistory, month_end, per_study_right
from schemas.codes import QUALIFICATIONS, reference

#: ``--by`` → the forecast's breakdown
BREAKDOWN_OF = {"total": "total", "campus": "campus", "type": "qualification_type"}
#: the months whose forecasts are measured: December's reads an export that holds the whole year
MEASURED_MONTHS = 11


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

    @property
    def inside(self) -> bool:
        """Whether the actual fell inside the forecast's 80 % interval."""
        return self.low - 1e-9 <= self.actual <= self.high + 1e-9


@dataclass(frozen=True)
class Summary:
    """A member's forecasts of January–November against the actual."""

    mape: float  # %
    covered: int  # months whose actual fell inside the 80 % interval
    months: int
    bias: float  # mean signed error, %

    def line(self) -> str:
        return (
            f"MAPE {self.mape:.1f} %, 80 % interval covered {self.covered}/{self.months} months, "
            f"bias {self.bias:+.1f} %"
        )


def summary(results: list[MonthResult]) -> Summary:
    measured = [r for r in results if r.month_end.month <= MEASURED_MONTHS]
    errors = [r.error for r in measured]
    return Summary(
        mape=100 * sum(abs(e) for e in errors) / len(errors),
        covered=sum(r.inside for r in measured),
        months=len(measured),
        bias=100 * sum(errors) / len(errors),
    )


def month_ends(year: int) -> list[dt.date]:
    return [month_end(dt.date(year, m, 1)) for m in range(1, 13)]


def _year_figures(landing: Landing, year: int, read: HistoryReader) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per study right the newest export can count: the year's student-years (current formula) and its breakdown
    members; and the study rights the newest export holds back. The newest export must be dated after the year."""
    newest = landing.export_folder(landing.records_source())
    if dt.date.fromisoformat(newest.name) <= dt.date(year, 12, 31):
        raise FileProblem(
            str(newest),
            f"the newest export ({newest.name}) is not after {year}: the year's actual "
            "total is not known yet, so there is nothing to test the forecasts against",
        )
    history, held = read(landing)
    days = per_study_right(history, dt.date(year, 1, 1), dt.date(year, 12, 31)).select(
        RIGHT, (pl.col("student_year_days_current").fill_null(0) / 365).alias("student_years")
    )
    quals = pl.DataFrame(list(reference(QUALIFICATIONS))).select("koulutus_code", "qualification_type")
    members = (
        history.study_rights.select(RIGHT, "campus", "koulutus_code")
        .join(quals, on="koulutus_code", how="left")
        .with_columns(pl.col("qualification_type").fill_null("unknown"), pl.lit("total").alias("total"))
    )
    return days.join(members, on=RIGHT, how="left"), held.select(RIGHT).unique()


def _totals(figures: pl.DataFrame, breakdowns: tuple[str, ...]) -> dict[tuple[str, str], float]:
    return {
        (breakdown, member): total
        for breakdown in breakdowns
        for member, total in figures.group_by(breakdown).agg(pl.col("student_years").sum()).iter_rows()
    }


def backtest(
    landing: Landing, year: int, by: str = "total", use_plan: bool = True, read: HistoryReader = history_as_of
) -> dict[str, list[MonthResult]]:
    """breakdown member (and ``total``) → the twelve month ends' year-end forecasts (all funding) against the
    actual.

    Forecast and actual count the same study rights: a defect holds a study right back in one export and not in
    another (the demo injects them afresh in each), and that difference is not the forecast's error. So a month's
    forecast leaves out what the newest export holds back, and its actual what that month's export held back.
    ``read`` gives an export's complete history (the command line's reads it from the pipeline's assets)."""
    breakdowns = tuple(dict.fromkeys((BREAKDOWN_OF[by], "total")))
    figures, held_now = _year_figures(landing, year, read)
    results: dict[str, list[MonthResult]] = {member: [] for _, member in sorted(_totals(figures, breakdowns))}
    histories: dict[Path, StudyRightHistory] = {}  # each export is read once
    held: dict[Path, pl.DataFrame] = {}
    for last_day in month_ends(year):
        known_then = landing.known_on(last_day)
        folder = known_then.export_folder(landing.records_source())  # the newest on or before the month end
        if folder not in histories:
            histories[folder], held[folder] = read(known_then)
        history = histories[folder]
        late = late_recording.from_landing(known_then, history, last_day, histories, read)
        counted = history.only(history.study_rights.join(held_now, on=RIGHT, how="anti")[RIGHT])
        plan = plan_in_force(known_then, last_day).for_year(year) if use_plan else None
        frame = forecast_year(Calculation.up_to(counted, last_day), late=late, plan=plan).frame.filter(
            (pl.col("funding_scope") == "all") & pl.col("breakdown").is_in(breakdowns) & (pl.col("month") == 12)
        )
        forecasts = {(r["breakdown"], r["breakdown_value"]): r for r in frame.iter_rows(named=True)}
        actual = _totals(figures.join(held[folder].select(RIGHT).unique(), on=RIGHT, how="anti"), breakdowns)
        for (breakdown, member), total in actual.items():
            f = forecasts.get((breakdown, member))
            interval = (
                (f["forecast_year_total"], f["forecast_year_low_80"], f["forecast_year_high_80"])
                if f
                else (0.0, 0.0, 0.0)
            )  # a member with no study right open or expected on that day
            results.setdefault(member, []).append(MonthResult(last_day, folder.name, *interval, total))
    return results
