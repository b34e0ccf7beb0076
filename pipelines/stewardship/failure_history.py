"""Failure history: every failure by its stable id, when it was first and last seen, and its status.

Status: ``new`` (first seen in this run, or back after being resolved), ``open`` (seen
before and still failing), ``waived`` (failing, but a steward's waiver lets it be published),
``resolved`` (gone from the newest export of a file that was read). A file that could not be
read resolves nothing: its failures keep their status until it is read again.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pipelines.files import write_parquet
from pipelines.validation import WAIVED
from schemas.stewardship import FAILURE_DETAIL, FAILURE_HISTORY, FAILURE_RUNS

DETAIL = [c.name for c in FAILURE_DETAIL]
HISTORY_SCHEMA = FAILURE_HISTORY.schema
RUNS_SCHEMA = FAILURE_RUNS.schema


def history_path(root: Path) -> Path:
    return root / "stewardship" / "failure_history.parquet"


def runs_path(root: Path) -> Path:
    return root / "stewardship" / "runs.parquet"


def _read(path: Path, schema: dict) -> pl.DataFrame:
    """The file in today's schema (a column an older release did not write is empty)."""
    if not path.exists():
        return pl.DataFrame(schema=schema)
    frame = pl.read_parquet(path)
    return frame.with_columns(pl.lit(None, t).alias(c) for c, t in schema.items() if c not in frame.columns).select(
        pl.col(c).cast(t) for c, t in schema.items()
    )


def current_failures(quarantine: pl.DataFrame) -> pl.DataFrame:
    """One row per failure id of this run (the first line it stands on), with how many rows carry it."""
    return (
        quarantine.sort("source_line")
        .group_by("failure_id", maintain_order=True)
        .agg(*(pl.col(c).first() for c in DETAIL), pl.len().cast(pl.Int64).alias("occurrences"))
    )


def update_history(
    previous: pl.DataFrame, quarantine: pl.DataFrame, read_tables: set[str], run_id: str, as_of: dt.date
) -> pl.DataFrame:
    now = current_failures(quarantine)
    old = previous.select("failure_id", pl.col("status").alias("old_status"), "first_seen_run", "first_seen_on")
    fresh = pl.col("old_status").is_null() | (pl.col("old_status") == "resolved")  # never seen, or back again
    seen = (
        now.join(old, on="failure_id", how="left")
        .with_columns(
            pl.when(pl.col("severity") == WAIVED)
            .then(pl.lit(WAIVED))
            .when(fresh)
            .then(pl.lit("new"))
            .otherwise(pl.lit("open"))
            .alias("status"),
            pl.when(fresh).then(pl.lit(run_id)).otherwise(pl.col("first_seen_run")).alias("first_seen_run"),
            pl.when(fresh).then(pl.lit(as_of)).otherwise(pl.col("first_seen_on")).alias("first_seen_on"),
            pl.lit(run_id).alias("last_seen_run"),
            pl.lit(as_of).alias("last_seen_on"),
            pl.lit(None, pl.Utf8).alias("resolved_run"),
            pl.lit(None, pl.Date).alias("resolved_on"),
        )
        .drop("old_status")
    )
    gone = previous.join(now.select("failure_id"), on="failure_id", how="anti")
    fixed = pl.col("table").is_in(sorted(read_tables)) & (pl.col("status") != "resolved")
    gone = gone.with_columns(
        pl.when(fixed).then(pl.lit("resolved")).otherwise(pl.col("status")).alias("status"),
        pl.when(fixed).then(pl.lit(run_id)).otherwise(pl.col("resolved_run")).alias("resolved_run"),
        pl.when(fixed).then(pl.lit(as_of)).otherwise(pl.col("resolved_on")).alias("resolved_on"),
    )
    return (
        pl.concat([seen.select(list(HISTORY_SCHEMA)), gone.select(list(HISTORY_SCHEMA))])
        .cast(HISTORY_SCHEMA)
        .sort("source_system", "table", "rule_id", "source_line", "failure_id")
    )


def run_counts(history: pl.DataFrame, run_id: str, as_of: dt.date, recorded_at: dt.datetime) -> pl.DataFrame:
    """This run's rows per rule: failing now (waived ones not counted), new and resolved in it."""
    rows = pl.col("occurrences")
    return (
        history.group_by("source_system", "table", "rule_id")
        .agg(
            rows.filter((pl.col("last_seen_run") == run_id) & (pl.col("status") != WAIVED))
            .sum()
            .cast(pl.Int64)
            .alias("failing"),
            rows.filter((pl.col("first_seen_run") == run_id) & (pl.col("status") == "new"))
            .sum()
            .cast(pl.Int64)
            .alias("new"),
            rows.filter(pl.col("resolved_run") == run_id).sum().cast(pl.Int64).alias("resolved"),
        )
        .with_columns(
            pl.lit(run_id).alias("run_id"),
            pl.lit(as_of).alias("as_of"),
            pl.lit(recorded_at).cast(RUNS_SCHEMA["recorded_at"]).alias("recorded_at"),
        )
        .select(list(RUNS_SCHEMA))
    )


#: what a resolved failure stops holding once its retention period is over: the values that name someone
RETAINED_ONLY_WHILE_NEEDED = ("masked_value", "record_key", "person_key")


def expire_resolved(history: pl.DataFrame, as_of: dt.date, retention_days: int) -> pl.DataFrame:
    """Failures resolved more than ``retention_days`` before ``as_of`` keep their counts, rule, file and dates but
    no longer the (masked) value, the record key or the person's pseudonym: nothing is needed to fix them."""
    expired = (pl.col("status") == "resolved") & (pl.col("resolved_on") < as_of - dt.timedelta(days=retention_days))
    return history.with_columns(
        pl.when(expired).then(None).otherwise(pl.col(c)).alias(c) for c in RETAINED_ONLY_WHILE_NEEDED
    )


def record_run(
    root: Path,
    quarantine: pl.DataFrame,
    read_tables: set[str],
    run_id: str,
    as_of: dt.date,
    recorded_at: dt.datetime,
    retention_days: int,
    restart: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Update and write the history and the per-run counts; returns both. ``restart``: a run with a new pseudonym
    key starts the history afresh (its failure and person keys were made with the old key, which nobody is meant to
    hold any more, so ``forget`` could no longer find a person in it); the per-run counts name no one and stay."""
    previous = pl.DataFrame(schema=HISTORY_SCHEMA) if restart else _read(history_path(root), HISTORY_SCHEMA)
    history = update_history(previous, quarantine, read_tables, run_id, as_of)
    history = expire_resolved(history, as_of, retention_days)
    runs = pl.concat(
        [
            _read(runs_path(root), RUNS_SCHEMA).filter(pl.col("run_id") != run_id),
            run_counts(history, run_id, as_of, recorded_at),
        ]
    )
    write_parquet(history, history_path(root), private=True)
    write_parquet(runs, runs_path(root), private=True)
    return history, runs
