"""No figure on the dashboard describes 1–4 persons, nor can be worked back by subtraction.

The dashboard is for everyone the provider shows it to (docs/architecture/privacy.md: aggregates only). A figure
counted from fewer than ``SUPPRESS_BELOW_PERSONS`` persons is not shown; where a chart's figures add up to one the
page shows (the year's graduations, the year-end forecast), the smallest shown ones are hidden too until what is
hidden describes no one or at least that many persons (complementary suppression, as in the network's mart).
Persons of overlapping figures are added, so what is hidden is never fewer than counted.
"""

from __future__ import annotations

from schemas.codes import SUPPRESS_BELOW_PERSONS

#: what a row shows of its persons (a value and its interval)
FIGURES = ("value", "low", "high")
#: what the page shows in a suppressed figure's place
WORDS = "alle 5 hlö"


def is_small(persons: int | None) -> bool:
    return 0 < (persons or 0) < SUPPRESS_BELOW_PERSONS


def suppressed(rows: list[dict], adds_up: bool = True) -> list[dict]:
    """``rows`` (each with ``value`` and ``persons``) with ``suppressed`` set and a suppressed row's value gone."""
    rows = [{**r, "suppressed": is_small(r["persons"])} for r in rows]
    if adds_up:
        hidden = sum(r["persons"] or 0 for r in rows if r["suppressed"])
        for r in sorted((r for r in rows if not r["suppressed"]), key=lambda r: (r["persons"] or 0, str(r["label"]))):
            if not is_small(hidden):
                break
            r["suppressed"], hidden = True, hidden + (r["persons"] or 0)
    return [{**r, **{k: None for k in FIGURES if k in r}} if r["suppressed"] else r for r in rows]
