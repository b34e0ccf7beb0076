"""The per-study-right student-year report data engineers reconcile against KOSKI (``tiedolla student-years``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pipelines.files import atomic_write
from pipelines.formats import neutralised_expr
from pipelines.marts.student_years import StudyRightHistory, per_study_right
from schemas.koski_report import STUDENT_YEAR_REPORT

#: ``ours``: our column names, decimals with a dot; ``koski``: KOSKI's headers, decimal comma, dates d.m.yyyy,
#: kyllä/ei, ``;`` between fields (as KOSKI's Excel file reads when saved as CSV)
FORMATS = ("ours", "koski")


def _decimal(column: str) -> pl.Expr:
    """31.0 → '31', 15.5 → '15.5'; null stays empty."""
    return pl.col(column).round(6).cast(pl.Utf8).str.replace(r"\.0+$", "").str.replace(r"(\.\d*?)0+$", "$1")


def as_text(rows: pl.DataFrame, form: str = "ours") -> pl.DataFrame:
    """The report's rows as the text of its CSV in ``form``."""
    text = []
    for c in STUDENT_YEAR_REPORT.columns:
        if c.dtype == pl.Float64:
            value = _decimal(c.name)
            text.append(value.str.replace(".", ",", literal=True) if form == "koski" else value)
        elif c.dtype == pl.Boolean and form == "koski":
            text.append(pl.col(c.name).replace_strict({True: "kyllä", False: "ei"}, return_dtype=pl.Utf8))
        elif c.dtype == pl.Date and form == "koski":
            text.append(pl.col(c.name).dt.strftime("%-d.%-m.%Y"))
        else:
            text.append(pl.col(c.name).cast(pl.Utf8))
    frame = rows.select(e.alias(c.name) for e, c in zip(text, STUDENT_YEAR_REPORT.columns))
    if form == "koski":
        frame = frame.rename({c.name: c.source_header for c in STUDENT_YEAR_REPORT.columns})
    return frame


def _write_csv(frame: pl.DataFrame, out: Path, separator: str) -> None:
    """Atomically, the owner's only (study-right ids are source ids); a text cell that a spreadsheet would run as a
    formula (an id typed ``=HYPERLINK(…)`` in the source) is written as text."""
    texts = [c for c, t in frame.schema.items() if t == pl.Utf8]
    frame = frame.with_columns(neutralised_expr(pl.col(c)) for c in texts)
    atomic_write(out, lambda tmp: frame.write_csv(tmp, null_value="", separator=separator), private=True)


def write_report(history: StudyRightHistory, first: dt.date, last: dt.date, out: Path, form: str = "ours") -> int:
    """Write the report (KOSKI's columns in KOSKI's order) atomically; returns its row count."""
    rows = per_study_right(history, first, last)
    _write_csv(as_text(rows, form), out, ";" if form == "koski" else ",")
    return rows.height


def write_held_back(held: pl.DataFrame, out: Path) -> None:
    """The study rights left out of the report because their figures are unknown, with the rules that say why."""
    _write_csv(held.group_by("study_right_id", maintain_order=True).agg(pl.col("rule_id").str.join(" ")), out, ",")
