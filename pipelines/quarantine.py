"""The quarantine files: what stewards see of failed rows, and how a person is forgotten from them.

A failure row names the person it is about only by a keyed pseudonym (``person_key``), so
``tiedolla forget`` can find and remove every row about a person (given their student
number or contact id and the key) without the quarantine ever holding the id itself.
"""

from __future__ import annotations

import polars as pl

from pipelines.files import write_parquet
from pipelines.formats import number
from pipelines.publishing.pseudonyms import pseudonymise
from pipelines.publishing.warehouse import Warehouse
from pipelines.stewardship.failure_history import history_path
from pipelines.validation import PERSON_ID
from schemas.metadata import LINE, PARENT_FILE_UNREADABLE, Source
from schemas.stewardship import PERSON_KEY

FAILURE_DOMAIN = "failure"


def _domain(source: Source) -> str:
    return f"quarantine:{source.system}:{source.person_column}"


def person_keys(ids: list[str], key: bytes, source: Source) -> list[str]:
    return pseudonymise(pl.Series(ids, dtype=pl.Utf8), key, _domain(source)).to_list()


def quarantine_rows(failures: pl.DataFrame, key: bytes, source: Source) -> pl.DataFrame:
    """Failure rows as written to ``quarantine/<table>.parquet``: the person id replaced by its pseudonym, the
    failure id keyed with the warehouse key (validation derives it from the rule and the row's key, and a plain hash
    of a student number is found again by trying every number), and the rows that could not be checked because
    their parent's file could not be read as one row for that file."""
    failures = _per_unreadable_file(failures)
    return failures.with_columns(
        pseudonymise(failures[PERSON_ID], key, _domain(source)).alias(PERSON_KEY),
        pseudonymise(failures["failure_id"], key, FAILURE_DOMAIN).alias("failure_id"),
    ).drop(PERSON_ID)


def _per_unreadable_file(failures: pl.DataFrame) -> pl.DataFrame:
    """Thousands of rows that fail only because another file could not be read are one failure of that file: one
    row saying how many rows (and which lines) wait for it, about no person; the file summary still counts each."""
    unchecked = pl.col("rule_id").str.ends_with(PARENT_FILE_UNREADABLE)
    waiting = failures.filter(unchecked)
    if not waiting.height:
        return failures
    lines = waiting[LINE]
    rows = f"{number(lines.n_unique())} {{}} ({{}} {lines.min()}–{lines.max()})"
    first = waiting.sort(LINE).head(1)
    one = first.with_columns(
        pl.lit(None, pl.Utf8).alias("record_key"),
        pl.lit(None, pl.Utf8).alias("masked_value"),
        pl.lit(None, pl.Utf8).alias(PERSON_ID),
        (pl.col("message") + pl.lit(": " + rows.format("rows", "lines"))).alias("message"),
        (pl.col("message_fi") + pl.lit(": " + rows.format("riviä", "rivit"))).alias("message_fi"),
        pl.concat_str("rule_id", "source_file", separator="|").alias("failure_id"),  # (keyed with the rest)
    )
    return pl.concat([failures.filter(~unchecked), one])


def forget(warehouse: Warehouse, source: Source, ids: list[str], key: bytes) -> tuple[dict[str, int], set[str]]:
    """Remove every quarantine and failure-history row about these people (malformed and duplicate lines
    included); returns rows removed per file and the failure ids removed."""
    wanted = person_keys(ids, key, source)
    removed, failure_ids = {}, set()
    # every quarantine file, KOSKI's differences included: a person's key is the same in all of them (and differs
    # between source systems, so a student number never matches a CRM contact)
    files = sorted(warehouse.quarantine(source.tables[0].name).parent.glob("*.parquet"))
    for path in [*files, history_path(warehouse.root)]:
        if not path.exists():
            continue
        rows = pl.read_parquet(path)
        about = pl.col(PERSON_KEY).is_in(wanted).fill_null(False)
        if rows.filter(about).height:
            failure_ids |= set(rows.filter(about)["failure_id"].drop_nulls())
            write_parquet(rows.filter(~about), path, private=True)
            removed[f"{path.parent.name}/{path.stem}"] = rows.filter(about).height
    return removed, failure_ids
