"""Write a landing folder the way a student-administration system exports it.

``<out>/student_admin/<as-of>/*.csv`` with the contract's Finnish headers, ``;``, CRLF,
``d.m.yyyy`` dates and decimal commas; ``<out>/truth/student_admin/<as-of>/defects.csv``
lists every injected defect with the file and line where it stands.
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.demo_data.defects import DEFECT, DEFECTS, inject
from pipelines.demo_data.snapshots import known_on, month_ends_before, with_recording_dates
from pipelines.demo_data.world import build_world
from schemas import student_admin
from schemas.metadata import LINE

#: file → how it is encoded, as seen at real providers
ENCODINGS = {"opiskelijat.csv": "utf-8-sig", "tyopaikkajaksot.csv": "cp1252"}
TRUTH_COLUMNS = ["source_file", LINE, "defect_class", "rule_id", "severity"]


def _csv_bytes(frame: pl.DataFrame, table) -> bytes:
    out = frame.select(c.name for c in table.columns).rename({c.name: c.source_header for c in table.columns})
    buf = io.BytesIO()
    out.write_csv(buf, separator=";", line_terminator="\r\n", quote_style="necessary", date_format="%-d.%-m.%Y",
                  decimal_comma=True, null_value="")
    return buf.getvalue()


def _lines(frame: pl.DataFrame, table) -> pl.Series:
    """Physical line of each row: 1 header line, plus newlines inside earlier quoted fields."""
    inside = pl.sum_horizontal([pl.col(c.name).cast(pl.Utf8).str.count_matches("\n").fill_null(0)
                                for c in table.columns if c.dtype == pl.Utf8] + [pl.int_range(pl.len()) * 0])
    return frame.select((pl.int_range(pl.len()) + 2 + inside.cum_sum() - inside).alias(LINE)).to_series()


def _quoting_examples(units: pl.DataFrame) -> pl.DataFrame:
    """Legitimate CSV quoting the reader must handle: ';', '"' and a newline inside a field."""
    names = units["unit_name"].to_list()
    for i, text in ((1, 'Ammattitaidon "näyttö"; osa 1'), (3, "Asiakaspalvelu\nja myynti")):
        if i < len(names):
            names[i] = text
    return units.with_columns(pl.Series("unit_name", names))


#: sizes whose landing folder also gets the monthly export history (the backtest needs it)
WITH_HISTORY = {"small", "medium"}


def generate(size: str, seed: int, out: Path, as_of: dt.date, history: bool | None = None) -> Path:
    """Generate the export of ``as_of`` (and, with ``history``, one per earlier month end); returns the newest folder."""
    world = build_world(size, seed, as_of)
    world.tables["assessed_units"] = _quoting_examples(world.tables["assessed_units"])
    if (size in WITH_HISTORY) if history is None else history:
        tables = {**world.tables, "status_periods": with_recording_dates(np.random.default_rng(seed + 2),
                                                                         world.tables["status_periods"])}
        for day in month_ends_before(as_of):
            write_export(inject(np.random.default_rng([seed, day.toordinal()]), known_on(tables, day), day), out, day)
    return write_export(inject(np.random.default_rng(seed + 1), world.tables, as_of), out, as_of)


def write_export(tables: dict[str, pl.DataFrame], out: Path, as_of: dt.date) -> Path:
    """Write one export folder with its defects, and the truth about them beside it."""
    folder = out / "student_admin" / as_of.isoformat()
    truth_folder = out / "truth" / "student_admin" / as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    truth_folder.mkdir(parents=True, exist_ok=True)
    truth = []
    for table in student_admin.TABLES:
        frame = tables[table.name]
        if DEFECT not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Utf8).alias(DEFECT))
        data = _csv_bytes(frame, table)
        lines = _lines(frame, table)
        defects = frame.with_columns(lines).filter(pl.col(DEFECT).is_not_null())
        truth += [{"source_file": table.source_file, LINE: line, "defect_class": d, "rule_id": DEFECTS[d].rule,
                   "severity": DEFECTS[d].severity} for line, d in zip(defects[LINE], defects[DEFECT])]
        if table.name == "assessed_units":  # a truncated export: the last line stops mid-row
            last = frame.row(0, named=True)
            data += f"{last['study_right_id']};{last['unit_code']};{last['unit_name'][:4]}".encode()
            truth.append({"source_file": table.source_file, LINE: int(lines[-1]) + 1 if len(lines) else 2,
                          "defect_class": "truncated_last_line", "rule_id": DEFECTS["truncated_last_line"].rule,
                          "severity": "error"})
        encoding = ENCODINGS.get(table.source_file, "utf-8")
        if encoding != "utf-8":
            data = data.decode("utf-8").encode(encoding)
        (folder / table.source_file).write_bytes(data)
    pl.DataFrame(truth, schema={"source_file": pl.Utf8, LINE: pl.Int64, "defect_class": pl.Utf8, "rule_id": pl.Utf8,
                                "severity": pl.Utf8}).sort("source_file", LINE).write_csv(truth_folder / "defects.csv")
    return folder
