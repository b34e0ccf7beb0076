"""``fact_student_year_month``: the calculation's pieces summed per study right, month and funding code."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from pipelines.marts.student_years import RIGHT, Calculation
from pipelines.publishing.star import conform, date_key, study_right_keys


def fact_student_year_month(
    student_year_calculation: Calculation, fact_study_right: pl.DataFrame, key: bytes
) -> Iterator[pl.DataFrame]:
    """Every month of the calculation (from the first status in the export up to the as-of date), in parts of
    whole study rights: at national size the whole fact is ten million rows of some twenty columns."""
    calculation = student_year_calculation
    ids = calculation.history.study_rights.select(RIGHT)
    keys = (
        ids.with_columns(study_right_keys(ids[RIGHT], key))
        .lazy()
        .join(
            fact_study_right.lazy().select(
                "study_right_key", "student_key", "qualification_key", "campus_key", "has_warnings"
            ),
            on="study_right_key",
            how="inner",
        )
    )
    order = keys.select(RIGHT, "study_right_key").collect().sort("study_right_key")[RIGHT]
    for part in calculation.parts(order):
        frame = (
            part.per_month()
            .lazy()
            .join(keys, on=RIGHT, how="inner", maintain_order="left")
            .with_columns(
                date_key("month_start").alias("month_date_key"),
                pl.col("month_start").dt.year().cast(pl.Int64).alias("year"),
                pl.col("month_start").dt.month().cast(pl.Int64).alias("month"),
                (pl.col("student_year_days_current") / 365).alias("student_years_current"),
            )
        )
        yield conform(frame.collect(), "fact_student_year_month")
