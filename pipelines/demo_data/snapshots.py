"""The provider's history of exports: the world as the student-administration system knew it on earlier dates.

Staff record status changes late (a drop-out is often noticed weeks after the fact), so an
export on date S holds only the changes recorded by S. A forecast backtest that reads the
export of a past month end therefore knows what was known then, not what was learnt later.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from pipelines.marts.student_years import month_end
from schemas.codes import ENDING_STATUSES

RECORDED = "__recorded_on"
#: how many days after its date a status change is recorded (uniform 0…max), by status
RECORDING_DELAY_DAYS = {"eronnut": 60, "katsotaaneronneeksi": 90, "valmistunut": 14}
OTHER_DELAY_DAYS = 7
#: a January or August intake is registered up to this many days before it starts (uniform 0…max): an export
#: before the start already holds the study right, with its first status dated on the start
REGISTERED_AHEAD_DAYS = 45
INTAKE_MONTHS = (1, 8)


def with_recording_dates(rng: np.random.Generator, periods: pl.DataFrame) -> pl.DataFrame:
    maximum = periods["status"].replace_strict(RECORDING_DELAY_DAYS, default=OTHER_DELAY_DAYS).to_numpy()
    delay = (rng.random(periods.height) * (maximum + 1)).astype(np.int64)
    ahead = (rng.random(periods.height) * (REGISTERED_AHEAD_DAYS + 1)).astype(np.int64)
    intake = (pl.col("start_date") == pl.col("start_date").min().over("study_right_id")) & pl.col(
        "start_date"
    ).dt.month().is_in(INTAKE_MONTHS)
    return periods.with_columns(
        pl.when(intake)
        .then(pl.col("start_date") - pl.duration(days=pl.lit(pl.Series(ahead))))
        .otherwise(pl.col("start_date") + pl.duration(days=pl.lit(pl.Series(delay))))
        .alias(RECORDED)
    )


def month_ends_before(as_of: dt.date) -> list[dt.date]:
    """Every month end from July two years before up to the as-of date (excluded): a backtest of the previous year
    needs, at its January, an export old enough to measure late recording on (``marts/late_recording.py``)."""
    ends = [
        month_end(dt.date(year, month, 1))
        for year in range(as_of.year - 2, as_of.year + 1)
        for month in range(7 if year == as_of.year - 2 else 1, 13)
    ]
    return [end for end in ends if end < as_of]


def known_on(tables: dict[str, pl.DataFrame], day: dt.date) -> dict[str, pl.DataFrame]:
    """The export the system would have written on ``day``: with the study rights registered by then, also those
    that start later."""
    rights = tables["study_rights"]
    periods = (
        tables["status_periods"]
        .sort("study_right_id", "start_date")
        .with_columns((pl.col("start_date") == pl.col("start_date").min().over("study_right_id")).alias("__first"))
    )
    # a change not yet recorded hides every later change of the same study right too
    recorded = (
        (((pl.col("start_date") <= day) | pl.col("__first")) & (pl.col(RECORDED) <= day))
        .cast(pl.Int8)
        .cum_min()
        .over("study_right_id")
    )
    periods = periods.filter(recorded == 1).drop("__first")
    ended = periods.filter(pl.col("status").is_in(sorted(ENDING_STATUSES))).select("study_right_id", "start_date")
    rights = rights.drop("end_date").join(
        ended.rename({"start_date": "end_date"}), on="study_right_id", how="left", maintain_order="left"
    )
    rights = rights.join(
        periods.select("study_right_id").unique(), on="study_right_id", how="semi", maintain_order="left"
    )
    ids = rights["study_right_id"].implode()
    of_rights = pl.col("study_right_id").is_in(ids)
    return {
        "students": tables["students"].filter(pl.col("student_number").is_in(rights["student_number"].implode())),
        "study_rights": rights.select(tables["study_rights"].columns),
        "status_periods": periods.filter(of_rights).drop(RECORDED),
        "additional_periods": tables["additional_periods"].filter(of_rights & (pl.col("start_date") <= day)),
        "assessed_units": tables["assessed_units"].filter(of_rights & (pl.col("assessment_date") <= day)),
        "workplace_periods": tables["workplace_periods"]
        .filter(of_rights & (pl.col("start_date") <= day))
        .with_columns(pl.when(pl.col("end_date") <= day).then(pl.col("end_date")).alias("end_date")),
        "targets": tables["targets"].filter(pl.col("year") <= day.year),
    }
