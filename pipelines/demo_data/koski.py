"""KOSKI's student-year reports of the demo provider, written the way KOSKI writes them, with known differences.

The demo provider has two oppilaitokset (its campuses split between them), so it downloads one report each, for
the year so far: as KOSKI writes them today, encrypted with the demo's KOSKI password, the data sheet
``Opiskeluoikeudet`` and the instructions sheet ``Ohjeet``, every column of today's file in today's order, cells
typed as KOSKI types them (booleans 1/0 shown as kyllä/ei, dates, numbers). Beside them lies a report of an earlier
period in the layout KOSKI wrote before October 2025, as a person saved it again: not encrypted, half its cells
text, a ``Yhteensä`` totals row under the data.

KOSKI counts what was transferred to it: each report is our own calculation on the export of the same day for the
study rights of its oppilaitos that have an OID (annulled and TUVA study rights are in no such report), with three
differences injected (one figure changed, one row only in KOSKI, one of ours left out) and a few rows without
KOSKI's source-system id (matched on the OID instead). The truth of every difference a reconciliation must find is
written to ``truth/koski/<date>/differences.csv``.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import polars as pl
from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl import Workbook

from pipelines.demo_data.world import CAMPUSES
from pipelines.ingestion.landing import Landing
from pipelines.ingestion.secrets import DEMO_PASSWORD
from pipelines.marts.student_year_history import history_from_folder
from pipelines.marts.student_years import month_end, per_study_right
from schemas.koski_report import KOSKI_FILE, KOSKI_HEADERS

#: the demo provider's oppilaitokset (made-up organisation OIDs) and the campuses of each
OPPILAITOKSET = {
    "1.2.246.562.10.99999999901": tuple(c for c in CAMPUSES if c not in ("Haminan kampus", "Mikkelin kampus")),
    "1.2.246.562.10.99999999902": ("Haminan kampus", "Mikkelin kampus"),
}
#: the figure the demo changes in KOSKI's copy, and by how much
CHANGED = ("student_year_days_old", 3.0)
#: KOSKI's headers before October 2025 (its file of the earlier period): two funding flags after Rahoitukset, no
#: Oppijan master-oid, the old formula under its old name and no current formula
OLD_NAMES = {"Opiskelijavuosikertymä (pv) - vanha laskentakaava (ennen v. 2026)": "Opiskelijavuosikertymä (pv)"}
HEADERS_2025 = tuple(
    OLD_NAMES.get(h, h)
    for h in KOSKI_HEADERS[:25] + ("Läsnä rahoitus syötetty", "Loma/valmistunut rahoitus syötetty") + KOSKI_HEADERS[25:]
    if h not in ("Oppijan master-oid", "Opiskelijavuosikertymä (pv) - nykyinen laskentakaava (1.7.2023 alkaen)")
)
_BY_HEADER = {c.source_header: c.name for c in KOSKI_FILE.columns} | {
    "Opiskelijavuosikertymä (pv)": "student_year_days_old"
}
_BOOLEAN = '"kyllä";;"ei";'


def _period(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """From 1 January to the last month end before the as-of date (the year so far)."""
    last = month_end(as_of.replace(day=1) - dt.timedelta(days=1))
    return dt.date(last.year, 1, 1), last


def _koski_rows(landing: Path, folder: Path, first: dt.date, last: dt.date) -> pl.DataFrame:
    history, _ = history_from_folder(Landing.at(landing), folder)
    ours = per_study_right(history, first, last)
    students = pl.read_csv(folder / "opiskelijat.csv", separator=";", infer_schema=False, encoding="utf8-lossy")
    rights = pl.read_csv(folder / "opiskeluoikeudet.csv", separator=";", infer_schema=False, encoding="utf8-lossy")
    campus_of = {c: oid for oid, campuses in OPPILAITOKSET.items() for c in campuses}
    people = (
        rights.select(
            pl.col("Opiskeluoikeus").alias("study_right_id"),
            "Opiskelijanumero",
            pl.col("Suorituksen tyyppi").alias("study_right_type"),
            pl.col("Toimipiste").str.strip_chars().replace_strict(campus_of, default=None).alias("oppilaitos"),
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


def _planted(rows: pl.DataFrame, rng: np.random.Generator, extra_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """KOSKI's copy of ``rows`` with the three differences planted, and their truth (kind, study_right_id, column)."""
    in_koski = rows.filter(pl.col("study_right_oid").is_not_null())
    never_sent = rows.filter(pl.col("study_right_oid").is_null())
    order = rng.permutation(in_koski.height)
    changed_row, dropped_row, no_id_rows = int(order[0]), int(order[1]), [int(i) for i in order[2:5]]
    column, delta = CHANGED
    koski = in_koski.with_row_index("__i").with_columns(
        pl.when(pl.col("__i") == changed_row).then(pl.col(column) + delta).otherwise(pl.col(column)).alias(column),
        pl.when(pl.col("__i").is_in(no_id_rows)).then(None).otherwise(pl.col("study_right_id")).alias("study_right_id"),
    )
    extra = koski.filter(pl.col("__i") == changed_row).with_columns(
        pl.lit(f"1.2.246.562.15.{extra_id}").alias("study_right_oid"),
        pl.lit(f"OO-{extra_id}").alias("study_right_id"),
        pl.col(column) - delta,
    )
    koski = pl.concat([koski.filter(pl.col("__i") != dropped_row), extra]).drop("__i")

    def kinds(frame: pl.DataFrame, kind: str, col: str | None = None) -> pl.DataFrame:
        return frame.select(pl.lit(kind).alias("kind"), "study_right_id", pl.lit(col, pl.Utf8).alias("column"))

    truth = pl.concat(
        [
            kinds(in_koski[changed_row], "figure_differs", column),
            kinds(extra, "only_in_koski"),
            kinds(in_koski[dropped_row], "only_ours"),
            kinds(never_sent, "only_ours"),
        ]
    )
    return koski, truth


def write_koski_report(landing: Path, folder: Path, as_of: dt.date, seed: int) -> Path:
    """Write ``landing/koski/<as-of>/opiskelijavuositiedot_*.xlsx`` for the export in ``folder``, and its truth."""
    rng = np.random.default_rng([seed, 7])
    out = landing / "koski" / as_of.isoformat()
    truths = []
    first, last = _period(as_of)
    this_year = _koski_rows(landing, folder, first, last)
    for n, oid in enumerate(OPPILAITOKSET, start=1):
        koski, truth = _planted(this_year.filter(pl.col("oppilaitos") == oid), rng, f"9999999990{n}")
        name = f"opiskelijavuositiedot_{oid}_{first:%Y%m%d}-{last:%Y%m%d}.xlsx"
        _save(_workbook(koski, KOSKI_HEADERS, oid, first, last), out / name, DEMO_PASSWORD)
        truths.append(truth.with_columns(pl.lit(name).alias("file")))
    # an earlier period in the layout before October 2025, saved again by a person (plain, text cells, a total)
    oid = next(iter(OPPILAITOKSET))
    first, last = dt.date(as_of.year - 1, 1, 1), dt.date(as_of.year - 1, 8, 31)
    earlier = _koski_rows(landing, folder, first, last).filter(pl.col("oppilaitos") == oid)
    koski, truth = _planted(earlier, rng, "99999999909")
    name = f"opiskelijavuositiedot_{oid}_{first:%Y%m%d}-{last:%Y%m%d}.xlsx"
    _save(_workbook(koski, HEADERS_2025, oid, first, last, resaved=True), out / name, None)
    truths.append(truth.with_columns(pl.lit(name).alias("file")))

    truth_folder = landing / "truth" / "koski" / as_of.isoformat()
    truth_folder.mkdir(parents=True, exist_ok=True)
    pl.concat(truths).sort(pl.all(), nulls_last=True).write_csv(truth_folder / "differences.csv")
    return truth_folder


def _cell_as_text(value):
    """A cell as a person's Excel shows KOSKI's: d.m.yyyy, decimal comma, kyllä/ei."""
    if isinstance(value, bool):
        return "kyllä" if value else "ei"
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else repr(round(value, 6))).replace(".", ",")
    if isinstance(value, dt.date):
        return f"{value.day}.{value.month}.{value.year}"
    return value


def _workbook(
    rows: pl.DataFrame,
    headers: tuple[str, ...],
    oid: str,
    first: dt.date,
    last: dt.date,
    resaved: bool = False,
) -> Workbook:
    """The data sheet, then KOSKI's instructions sheet. KOSKI's cells are typed: a boolean is the number 1 or 0
    shown as kyllä/ei, a date a date, a figure a number; a person's copy has every other row as text and a total."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Opiskeluoikeudet"
    sheet.append(list(headers))
    columns = [_BY_HEADER.get(h) for h in headers]
    for i, row in enumerate(rows.iter_rows(named=True)):
        values = [row.get(c) if c else None for c in columns]
        if resaved and i % 2:
            sheet.append([_cell_as_text(v) for v in values])
            continue
        sheet.append([int(v) if isinstance(v, bool) else v for v in values])
        for cell, value in zip(sheet[sheet.max_row], values):
            if isinstance(value, bool):
                cell.number_format = _BOOLEAN
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-MM-dd"
            elif isinstance(value, float) and value:
                cell.number_format = "#.0"
    if resaved:
        days = headers.index("Opiskelijavuosikertymä (pv)")
        total = [None] * len(headers)
        total[0], total[days] = "Yhteensä", float(rows["student_year_days_old"].sum())
        sheet.append(total)
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("Ohjeet")
    notes["A1"] = (
        "Opiskelijavuositiedot\n"
        f"Oppilaitoksen oid-tunniste: {oid}\n"
        f"Aikajakso: {first:%d.%m.%Y} - {last:%d.%m.%Y}\n\n"
        "Raportti sisältää ammatillisen koulutuksen opiskeluoikeudet, joilla on päiviä aikajaksolla."
    )
    return book


def _save(book: Workbook, path: Path, password: str | None) -> None:
    """Save the workbook; with a password encrypted as KOSKI does (Office agile encryption, an OLE2 file)."""
    plain = io.BytesIO()
    book.save(plain)
    path.parent.mkdir(parents=True, exist_ok=True)
    if password is None:
        path.write_bytes(plain.getvalue())
        return
    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(plain.getvalue())).encrypt(password, encrypted)
    path.write_bytes(encrypted.getvalue())
