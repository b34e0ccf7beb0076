"""The per-study-right student-year report data engineers reconcile against KOSKI."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl

from pipelines.marts.student_years import MEASURES, StudyRightHistory, per_study_right


def _decimal(column: str) -> pl.Expr:
    """31.0 → '31', 15.5 → '15.5'; null stays empty."""
    return pl.col(column).round(6).cast(pl.Utf8).str.replace(r"\.0+$", "").str.replace(r"(\.\d*?)0+$", "$1")


def write_report(history: StudyRightHistory, first: dt.date, last: dt.date, out: Path) -> int:
    """Write the report (columns fixed by the KOSKI reconciliation) atomically; returns its row count."""
    rows = per_study_right(history, first, last)
    text = rows.with_columns(_decimal(m) for m in MEASURES)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    text.write_csv(partial, null_value="")
    os.replace(partial, out)
    return rows.height
