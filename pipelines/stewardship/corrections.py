"""Correction lists: the open failures of one source system as a CSV the people who fix the source can open.

UTF-8 with a byte-order mark so Excel reads ä and ö. A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab
or carriage return), also after leading spaces or in full-width forms (``＝``), is prefixed with ``'`` so a
spreadsheet shows it as text instead of running it as a formula; so is such a start after a comma, semicolon or tab
inside a value, because a spreadsheet whose list separator is a comma splits there whatever the quoting. Every field
is quoted.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from pipelines.files import atomic_write_bytes
from pipelines.formats import neutralised

HEADERS = {
    "fi": ["Tiedosto", "Rivi", "Tietue", "Sarake", "Sääntö", "Kuvaus", "Arvo (peitetty)", "Tila", "Ensin havaittu"],
    "en": ["File", "Line", "Record", "Column", "Rule", "Description", "Value (masked)", "Status", "First seen"],
}
#: a failure's status in a steward's language
STATUS_WORDS = {
    "fi": {"new": "uusi", "open": "avoin", "waived": "poikkeusluvalla", "resolved": "korjattu"},
    "en": {"new": "new", "open": "open", "waived": "waived", "resolved": "resolved"},
}


def correction_list(history: pl.DataFrame, system: str, run_id: str, language: str = "fi") -> bytes:
    rows = history.filter(
        (pl.col("source_system") == system)
        & (pl.col("last_seen_run") == run_id)
        & pl.col("status").is_in(["new", "open"])
    ).sort("source_file", "source_line", "rule_id")
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(HEADERS[language])
    for r in rows.iter_rows(named=True):
        message = (r["message_fi"] or r["message"]) if language == "fi" else r["message"]
        writer.writerow(
            [
                neutralised(v)
                for v in (
                    r["source_file"],
                    r["source_line"],
                    r["record_key"],
                    r["source_header"] or r["column"],
                    r["rule_id"],
                    message,
                    r["masked_value"],
                    STATUS_WORDS[language][r["status"]],
                    r["first_seen_on"],
                )
            ]
        )
    return buf.getvalue().encode("utf-8-sig")


def write_correction_lists(
    history: pl.DataFrame, systems: list[str], run_id: str, folder: Path
) -> dict[str, dict[str, str]]:
    """``corrections_<system>.csv`` (Finnish) and ``corrections_<system>.en.csv`` per source system; returns
    system → language → file name."""
    names = {}
    for system in systems:
        names[system] = {"fi": f"corrections_{system}.csv", "en": f"corrections_{system}.en.csv"}
        for language, name in names[system].items():
            atomic_write_bytes(folder / name, correction_list(history, system, run_id, language), private=True)
    return names
