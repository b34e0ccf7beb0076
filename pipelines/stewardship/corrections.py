"""Correction lists: the open failures of one source system as a CSV the people who fix the source can open.

UTF-8 with a byte-order mark so Excel reads ä and ö; a cell that starts with ``=``, ``+``,
``-``, ``@`` (or a tab or carriage return) is prefixed with ``'`` so a spreadsheet shows it
as text instead of running it as a formula.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from pipelines.publishing.warehouse import atomic_write_bytes

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HEADERS = {
    "fi": ["Tiedosto", "Rivi", "Tietue", "Sarake", "Sääntö", "Kuvaus", "Arvo (peitetty)", "Tila", "Ensin havaittu"],
    "en": ["File", "Line", "Record", "Column", "Rule", "Description", "Value (masked)", "Status", "First seen"],
}


def neutralised(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def correction_list(history: pl.DataFrame, system: str, run_id: str, language: str = "fi") -> bytes:
    rows = history.filter((pl.col("source_system") == system) & (pl.col("last_seen_run") == run_id)
                          & pl.col("status").is_in(["new", "open"])).sort("source_file", "source_line", "rule_id")
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS[language])
    for r in rows.iter_rows(named=True):
        writer.writerow([neutralised(v) for v in (r["source_file"], r["source_line"], r["record_key"],
                                                   r["source_header"] or r["column"], r["rule_id"], r["message"],
                                                   r["masked_value"], r["status"], r["first_seen_on"])])
    return buf.getvalue().encode("utf-8-sig")


def write_correction_lists(history: pl.DataFrame, systems: list[str], run_id: str, folder: Path) -> dict[str, str]:
    """``corrections_<system>.csv`` per source system; returns system → file name."""
    names = {}
    for system in systems:
        names[system] = f"corrections_{system}.csv"
        atomic_write_bytes(folder / names[system], correction_list(history, system, run_id))
    return names
