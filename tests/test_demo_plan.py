"""The demo's intake plan is made as a planner makes it: before the year, from last year, and wrong as plans are."""

import datetime as dt

import numpy as np
import polars as pl

from pipelines.demo_data.planner import plan_year

YEAR = 2025
KIND = "ammatillinentutkinto"


def _rights(counts: dict[tuple[int, int], int]) -> pl.DataFrame:
    """Study rights starting on the 10th of (year, month), that many of each."""
    days = [dt.date(y, m, 10) for (y, m), n in counts.items() for _ in range(n)]
    return pl.DataFrame({"start_date": days, "study_right_type": KIND})


def _planner_round(n: float) -> int:
    return int(5 * round(n / 5)) if n >= 50 else int(round(n))


LAST_YEAR = {(YEAR - 2, 12): 12, (YEAR - 1, 1): 100, (YEAR - 1, 8): 200, (YEAR - 1, 12): 30}
THIS_YEAR = {(YEAR, 1): 90, (YEAR, 3): 15, (YEAR, 8): 230, (YEAR, 12): 14}


def test_the_plan_is_last_years_intake_grown_and_rounded_and_the_truth_names_every_other_difference():
    rights = _rights({**LAST_YEAR, **THIS_YEAR})
    seen = set()
    for seed in range(40):
        rows, events = plan_year(rights, YEAR, np.random.default_rng(seed))
        assert events[0]["event"] == "growth_assumed"
        growth = int(events[0]["note"].split("+")[1].rstrip("%")) / 100
        # made on 1 December: last year's January–November, and December from the year before (not yet known)
        expected = {1: 100 * (1 + growth), 8: 200 * (1 + growth), 12: 12 * (1 + growth)}
        for e in events[1:]:
            seen.add(e["event"])
            month, size = e["month"], e["students"]
            assert size > 0 and e["study_right_type"] == KIND
            if e["event"] == "moved":  # planned a month early (January's group: a month late)
                earlier = month + 1 if month == 1 else month - 1
                expected[month] = expected.get(month, 0) - size
                expected[earlier] = expected.get(earlier, 0) + size
            elif e["event"] == "cancelled":
                expected[month] = expected.get(month, 0) + size
            else:
                assert e["event"] == "unplanned"
                expected[month] = expected.get(month, 0) - size
        planned = {m: n for m, _, n in rows.select("month", "study_right_type", "planned_starters").iter_rows()}
        assert planned == {m: _planner_round(n) for m, n in expected.items() if _planner_round(n) > 0}
    assert seen == {"moved", "cancelled", "unplanned"}


def test_what_really_starts_reaches_the_plan_only_through_the_events_the_truth_names():
    """Two worlds alike until the plan's year: a plan with no event is the same in both."""
    other_year = {(YEAR, 1): 140, (YEAR, 3): 15, (YEAR, 8): 160, (YEAR, 12): 14}  # the same rows are the large ones
    for seed in range(40):
        rows, events = plan_year(_rights({**LAST_YEAR, **THIS_YEAR}), YEAR, np.random.default_rng(seed))
        if len(events) == 1:
            other, _ = plan_year(_rights({**LAST_YEAR, **other_year}), YEAR, np.random.default_rng(seed))
            assert other.equals(rows)


def test_a_decided_new_group_is_planned_in_full():
    rights = _rights({**LAST_YEAR, **THIS_YEAR})
    decided = _rights({(YEAR, 8): 60})
    for seed in range(10):
        without, events = plan_year(rights, YEAR, np.random.default_rng(seed))
        with_group, same = plan_year(rights, YEAR, np.random.default_rng(seed), decided)
        assert same == events  # the group changes no event
        august = [dict(plan.select("month", "planned_starters").iter_rows())[8] for plan in (without, with_group)]
        assert august[1] - august[0] == 60
