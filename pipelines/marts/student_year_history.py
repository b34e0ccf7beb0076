"""Which study rights the student-year figures can be computed for, from one validated export.

KOSKI counts what is recorded, and a study right's figures depend only on its own status
timeline, its additional periods and its type (``student-years.md``, "What a defect may hold
back"). A failure there (a rejected row, or a cleared value the calculation reads) leaves that
study right's figures unknown: it is *held back* and listed with the rule, never counted short.
Any other failure (a student's henkilötunnus, a koulutus code, a funding code, an assessed unit or
a workplace row) holds nothing back. An annulled study right (``mitatoity``) is left out too, and listed the
same way: KOSKI moves it out of its reporting tables, so it counts in no report (``student-years.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from pipelines.conforming.student_records import records_as_of
from pipelines.ingestion.folder import read_folder
from pipelines.ingestion.landing import Landing
from pipelines.marts.student_years import RIGHT, StudyRightHistory
from pipelines.validation import CLEARED, REJECTED, TableOutcome, validate_export
from pipelines.waivers import in_force
from schemas import student_admin

#: per table the calculation reads, the columns whose failure leaves a study right's figures unknown
TIMELINE: dict[str, tuple[str, ...]] = {
    "study_rights": ("study_right_id", "study_right_type", "start_date", "end_date"),
    "status_periods": ("study_right_id", "start_date", "status"),
    "additional_periods": ("study_right_id", "period_type", "start_date", "end_date", "value"),
}
#: every table the calculation reads: workplace-learning periods give apprenticeship days, but their failures
#: hold nothing back
TABLES = (*TIMELINE, "workplace_periods")
#: the reason listed for a study right with no usable status period at all
NO_STATUS = "study_rights.has_status_periods"


class CannotCalculate(Exception):
    """A file the calculation needs could not be read at all."""


def unreadable(outcomes: dict[str, TableOutcome]) -> list[str]:
    """Problems of the files the calculation needs that could not be read at all."""
    return [
        f"{outcomes[t].source_file} could not be read: {outcomes[t].problem}"
        for t in TIMELINE
        if outcomes[t].valid is None
    ]


def held_back(outcomes: dict[str, TableOutcome]) -> pl.DataFrame:
    """study_right_id → the rules that leave it out of the figures (one row per pair, sorted): those that leave its
    figures unknown, and the annulment (``status_periods.annulled``: KOSKI counts an annulled study right nowhere)."""
    failing = pl.concat(
        [
            outcomes[t]
            .failures.filter(
                ((REJECTED | CLEARED) & pl.col("column").is_in(columns)) | (pl.col("rule_id") == student_admin.ANNULLED)
            )
            .select(pl.col("record_key").alias(RIGHT), "rule_id")
            for t, columns in TIMELINE.items()
        ]
    )
    rights = outcomes["study_rights"].rows()  # (one with no status period at all, and no other reason)
    without_status = (
        rights.join(outcomes["status_periods"].rows(), on=RIGHT, how="anti")
        .join(failing, on=RIGHT, how="anti")
        .select(RIGHT, pl.lit(NO_STATUS).alias("rule_id"))
    )
    return pl.concat([failing, without_status]).drop_nulls().unique().sort(RIGHT, "rule_id")


def complete_history(outcomes: dict[str, TableOutcome]) -> tuple[StudyRightHistory, pl.DataFrame]:
    """The study rights whose figures are known, and those held back (``held_back``).

    A file that could not be read leaves nothing to calculate from: its part is empty.
    """
    history = StudyRightHistory(*(outcomes[t].rows() for t in TABLES))
    left_out = held_back(outcomes)
    complete = history.study_rights.join(left_out, on=RIGHT, how="anti")[RIGHT]
    return history.only(complete), left_out


def calculable(outcomes: dict[str, TableOutcome]) -> tuple[StudyRightHistory, pl.DataFrame]:
    """The complete history of a validated export, or :class:`CannotCalculate` when a file it needs was unreadable."""
    problems = unreadable(outcomes)
    if problems:
        raise CannotCalculate("; ".join(problems))
    return complete_history(outcomes)


def history_from_folder(landing: Landing, folder: Path) -> tuple[StudyRightHistory, pl.DataFrame]:
    """Read and validate one export folder exactly as ``run`` does (the same rules, and the waivers in force on the
    landing area's run date), then keep the complete study rights. For an export the run itself does not validate
    (the older one late recording is measured on); a command gets its export from the assets instead
    (``pipelines/execution.py``)."""
    raws = read_folder(landing, student_admin.TABLES, folder)
    outcomes = validate_export(
        student_admin.SOURCE, raws, f"read-{folder.name}", in_force(landing.site, landing.run_date())
    )
    return calculable(outcomes)


def history_as_of(landing: Landing) -> tuple[StudyRightHistory, pl.DataFrame]:
    """The complete history of the landing area's student records on its run date (:data:`HistoryReader`): its
    newest export, else its KOSKI deliveries."""
    return calculable(records_as_of(landing))


#: how the student-year commands read one export: the landing area as it stood on a day → its complete history
#: and the study rights held back (:func:`history_as_of`, or the pipeline's own assets from the command line)
HistoryReader = Callable[[Landing], tuple[StudyRightHistory, pl.DataFrame]]
