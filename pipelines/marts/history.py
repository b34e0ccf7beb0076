"""Which study rights the student-year figures can be computed for, from one validated export.

A study right counts only when it and every status and additional period of it passed
validation: with a period missing, its days would be wrong without anyone noticing. The
others are left out and reported, never silently counted short.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.ingestion.folder import read_folder
from pipelines.marts.student_years import RIGHT, StudyRightHistory
from pipelines.resources import LandingArea
from pipelines.validation import TableOutcome, validate_export
from schemas import student_admin

#: the tables the calculation reads; a quarantined row in any of them holds its study right back
TABLES = ("study_rights", "status_periods", "additional_periods")


class CannotCalculate(Exception):
    """A file the calculation needs could not be read at all."""


def unreadable(outcomes: dict[str, TableOutcome]) -> list[str]:
    """Problems of the files the calculation needs that could not be read at all."""
    return [f"{outcomes[t].source_file} could not be read: {outcomes[t].problem}" for t in TABLES
            if outcomes[t].valid is None]


def complete_history(outcomes: dict[str, TableOutcome]) -> tuple[StudyRightHistory, pl.Series]:
    """The study rights with nothing in quarantine, and the ids of those left out (sorted).

    A file that could not be read leaves nothing to calculate from: its part is empty.
    """
    history = StudyRightHistory(*(outcomes[t].rows() for t in TABLES))
    held_back = pl.concat([
        outcomes[t].failures.filter(pl.col("severity") == "error").select(pl.col("record_key").alias(RIGHT))
        for t in TABLES]).unique().drop_nulls()
    complete = history.study_rights.join(held_back, on=RIGHT, how="anti")[RIGHT]
    return history.only(complete), held_back[RIGHT].sort()


def history_from_folder(landing: LandingArea, folder: Path) -> tuple[StudyRightHistory, pl.Series]:
    """Read and validate one export folder exactly as ``run`` does, then keep the complete study rights."""
    outcomes = validate_export(student_admin.SOURCE, read_folder(landing, student_admin.TABLES, folder),
                               run_id=f"read-{folder.name}")
    problems = unreadable(outcomes)
    if problems:
        raise CannotCalculate("; ".join(problems))
    return complete_history(outcomes)
