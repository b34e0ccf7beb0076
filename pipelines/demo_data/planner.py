"""The intake plan as a provider's planner makes it: before the year, from last year, with a growth assumption.

On 1 December the planner takes the year's starters so far by month and study-right type (December from the year
before, not yet known), applies the growth the management has assumed, rounds, and adds the new groups already
decided (a surge group the world opens). Then the year happens, and a plan is wrong the way plans are: a whole
month's group starts a month later, a programme is cancelled, a group nobody planned starts. Those events are
written into the plan's difference from what the world really starts, and the truth file says which
(``truth/plans/<date>/plan_events.csv``): the world itself is not changed, so an event is made on the plan's side
(a cancelled programme is a planned group no one starts; an unplanned group is one taken out of the plan).
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: the growth a planner may assume for next year's intake
GROWTH_ASSUMPTIONS = (0.0, 0.02, 0.05)
#: the chance of each kind of plan error in a year, and a group's size (uniform, a share of last year's intake)
EVENT_CHANCE = {"moved": 0.5, "cancelled": 0.4, "unplanned": 0.4}
GROUP_SHARE = (0.02, 0.045)
SMALLEST_GROUP = 2
ROW_KEY = ["month", "study_right_type"]


def _round(n: float) -> int:
    """A planner's round figure: to 5 from 50 up, else whole students."""
    return int(5 * round(n / 5)) if n >= 50 else int(round(n))


def _starts(rights: pl.DataFrame, year: int) -> pl.DataFrame:
    return (
        rights.filter(pl.col("start_date").dt.year() == year)
        .group_by(pl.col("start_date").dt.month().cast(pl.Int64).alias("month"), "study_right_type")
        .agg(pl.len().alias("n"))
    )


def plan_year(
    rights: pl.DataFrame, year: int, rng: np.random.Generator, decided: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, list[dict]]:
    """(month, study_right_type, planned_starters) for ``year`` made on 1 December before it from ``rights`` (the
    world's study rights: ``start_date``, ``study_right_type``), and the events that make it differ from what starts.
    ``decided``: the study rights of new groups already decided (``start_date``, ``study_right_type``); those of the
    year are planned in full."""
    growth = float(rng.choice(GROWTH_ASSUMPTIONS))
    known = pl.concat(
        [
            _starts(rights, year - 1).filter(pl.col("month") < 12),
            _starts(rights, year - 2).filter(pl.col("month") == 12),
        ]
    )
    base = known.select(*ROW_KEY, (pl.col("n") * (1 + growth)).alias("planned"))
    if decided is not None:
        base = pl.concat([base, _starts(decided, year).select(*ROW_KEY, pl.col("n").cast(pl.Float64).alias("planned"))])
    plan = {(m, t): p for m, t, p in base.group_by(ROW_KEY).agg(pl.col("planned").sum()).iter_rows()}
    events = [{"event": "growth_assumed", "month": None, "study_right_type": None, "students": None,
               "note": f"last year's intake +{growth:.0%}"}]  # fmt: skip
    actual = {(m, t): n for m, t, n in _starts(rights, year).iter_rows()}
    intake = float(known["n"].sum())
    big = sorted((k for k, n in actual.items() if n >= SMALLEST_GROUP), key=lambda k: (-actual[k], k))
    for event, chance in EVENT_CHANCE.items():
        if rng.random() >= chance or not big:
            continue
        size = max(SMALLEST_GROUP, round(rng.uniform(*GROUP_SHARE) * intake))
        month, kind = big[int(rng.integers(0, min(len(big), 4)))]
        if event == "moved":  # the group started in ``month``; the plan had it a month earlier (January's: later)
            other = month + 1 if month == 1 else month - 1
            size = min(size, actual[(month, kind)], int(plan.get((month, kind), 0.0)))
            if not size:
                continue
            plan[(month, kind)] = plan[(month, kind)] - size
            plan[(other, kind)] = plan.get((other, kind), 0.0) + size
            note = f"planned for month {other}, started in month {month}"
        elif event == "cancelled":  # a new programme planned, and cancelled before it started
            plan[(month, kind)] = plan.get((month, kind), 0.0) + size
            note = "a planned programme that was cancelled: none of them started"
        else:  # a group that started without being in the plan
            size = min(size, int(plan.get((month, kind), 0.0)))
            if not size:
                continue
            plan[(month, kind)] = plan.get((month, kind), 0.0) - size
            note = "started without being in the plan"
        events.append({"event": event, "month": month, "study_right_type": kind, "students": size, "note": note})
    rows = pl.DataFrame(
        [{"month": m, "study_right_type": t, "planned_starters": _round(p)} for (m, t), p in plan.items()],
        schema={"month": pl.Int64, "study_right_type": pl.Utf8, "planned_starters": pl.Int64},
    )
    return rows.filter(pl.col("planned_starters") > 0).sort(ROW_KEY), events
