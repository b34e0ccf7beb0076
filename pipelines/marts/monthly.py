"""``fact_student_year_month``: the calculation's pieces summed per study right, month and funding code."""
from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.marts.student_years import RIGHT, StudyRightHistory, per_month
from pipelines.publishing.star import conform, date_key


def fact_student_year_month(history: StudyRightHistory, fact_study_right: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Every month from the first status in the export up to the as-of date (days after it are not yet known)."""
    first = history.status_periods["start_date"].min() or as_of
    months = per_month(history, first, as_of)
    keys = fact_study_right.select(RIGHT, "student_key", "qualification_key", "campus_key", "has_warnings")
    frame = months.join(keys, on=RIGHT, how="inner").with_columns(
        date_key("month_start").alias("month_date_key"),
        pl.col("month_start").dt.year().cast(pl.Int64).alias("year"),
        pl.col("month_start").dt.month().cast(pl.Int64).alias("month"),
        (pl.col("student_year_days_current") / 365).alias("student_years_current"))
    return conform(frame, "fact_student_year_month")
