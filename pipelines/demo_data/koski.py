"""KOSKI's student-year report of the demo provider, written the way KOSKI writes it, with known differences.

KOSKI counts what was transferred to it: the demo's KOSKI file is our own calculation on the export of the
same day for every study right that has an OID, with three differences injected (one figure changed, one row
only in KOSKI, one of ours left out) and a few rows without KOSKI's source-system id (matched on the OID
instead). Half of the rows hold typed cells, half text as a file saved again by hand would. The truth of every
difference a reconciliation must find is written to ``truth/koski/<date>/differences.csv``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
from openpyxl import Workbook

from pipelines.ingestion.landing import Landing
from pipelines.marts.student_year_history import history_from_folder
from pipelines.marts.student_years import month_end, per_study_right
from schemas.koski_report import KOSKI_FILE

#: the demo provider's oppilaitos (a made-up organisation OID)
OPPILAITOS = "1.2.246.562.10.99999999901"
#: the figure the demo changes in KOSKI's copy, and by how much
CHANGED = ("student_year_days_old", 3.0)


def _period(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """From 1 January to the last month end before the as-of date (the year so far)."""
    last = month_end(as_of.replace(day=1) - dt.timedelta(days=1))
    return dt.date(last.year, 1, 1), last


def _koski_rows(landing: Path, folder: Path, first: dt.date, last: dt.date) -> pl.DataFrame:
    history, _ = history_from_folder(Landing.at(landing), folder)
    ours = per_study_right(history, first, last)
    students = pl.read_csv(folder / "opiskelijat.csv", separator=";", infer_schema=False, encoding="utf8-lossy")
    rights = pl.read_csv(folder / "opiskeluoikeudet.csv", separator=";", infer_schema=False, encoding="utf8-lossy")
    people = (
        rights.select(
            pl.col("Opiskeluoikeus").alias("study_right_id"),
            "Opiskelijanumero",
            pl.col("Suorituksen tyyppi").alias("study_right_type"),
        )
        .join(
            students.select(
                "Opiskelijanumero",
                pl.col("Oppijanumero").alias("learner_oid"),
                pl.col("Henkilötunnus").alias("hetu"),
                pl.col("Sukunimi").str.strip_chars().alias("last_name"),
                pl.col("Etunimet").str.strip_chars().alias("first_names"),
            ).unique("Opiskelijanumero"),
            on="Opiskelijanumero",
            how="left",
        )
        .unique("study_right_id")
    )
    return ours.join(people, on="study_right_id", how="left").with_columns(pl.lit("primus").alias("source_system_code"))


def write_koski_report(landing: Path, folder: Path, as_of: dt.date, seed: int) -> Path:
    """Write ``landing/koski/<as-of>/opiskelijavuositiedot_*.xlsx`` for the export in ``folder``, and its truth."""
    rng = np.random.default_rng([seed, 7])
    first, last = _period(as_of)
    ours = _koski_rows(landing, folder, first, last)
    in_koski = ours.filter(pl.col("study_right_oid").is_not_null())
    never_sent = ours.filter(pl.col("study_right_oid").is_null())
    order = rng.permutation(in_koski.height)
    changed_row, dropped_row, no_id_rows = int(order[0]), int(order[1]), [int(i) for i in order[2:5]]
    column, delta = CHANGED
    koski = in_koski.with_row_index("__i").with_columns(
        pl.when(pl.col("__i") == changed_row).then(pl.col(column) + delta).otherwise(pl.col(column)).alias(column),
        pl.when(pl.col("__i").is_in(no_id_rows)).then(None).otherwise(pl.col("study_right_id")).alias("study_right_id"),
    )
    extra = koski.filter(pl.col("__i") == changed_row).with_columns(
        pl.lit("1.2.246.562.15.99999999901").alias("study_right_oid"),
        pl.lit("OO-999999-1").alias("study_right_id"),
        pl.col(column) - delta,
    )
    koski = pl.concat([koski.filter(pl.col("__i") != dropped_row), extra]).drop("__i")
    _write_workbook(
        koski,
        landing / "koski" / as_of.isoformat() / f"opiskelijavuositiedot_{OPPILAITOS}_{first:%Y%m%d}-{last:%Y%m%d}.xlsx",
    )

    truth = pl.concat(
        [
            in_koski[changed_row].select(
                pl.lit("figure_differs").alias("kind"), "study_right_id", pl.lit(column).alias("column")
            ),
            extra.select(
                pl.lit("only_in_koski").alias("kind"), "study_right_id", pl.lit(None, pl.Utf8).alias("column")
            ),
            in_koski[dropped_row].select(
                pl.lit("only_ours").alias("kind"), "study_right_id", pl.lit(None, pl.Utf8).alias("column")
            ),
            never_sent.select(
                pl.lit("only_ours").alias("kind"), "study_right_id", pl.lit(None, pl.Utf8).alias("column")
            ),
        ]
    )
    out = landing / "truth" / "koski" / as_of.isoformat()
    out.mkdir(parents=True, exist_ok=True)
    truth.sort(pl.all(), nulls_last=True).write_csv(out / "differences.csv")
    return out


def _cell_as_text(value):
    """A cell as KOSKI's Finnish text: d.m.yyyy, decimal comma, kyllä/ei."""
    if isinstance(value, bool):
        return "kyllä" if value else "ei"
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else repr(round(value, 6))).replace(".", ",")
    if isinstance(value, dt.date):
        return f"{value.day}.{value.month}.{value.year}"
    return value


def _write_workbook(rows: pl.DataFrame, path: Path) -> None:
    """A documentation sheet first (as KOSKI adds one), then the data sheet; every other row written as text."""
    workbook = Workbook()
    workbook.active.title = "Dokumentaatio"
    workbook.active.append(["Opiskelijavuositiedot (ammatillinen koulutus)"])
    sheet = workbook.create_sheet("Opiskelijavuositiedot")
    columns = [c for c in KOSKI_FILE.columns if c.name in rows.columns]
    sheet.append([c.source_header for c in columns])
    for i, row in enumerate(rows.select(c.name for c in columns).iter_rows()):
        sheet.append([_cell_as_text(v) for v in row] if i % 2 else list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
