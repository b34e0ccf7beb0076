"""Student-years (opiskelijavuodet) as KOSKI counts them: the one implementation.

A study right's timeline is cut into *pieces* on which nothing that matters changes:
status and funding code, part-time %, additional periods, the 28-day holiday allowance,
the formula's dates (1.7.2023, 1.1.2026) and calendar months (so July and every month
start on a piece boundary). Every measure is then days × a weight per piece, which is
why the monthly fact summed over whole months equals the per-study-right report for the
same period: both add up the same pieces.

The rules, with their sources, are in ``docs/architecture/student_years.md``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from schemas.codes import ENDING_STATUSES, reference

#: the current formula counts from this day on
CURRENT_FORMULA_FROM = dt.date(2023, 7, 1)
#: the current formula counts holiday (loma) days up to and including this day, none after
HOLIDAY_COUNTED_UNTIL = dt.date(2025, 12, 31)
#: the old formula counts the first 28 days of an unbroken holiday, from when it began
HOLIDAY_ALLOWANCE_DAYS = 28
PRESENT, HOLIDAY, GRADUATED = "lasna", "loma", "valmistunut"
OPEN_END = dt.date(9999, 12, 31)
RIGHT = "study_right_id"

#: day measures, in the order the KOSKI reconciliation report uses
MEASURES = ("present_or_graduated_days", "holiday_days_counted", "holiday_days_other", "student_year_days_old",
            "student_year_days_current", "accommodation_days", "special_support_days")


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def _period_types(measure: str) -> list[str]:
    return sorted(r["code"] for r in reference("additional_period_types") if r["student_year_measure"] == measure)


def july_rule() -> pl.DataFrame:
    """study_right_type → whether July days count in the current formula (null: the formula gives no value)."""
    return pl.DataFrame(
        [{"study_right_type": r["code"], "july_counted": {"true": True, "false": False}.get(r["july_counted"])}
         for r in reference("study_right_types")], schema={"study_right_type": pl.Utf8, "july_counted": pl.Boolean})


@dataclass(frozen=True)
class StudyRightHistory:
    """The validated rows the calculation reads (only study rights whose rows are all valid)."""

    study_rights: pl.DataFrame  # study_right_id, study_right_type, …
    status_periods: pl.DataFrame  # study_right_id, start_date, status, funding_code
    additional_periods: pl.DataFrame  # study_right_id, period_type, start_date, end_date, value

    def only(self, study_right_ids: pl.Series) -> StudyRightHistory:
        keep = pl.col(RIGHT).is_in(study_right_ids.implode())
        return StudyRightHistory(self.study_rights.filter(keep), self.status_periods.filter(keep),
                                 self.additional_periods.filter(keep))


def status_segments(status_periods: pl.DataFrame) -> pl.LazyFrame:
    """Each status period with its last day and the day its unbroken run of that status began.

    A status lasts until the day before the next one; an ending status is its own single
    day; the last status of an open study right runs on (``OPEN_END``).
    """
    new_run = (pl.col("status") != pl.col("status").shift(1).over(RIGHT)).fill_null(True)
    return (
        status_periods.lazy().select(RIGHT, "start_date", "status", "funding_code").sort(RIGHT, "start_date")
        .with_columns(
            pl.when(pl.col("status").is_in(sorted(ENDING_STATUSES))).then(pl.col("start_date"))
            .otherwise(pl.col("start_date").shift(-1).over(RIGHT).dt.offset_by("-1d"))
            .fill_null(OPEN_END).alias("end_date"),
            new_run.cum_sum().over(RIGHT).alias("run"))
        .with_columns(pl.col("start_date").min().over(RIGHT, "run").alias("status_began"))
        .drop("run")
    )


def pieces(history: StudyRightHistory, first: dt.date, last: dt.date) -> pl.DataFrame:
    """The study rights' days from ``first`` to ``last`` (inclusive) cut into uniform pieces, with every measure."""
    segments = (
        status_segments(history.status_periods)
        .with_columns(pl.max_horizontal("start_date", pl.lit(first)).alias("seg_start"),
                      pl.min_horizontal("end_date", pl.lit(last)).alias("seg_end"))
        .filter(pl.col("seg_start") <= pl.col("seg_end"))
        .with_row_index("segment")
    ).collect().lazy()
    extras = history.additional_periods.lazy().select(
        RIGHT, "period_type", pl.col("start_date").alias("extra_start"),
        pl.col("end_date").fill_null(OPEN_END).alias("extra_end"), "value")
    cut = pl.col("cut")
    candidates = pl.concat([
        segments.select("segment", pl.date_ranges(pl.col("seg_start").dt.month_start().dt.offset_by("1mo"),
                                                  pl.col("seg_end"), "1mo").alias("cut")).explode("cut"),
        *(segments.select("segment", pl.lit(day).alias("cut"))
          for day in (CURRENT_FORMULA_FROM, HOLIDAY_COUNTED_UNTIL + dt.timedelta(days=1))),
        segments.filter(pl.col("status") == HOLIDAY).select(
            "segment", pl.col("status_began").dt.offset_by(f"{HOLIDAY_ALLOWANCE_DAYS}d").alias("cut")),
        segments.join(extras, on=RIGHT).select("segment", pl.col("extra_start").alias("cut")),
        segments.join(extras.filter(pl.col("extra_end") < OPEN_END), on=RIGHT).select(
            "segment", pl.col("extra_end").dt.offset_by("1d").alias("cut")),
    ])
    starts = pl.concat([
        segments.select("segment", pl.col("seg_start").alias("cut")),
        candidates.join(segments.select("segment", "seg_start", "seg_end"), on="segment")
        .filter((cut > pl.col("seg_start")) & (cut <= pl.col("seg_end"))).select("segment", "cut"),
    ]).unique()
    cut_up = (
        starts.join(segments, on="segment")
        .with_columns(pl.col("cut").alias("piece_start"),
                      pl.col("cut").shift(-1).over("segment", order_by="cut").dt.offset_by("-1d")
                      .fill_null(pl.col("seg_end")).alias("piece_end"))
        .select("segment", RIGHT, "status", "funding_code", "status_began", "piece_start", "piece_end")
        .sort(RIGHT, "piece_start")
        .with_row_index("piece")
    )
    return _measured(_with_additional_periods(cut_up, extras), history.study_rights).collect()


def _with_additional_periods(cut_up: pl.LazyFrame, extras: pl.LazyFrame) -> pl.LazyFrame:
    """Part-time % and the accommodation / special-support flags in force on each piece."""
    covering = cut_up.select("piece", RIGHT, "piece_start").join(extras, on=RIGHT).filter(
        pl.col("piece_start").is_between(pl.col("extra_start"), pl.col("extra_end")))
    part_time = pl.col("period_type").is_in(_period_types("part_time"))
    flags = covering.group_by("piece").agg(
        # overlapping part-time periods: the one that began last is in force
        pl.col("value").filter(part_time).sort_by(pl.col("extra_start").filter(part_time)).last().alias("part_time_percent"),
        pl.col("period_type").is_in(_period_types("accommodation_days")).any().alias("accommodation"),
        pl.col("period_type").is_in(_period_types("special_support_days")).any().alias("special_support"),
    )
    return cut_up.join(flags, on="piece", how="left").with_columns(
        pl.col("accommodation").fill_null(False), pl.col("special_support").fill_null(False))


def _measured(cut_up: pl.LazyFrame, study_rights: pl.DataFrame) -> pl.LazyFrame:
    days = (pl.col("piece_end") - pl.col("piece_start")).dt.total_days().cast(pl.Float64) + 1
    share = pl.col("part_time_percent").fill_null(100.0) / 100
    status = pl.col("status")
    within_allowance = pl.col("piece_start") < pl.col("status_began").dt.offset_by(f"{HOLIDAY_ALLOWANCE_DAYS}d")
    in_july = pl.col("piece_start").dt.month() == 7
    counts_now = (
        (pl.col("piece_start") >= CURRENT_FORMULA_FROM)
        & ~(in_july & ~pl.col("july_counted"))
        & ((status == PRESENT) | (status == GRADUATED)
           | ((status == HOLIDAY) & (pl.col("piece_start") <= HOLIDAY_COUNTED_UNTIL)))
    )
    zero = pl.lit(0.0)
    types = study_rights.lazy().select(RIGHT, "study_right_type").join(july_rule().lazy(), on="study_right_type", how="left")
    return cut_up.join(types, on=RIGHT, how="left").with_columns(
        pl.when(status.is_in([PRESENT, GRADUATED])).then(days).otherwise(zero).alias("present_or_graduated_days"),
        pl.when((status == HOLIDAY) & within_allowance).then(days).otherwise(zero).alias("holiday_days_counted"),
        pl.when((status == HOLIDAY) & ~within_allowance).then(days).otherwise(zero).alias("holiday_days_other"),
        pl.when(status == PRESENT).then(days * share)
        .when((status == HOLIDAY) & within_allowance).then(days * share)
        .when(status == GRADUATED).then(days)
        .otherwise(zero).alias("student_year_days_old"),
        pl.when(pl.col("july_counted").is_null()).then(pl.lit(None, pl.Float64))
        .when(counts_now & (status == GRADUATED)).then(days)
        .when(counts_now).then(days * share)
        .otherwise(zero).alias("student_year_days_current"),
        pl.when(pl.col("accommodation")).then(days).otherwise(zero).alias("accommodation_days"),
        pl.when(pl.col("special_support")).then(days).otherwise(zero).alias("special_support_days"),
    )


def _sums() -> list[pl.Expr]:
    current = pl.col("student_year_days_current")
    return [
        *(pl.col(m).sum() for m in MEASURES if m != "student_year_days_current"),
        # null, not 0, where the current formula gives no value for the study right's type
        pl.when(current.is_not_null().any()).then(current.sum()).alias("student_year_days_current"),
    ]


def per_study_right(history: StudyRightHistory, first: dt.date, last: dt.date) -> pl.DataFrame:
    """KOSKI's opiskelijavuositiedot: one row per study right with days in ``first``…``last``."""
    return (
        pieces(history, first, last).group_by(RIGHT)
        .agg(*_sums(),
             pl.col("funding_code").drop_nulls().unique().sort().str.join(",").alias("funding_codes"))
        .select(RIGHT, *MEASURES[:5], "funding_codes", *MEASURES[5:])
        .sort(RIGHT)
    )


def per_month(history: StudyRightHistory, first: dt.date, last: dt.date) -> pl.DataFrame:
    """One row per study right × calendar month × funding code with the day measures."""
    return (
        pieces(history, first, last).with_columns(pl.col("piece_start").dt.month_start().alias("month_start"))
        .group_by(RIGHT, "month_start", "funding_code")
        .agg(*_sums())
        .sort(RIGHT, "month_start", "funding_code", nulls_last=True)
    )


def current_day_weights(combos: pl.DataFrame) -> pl.DataFrame:
    """The current formula's weight of one day, for each row of ``combos``.

    ``combos`` has study_right_type, status, day and part_time_percent; the forecast uses
    this to value expected future days by the same rules as the actual ones.
    """
    one_day = combos.with_row_index("__row").with_columns(
        pl.col("__row").cast(pl.Utf8).alias(RIGHT), pl.col("day").alias("piece_start"), pl.col("day").alias("piece_end"),
        pl.col("day").alias("status_began"), pl.lit(False).alias("accommodation"), pl.lit(False).alias("special_support"))
    measured = _measured(one_day.drop("study_right_type").lazy(), one_day.select(RIGHT, "study_right_type"))
    return measured.sort("__row").select(*combos.columns, pl.col("student_year_days_current").fill_null(0.0)
                                         .alias("weight")).collect()
