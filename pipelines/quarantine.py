"""The quarantine files: what stewards see of failed rows, and how a person is forgotten from them.

A failure row names the person it is about only by a keyed pseudonym (``person_key``), so
``tiedolla forget`` can find and remove every row about a person (given their student
number or contact id and the key) without the quarantine ever holding the id itself.
"""

from __future__ import annotations

import re

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


def id_pattern(ids: list[str]) -> str:
    """A regular expression for text that holds one of ``ids`` as a whole token (``100034`` in ``OO-100034-2-X``,
    not in ``1000345``): how a row whose link to its person is broken (a mistyped student number, a child row of a
    mistyped study right) is still found by what its line says."""
    alternatives = "|".join(re.escape(i) for i in sorted(set(ids)))
    return f"(?i)(?:^|[^0-9a-z])(?:{alternatives})(?:$|[^0-9a-z])"


def holds_id(column: str, ids: list[str]) -> pl.Expr:
    return pl.col(column).str.contains(id_pattern(ids)).fill_null(False) if ids else pl.lit(False)


def forget(
    warehouse: Warehouse,
    source: Source,
    ids: list[str],
    key: bytes,
    linked: list[str] = (),
    systems: tuple[str, ...] = (),
) -> tuple[dict[str, int], pl.DataFrame]:
    """Remove every quarantine and failure-history row about these people: by their pseudonym (malformed and
    duplicate lines included), and by a record key of ``source`` or ``systems`` (which share its ids) that is, or
    holds, one of ``ids`` or ``linked`` (the person's study rights), so that history kept under an earlier key and
    rows whose person link is broken go too. Returns rows removed per file and the removed rows' failure id, table
    and record key."""
    wanted = person_keys(ids, key, source)
    removed, found = {}, []
    # every quarantine file, KOSKI's differences included: a person's key is the same in all of them (and differs
    # between source systems, so a student number never matches a CRM contact)
    files = sorted(warehouse.quarantine(source.tables[0].name).parent.glob("*.parquet"))
    about = pl.col(PERSON_KEY).is_in(wanted).fill_null(False) | pl.col("source_system").is_in(
        [source.system, *systems]
    ) & holds_id("record_key", [*ids, *linked])
    for path in [*files, history_path(warehouse.root)]:
        if not path.exists():
            continue
        rows = pl.read_parquet(path)
        gone = rows.filter(about)
        if gone.height:
            found.append(gone.select("failure_id", "table", "record_key"))
            write_parquet(rows.filter(~about), path, private=True)
            removed[f"{path.parent.name}/{path.stem}"] = gone.height
    if not found:
        return removed, pl.DataFrame(schema={"failure_id": pl.Utf8, "table": pl.Utf8, "record_key": pl.Utf8})
    return removed, pl.concat(found)
