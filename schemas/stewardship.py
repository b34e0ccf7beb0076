"""The stewardship tables: what a run leaves for data stewards beside (never in) the published set.

``quarantine/<table>.parquet`` holds every failure of the latest run, ``stewardship/failure_history.parquet`` each
failure's life across runs and ``stewardship/runs.parquet`` the counts per run and rule. They are the stewards' and
not BI's: a record key is the source's own id (student number, study-right id), so the files are the owner's only;
the person a failure is about appears only as a keyed pseudonym (``person_key``), which ``tiedolla forget`` finds.
A column the tables share is declared once here and composed into each.
"""

from __future__ import annotations

from schemas.fields import column
from schemas.metadata import LINE, Table

PERSON_KEY = "person_key"

RUN_ID = column("run_id")
SOURCE_SYSTEM = column("source_system")
TABLE = column("table")
SOURCE_FILE = column("source_file")
SOURCE_LINE = column(LINE)
RECORD_KEY = column("record_key")
RULE_ID = column("rule_id")
SEVERITY = column("severity")
CONSEQUENCE = column("consequence")
COLUMN = column("column")
SOURCE_HEADER = column("source_header")
MESSAGE = column("message")
MESSAGE_FI = column("message_fi")
MASKED_VALUE = column("masked_value")
FAILURE_ID = column("failure_id")
PERSON = column(PERSON_KEY)

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
        column("occurrences"),
        column("status", variant="failure_history"),
        column("first_seen_run"),
        column("first_seen_on"),
        column("last_seen_run"),
        column("last_seen_on"),
        column("resolved_run"),
        column("resolved_on"),
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
        column("as_of"),
        column("recorded_at"),
        SOURCE_SYSTEM,
        TABLE,
        RULE_ID,
        column("failing"),
        column("new"),
        column("resolved"),
    ),
)

TABLES = (QUARANTINE, FAILURE_HISTORY, FAILURE_RUNS)
