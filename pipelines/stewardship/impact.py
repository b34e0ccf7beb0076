"""Figures at risk: what each open failure group costs management's figures, so stewards fix the dearest first.

A failure touches study rights: its own (a status period's, a unit's, a workplace period's), a student's
(every study right of the student), or the one KOSKI's report differs on. For each group of open failures
(one rule) we count the study rights, students and hosting employers it touches, the student-years of the
current year those study rights carry in the published figures, and the student-years *held back*: what
the study rights left out of every figure because of it could carry at most (their open days of the year
counted as present: their own status is what is unknown).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from schemas.codes import ENDING_STATUSES

RIGHT = "study_right_id"
AT_RISK_SCHEMA = {
    "source_system": pl.Utf8,
    "table": pl.Utf8,
    "rule_id": pl.Utf8,
    "failing_rows": pl.Int64,
    "study_rights": pl.Int64,
    "students": pl.Int64,
    "employers": pl.Int64,
    "student_years_held_back": pl.Float64,
    "student_years_touched": pl.Float64,
}


def touched_study_rights(failures: pl.DataFrame, rights: pl.DataFrame) -> pl.DataFrame:
    """(source_system, table, rule_id, study_right_id) for every failure that touches a study right.

    ``failures``: source_system, table, rule_id, record_key (and occurrences); ``rights``: study_right_id,
    student_number of every
    study right of the export (published or held back)."""
    of_students = failures.filter(pl.col("table") == "students").join(
        rights.select(pl.col("student_number").alias("record_key"), RIGHT), on="record_key"
    )
    own = (
        failures.filter(pl.col("table") != "students")
        .join(rights.select(pl.col(RIGHT).alias("record_key")), on="record_key", how="semi")
        .with_columns(pl.col("record_key").alias(RIGHT))
    )
    return pl.concat(
        [
            of_students.select("source_system", "table", "rule_id", RIGHT),
            own.select("source_system", "table", "rule_id", RIGHT),
        ]
    ).unique()


def figures_at_risk(
    failures: pl.DataFrame,
    rights: pl.DataFrame,
    student_years: pl.DataFrame,
    held_back: pl.DataFrame,
    employers: pl.DataFrame,
) -> pl.DataFrame:
    """One row per open failure group, the one that moves management's figures most first.

    ``student_years``: study_right_id, student_years (this year, published); ``held_back``: study_right_id,
    rule_id, student_years (the estimate of a held-back study right, per rule that holds it back);
    ``employers``: study_right_id, organization_key of its workplace periods."""
    touched = touched_study_rights(failures, rights).join(rights, on=RIGHT, how="left")
    held = held_back.group_by("rule_id").agg(pl.col("student_years").sum().alias("student_years_held_back"))
    per_group = (
        touched.join(employers, on=RIGHT, how="left")
        .group_by("source_system", "table", "rule_id")
        .agg(
            pl.col(RIGHT).n_unique().alias("study_rights"),
            pl.col("student_number").drop_nulls().n_unique().alias("students"),
            pl.col("organization_key").drop_nulls().n_unique().alias("employers"),
        )
    )
    years = (
        touched.join(student_years, on=RIGHT, how="left")
        .unique(["rule_id", RIGHT])
        .group_by("rule_id")
        .agg(pl.col("student_years").fill_null(0).sum().alias("student_years_touched"))
    )
    rows = failures.group_by("source_system", "table", "rule_id").agg(pl.col("occurrences").sum().alias("failing_rows"))
    out = (
        rows.join(per_group, on=["source_system", "table", "rule_id"], how="left")
        .join(years, on="rule_id", how="left")
        .join(held, on="rule_id", how="left")
        .with_columns(
            pl.col("study_rights", "students", "employers").fill_null(0),
            pl.col("student_years_touched", "student_years_held_back").fill_null(0.0),
        )
    )
    return out.select(pl.col(c).cast(t) for c, t in AT_RISK_SCHEMA.items()).sort(
        "student_years_held_back",
        "student_years_touched",
        "students",
        "failing_rows",
        "rule_id",
        descending=[True, True, True, True, False],
    )


def held_back_at_most(
    held: pl.DataFrame, study_rights: pl.DataFrame, status_periods: pl.DataFrame, first: dt.date, last: dt.date
) -> pl.DataFrame:
    """study_right_id, rule_id, student_years: the days from ``first`` to ``last`` a held-back study right is open
    (from its first status or start date to its ending status or end date), / 365."""
    periods = status_periods.group_by(RIGHT).agg(
        pl.col("start_date").min().alias("first_status"),
        pl.col("start_date").filter(pl.col("status").is_in(sorted(ENDING_STATUSES))).min().alias("ended"),
    )
    spans = (
        held.join(study_rights.select(RIGHT, "start_date", "end_date"), on=RIGHT, how="left")
        .join(periods, on=RIGHT, how="left")
        .with_columns(
            pl.max_horizontal(pl.min_horizontal("start_date", "first_status"), pl.lit(first)).alias("from"),
            pl.min_horizontal(pl.coalesce("ended", "end_date", pl.lit(last)), pl.lit(last)).alias("to"),
        )
    )
    days = ((pl.col("to") - pl.col("from")).dt.total_days() + 1).clip(lower_bound=0)
    return spans.select(RIGHT, "rule_id", (days.fill_null(0) / 365).alias("student_years"))
