"""Correction lists: the open failures of one source system as a CSV the people who fix the source can open.

UTF-8 with a byte-order mark so Excel reads ä and ö. A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab
or carriage return), also after leading spaces or in full-width forms (``＝``), is prefixed with ``'`` so a
spreadsheet shows it as text instead of running it as a formula; so is such a start after a comma, semicolon or tab
inside a value, because a spreadsheet whose list separator is a comma splits there whatever the quoting. Every field
is quoted.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.files import atomic_write_bytes
from pipelines.formats import neutralised_expr

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
    message = pl.coalesce(pl.col("message_fi"), pl.col("message")) if language == "fi" else pl.col("message")
    cells = (
        pl.col("source_file"),
        pl.col("source_line"),
        pl.col("record_key"),
        pl.coalesce(pl.col("source_header"), pl.col("column")),
        pl.col("rule_id"),
        message,
        pl.col("masked_value"),
        pl.col("status").replace_strict(STATUS_WORDS[language]),
        pl.col("first_seen_on"),
    )
    table = rows.select(  # (an empty cell quoted, as every other)
        neutralised_expr(cell).fill_null("").alias(header) for cell, header in zip(cells, HEADERS[language])
    )
    text = table.write_csv(separator=";", line_terminator="\r\n", quote_style="always")
    return text.encode("utf-8-sig")


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
