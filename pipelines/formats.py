"""Numbers and dates as a reader of each language writes them: ``96,0`` and ``20.11.2026`` on a Finnish page; and a
CSV cell as a spreadsheet must read it (text, never a formula)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata


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


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: a formula start (ASCII or full-width) after a list separator or a line break and spaces, inside a value
INNER_FORMULA = re.compile(r"([,;\t\r\n]\s*)(?=[=+\-@＝＋－＠])")


def neutralised(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula: ``'`` before a formula start (``=``, ``+``,
    ``-``, ``@``, a tab or carriage return; after spaces or full width too), and after a list separator inside it."""
    text = "" if value is None else str(value)
    if INNER_FORMULA.search(text):
        text = INNER_FORMULA.sub(r"\1'", text)
    first = text.lstrip(" \u00a0\u3000")[:1]  # (the first character after spaces, as a spreadsheet reads it:
    if text.startswith(FORMULA_START) or unicodedata.normalize("NFKC", first).startswith(FORMULA_START):  # ＝ is =)
        return "'" + text
    return text
