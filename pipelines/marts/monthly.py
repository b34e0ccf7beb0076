"""``fact_student_year_month``: the calculation's pieces summed per study right, month and funding code."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from pipelines.marts.student_years import NUMBER, RIGHT, Calculation
from pipelines.publishing.star import Pseudonyms, conform, date_key

#: a study right's place in the order of its published key
RANK = "__rank"


def fact_student_year_month(
    student_year_calculation: Calculation, fact_study_right: pl.DataFrame, pseudonyms: Pseudonyms
) -> Iterator[pl.DataFrame]:
    """Every month of the calculation (from the first status in the export up to the as-of date), in parts of
    whole study rights: at national size the whole fact is ten million rows of some twenty columns.

    The rows are put in the fact's key order (study-right key, month, funding code) by one number: the study
    right's rank in that order, the month's place since the first and the funding code's place among the codes
    (sorting ten million rows on the 24-character key itself took most of the step, on three columns half of what
    was left). The study right's own keys are then taken from its row of the ranked keys by position (its rank),
    not joined on a hash of ten million rows."""
    calculation = student_year_calculation
    keys = (
        calculation.history.study_rights.select(RIGHT)
        .join(pseudonyms.study_rights, on=RIGHT, how="inner")
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
    ranks, theirs = keys.lazy().select(NUMBER, RANK), keys.drop(RIGHT, NUMBER, RANK)  # (row r of theirs: rank r)
    codes = pl.Enum(calculation.pieces["funding_code"].drop_nulls().unique().sort())  # (a number in their order)
    first_month = calculation.first.year * 12 + calculation.first.month - 1
    months = calculation.last.year * 12 + calculation.last.month - first_month
    code = pl.col("funding_code").cast(codes).to_physical().cast(pl.UInt64).fill_null(len(codes.categories))
    month = pl.col("month_start").dt.year() * 12 + pl.col("month_start").dt.month() - 1 - first_month
    order = (pl.col(RANK).cast(pl.UInt64) * months + month.cast(pl.UInt64)) * (len(codes.categories) + 1) + code
    for part in calculation.parts(keys[RIGHT]):
        sums = part.month_sums().join(ranks, on=NUMBER, how="inner").sort(order).collect()
        frame = pl.concat([sums, theirs.select(pl.all().gather(sums[RANK]))], how="horizontal").with_columns(
            date_key("month_start").alias("month_date_key"),
            pl.col("month_start").dt.year().cast(pl.Int64).alias("year"),
            pl.col("month_start").dt.month().cast(pl.Int64).alias("month"),
            (pl.col("student_year_days_current") / 365).alias("student_years_current"),
        )
        yield conform(frame, "fact_student_year_month", in_key_order=True)
