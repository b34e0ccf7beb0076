"""``fact_student_year_month``: the calculation's pieces summed per study right, month and funding code."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from pipelines.marts.student_years import NUMBER, RIGHT, Calculation
from pipelines.publishing.star import conform, date_key, study_right_keys

#: a study right's place in the order of its published key
RANK = "__rank"


def fact_student_year_month(
    student_year_calculation: Calculation, fact_study_right: pl.DataFrame, key: bytes
) -> Iterator[pl.DataFrame]:
    """Every month of the calculation (from the first status in the export up to the as-of date), in parts of
    whole study rights: at national size the whole fact is ten million rows of some twenty columns.

    The rows are put in the fact's key order (study-right key, month, funding code) by the study right's rank in
    that order, and the funding code by its place among the codes, all numbers: sorting ten million rows on the
    24-character key itself took most of the step."""
    calculation = student_year_calculation
    ids = calculation.history.study_rights.select(RIGHT)
    keys = (
        ids.with_columns(study_right_keys(ids[RIGHT], key))
        .join(
            fact_study_right.select(
                "study_right_key", "student_key", "qualification_key", "campus_key", "has_warnings"
            ),
            on="study_right_key",
            how="inner",
        )
        .join(calculation.history.numbers, on=RIGHT)
        .sort("study_right_key")
        .with_row_index(RANK)
    )
    codes = pl.Enum(calculation.pieces["funding_code"].drop_nulls().unique().sort())  # (a number in their order)
    for part in calculation.parts(keys[RIGHT]):
        frame = (
            part.month_sums()
            .join(keys.lazy().drop(RIGHT), on=NUMBER, how="inner")
            .sort(RANK, "month_start", pl.col("funding_code").cast(codes).to_physical(), nulls_last=True)
            .with_columns(
                date_key("month_start").alias("month_date_key"),
                pl.col("month_start").dt.year().cast(pl.Int64).alias("year"),
                pl.col("month_start").dt.month().cast(pl.Int64).alias("month"),
                (pl.col("student_year_days_current") / 365).alias("student_years_current"),
            )
        )
        yield conform(frame.collect(), "fact_student_year_month", in_key_order=True)
