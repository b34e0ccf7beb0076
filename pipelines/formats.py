"""Numbers and dates as a reader of each language writes them: ``96,0`` and ``20.11.2026`` on a Finnish page; and a
CSV cell as a spreadsheet must read it (text, never a formula)."""

from __future__ import annotations

import datetime as dt

import polars as pl


def number(value, decimals: int = 0, language: str = "fi") -> str:
    """Finnish: a (no-break) space between thousands and a decimal comma; English: ``1,234.5``; '–' when unknown."""
    if value is None:
        return "–"
    value = round(value, decimals) + 0.0  # (a value that rounds to zero is 0, never "-0")
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u00a0").replace(".", ",") if language == "fi" else text


def day(value, language: str = "fi") -> str:
    """A date (or an ISO date's text) as ``20.11.2026`` in Finnish, ISO in English."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return f"{value.day}.{value.month}.{value.year}" if language == "fi" else value.isoformat()


#: a formula start: what a spreadsheet runs a cell beginning with (after spaces, or in full width: NFKC reads it so)
FORMULA_START = r"^[=+\-@\t\r]"
#: a formula start (ASCII or full-width) after a list separator or a line break and spaces, inside a value
INNER_FORMULA = r"([,;\t\r\n]\s*)([=+\-@＝＋－＠])"


def neutralised_expr(value: pl.Expr) -> pl.Expr:
    """Each cell as a spreadsheet shows it as text, never runs it as a formula: ``'`` before a formula start (``=``,
    ``+``, ``-``, ``@``, a tab or carriage return; after spaces or full width too), and after a list separator inside
    it; a null stays null. One vectorised pass over a column (a correction list has hundreds of thousands)."""
    text = value.cast(pl.Utf8).str.replace_all(INNER_FORMULA, "${1}'${2}")
    first = text.str.strip_chars_start(" \u00a0\u3000").str.slice(0, 1).str.normalize("NFKC")  # (＝ is =)
    quoted = text.str.replace("^", "'")  # (named as the column, as when/then names its result)
    return pl.when(first.str.contains(FORMULA_START)).then(quoted).otherwise(text)


def neutralised(value) -> str:
    """One cell, :func:`neutralised_expr`'s way."""
    return pl.select(neutralised_expr(pl.lit("" if value is None else str(value), dtype=pl.Utf8))).item()
