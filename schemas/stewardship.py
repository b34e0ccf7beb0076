"""The stewardship tables: what a run leaves for data stewards beside (never in) the published set.

``quarantine/<table>.parquet`` holds every failure of the latest run, ``stewardship/failure_history.parquet`` each
failure's life across runs and ``stewardship/runs.parquet`` the counts per run and rule. They are the stewards' and
not BI's: a record key is the source's own id (student number, study-right id), so the files are the owner's only;
the person a failure is about appears only as a keyed pseudonym (``person_key``), which ``tiedolla forget`` finds.
A column the tables share is declared once here and composed into each.
"""

from __future__ import annotations

import polars as pl

from schemas.metadata import LINE, TIMESTAMP, Column, Table

PERSON_KEY = "person_key"

RUN_ID = Column("run_id", pl.Utf8, "The Dagster run that found the failure (or that the counts are of).")
SOURCE_SYSTEM = Column("source_system", pl.Utf8, "The source system of the file: `student_admin`, `crm` or `koski`.")
TABLE = Column("table", pl.Utf8, "Our name of the source table (`docs/architecture/source_<table>.md`).")
SOURCE_FILE = Column("source_file", pl.Utf8, "The export file the row came from.")
SOURCE_LINE = Column(
    LINE, pl.Int64, "The row's line in the file (the header is line 1); empty for a whole-file problem."
)
RECORD_KEY = Column(
    "record_key",
    pl.Utf8,
    "The row's own key in the source (a student number, study-right id, …), so a steward can find it there.",
)
RULE_ID = Column("rule_id", pl.Utf8, "The rule that failed (every rule is listed on its table's page).")
SEVERITY = Column("severity", pl.Utf8, "`error`, `warning`, or `waived` for an error a steward has waived.")
CONSEQUENCE = Column(
    "consequence", pl.Utf8, "What the failure does: `reject` the row, `clear` the value or `flag` the row."
)
COLUMN = Column("column", pl.Utf8, "Our name of the column that failed (empty for a rule of the whole row).")
SOURCE_HEADER = Column("source_header", pl.Utf8, "The column's header in the source file.")
MESSAGE = Column("message", pl.Utf8, "What is wrong, in English.")
MESSAGE_FI = Column("message_fi", pl.Utf8, "What is wrong, in Finnish.")
MASKED_VALUE = Column(
    "masked_value", pl.Utf8, "The failing value with anything shaped like personal data masked by its shape."
)
FAILURE_ID = Column(
    "failure_id", pl.Utf8, "The failure's identity across runs: the same rule on the same record and column."
)
PERSON = Column(
    PERSON_KEY, pl.Utf8, "The person the row is about (student or contact), as a keyed pseudonym; empty when none."
)

QUARANTINE = Table(
    name="quarantine",
    description="Every failure of the latest run, one file per source table (`quarantine/<table>.parquet`): "
    "rejected, cleared and flagged rows alike. Rows read = published + rejected.",
    grain="one row per failed rule per source row",
    columns=(
        RUN_ID,
        SOURCE_SYSTEM,
        TABLE,
        SOURCE_FILE,
        SOURCE_LINE,
        RECORD_KEY,
        RULE_ID,
        SEVERITY,
        CONSEQUENCE,
        COLUMN,
        SOURCE_HEADER,
        MESSAGE,
        MESSAGE_FI,
        MASKED_VALUE,
        FAILURE_ID,
        PERSON,
    ),
)

#: what the failure history keeps of a failure's latest sighting
FAILURE_DETAIL = (
    SOURCE_SYSTEM,
    TABLE,
    RULE_ID,
    SEVERITY,
    CONSEQUENCE,
    RECORD_KEY,
    COLUMN,
    SOURCE_HEADER,
    MESSAGE,
    MESSAGE_FI,
    MASKED_VALUE,
    SOURCE_FILE,
    SOURCE_LINE,
    PERSON,
)

FAILURE_HISTORY = Table(
    name="failure_history",
    description="Each failure's life across runs (`stewardship/failure_history.parquet`): when it was first and "
    "last seen and when it was resolved. A resolved failure keeps its masked value, record key and person key "
    "for the retention period of the site configuration, then only its counts, rule, file and dates.",
    grain="one row per failure (rule, record and column)",
    key=("failure_id",),
    columns=(
        FAILURE_ID,
        *FAILURE_DETAIL,
        Column("occurrences", pl.Int64, "How many rows of the latest run it was seen on."),
        Column("status", pl.Utf8, "`new` (first seen in the latest run), `open`, `waived` or `resolved`."),
        Column("first_seen_run", pl.Utf8, "The run that first found it."),
        Column("first_seen_on", pl.Date, "That run's as-of date."),
        Column("last_seen_run", pl.Utf8, "The latest run that found it."),
        Column("last_seen_on", pl.Date, "That run's as-of date."),
        Column("resolved_run", pl.Utf8, "The first run that no longer found it (empty while it is open)."),
        Column("resolved_on", pl.Date, "That run's as-of date."),
    ),
)

FAILURE_RUNS = Table(
    name="failure_runs",
    description="Per run and rule, the failing, new and resolved rows (`stewardship/runs.parquet`): the trend the "
    "steward report draws.",
    grain="one row per run per rule that failed in it or was resolved by it",
    key=("run_id", "source_system", "table", "rule_id"),
    columns=(
        RUN_ID,
        Column("as_of", pl.Date, "The run's as-of date."),
        Column("recorded_at", TIMESTAMP, "When the run recorded its counts."),
        SOURCE_SYSTEM,
        TABLE,
        RULE_ID,
        Column("failing", pl.Int64, "Rows failing the rule in the run (waived ones not counted)."),
        Column("new", pl.Int64, "Of them, rows failing for the first time."),
        Column("resolved", pl.Int64, "Rows that failed in an earlier run and no longer do."),
    ),
)

TABLES = (QUARANTINE, FAILURE_HISTORY, FAILURE_RUNS)
