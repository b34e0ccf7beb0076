"""Numbers and dates as a reader of each language writes them: ``96,0`` and ``20.11.2026`` on a Finnish page."""

from __future__ import annotations

import datetime as dt


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
