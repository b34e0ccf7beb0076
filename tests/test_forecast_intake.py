"""How far the forecast trusts the intake plan, and how uncertain it makes each month's intake."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from pipelines.marts.forecast_intake import (
    AS_PLANNED,
    MAX_SPREAD,
    PLAN_ERROR_PRIOR,
    PLAN_PRIOR_STARTERS,
    PLAN_RATIO_CHANGE,
    intake_levels,
    intake_spread,
    last_year_ratio,
    plan_record,
    shared_spread,
)

YEAR = 2025


def _starts(counts: dict[tuple[int, int], int]) -> pl.DataFrame:
    return pl.DataFrame({"starts_on": [dt.date(y, m, 5) for (y, m), n in counts.items() for _ in range(n)]})


def _plan(planned: dict[int, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"month": list(planned), "study_right_type": "ammatillinentutkinto", "planned_starters": list(planned.values())}
    )


def test_a_plan_is_taken_as_it_stands_until_a_whole_month_of_the_year_shows_how_it_holds():
    plan = _plan({1: 100, 8: 200})
    assert plan_record(_starts({(YEAR, 1): 60}), plan, dt.date(YEAR, 1, 20)) == AS_PLANNED  # January not over
    assert plan_record(_starts({}), None, dt.date(YEAR, 6, 30)) == AS_PLANNED


def test_the_plan_is_scaled_by_how_it_held_weighed_against_the_plan_itself():
    plan = _plan({1: 100, 2: 20, 8: 200})
    record = plan_record(_starts({(YEAR, 1): 80, (YEAR, 2): 16, (YEAR - 1, 1): 500}), plan, dt.date(YEAR, 2, 28))
    # January and February are past: 96 of 120 planned started; the plan itself weighs PLAN_PRIOR_STARTERS
    assert record.ratio == pytest.approx((96 + PLAN_PRIOR_STARTERS) / (120 + PLAN_PRIOR_STARTERS))
    # both months missed by the same share: what is left of the error is the assumed one, weighed down by chance
    assert record.error < PLAN_ERROR_PRIOR


def test_before_any_month_shows_it_the_plan_is_trusted_as_far_as_last_years_plan_held():
    plan, last_year = _plan({1: 100, 8: 200}), _plan({1: 110, 8: 190})
    # last year: 90 of 110 planned January starters and 160 of 190 August ones (a July starter is not planned)
    starts = _starts({(YEAR - 1, 1): 90, (YEAR - 1, 7): 12, (YEAR - 1, 8): 160, (YEAR, 1): 60})
    assert last_year_ratio(starts, last_year, YEAR - 1) == pytest.approx(250 / 300)
    assert last_year_ratio(starts, None, YEAR - 1) == 1.0
    early = plan_record(starts, plan, dt.date(YEAR, 1, 20), last_year)
    assert early.ratio == pytest.approx(250 / 300) and early.error == PLAN_ERROR_PRIOR
    # once January is over, this year's starters weigh against last year's ratio
    later = plan_record(starts, plan, dt.date(YEAR, 1, 31), last_year)
    assert later.ratio == pytest.approx((60 + 250 / 300 * PLAN_PRIOR_STARTERS) / (100 + PLAN_PRIOR_STARTERS))


def test_a_plan_that_misses_by_whole_groups_is_given_a_wide_spread_but_never_wider_than_the_cap():
    plan = _plan({1: 100, 2: 20, 3: 20, 8: 200})
    moved = plan_record(_starts({(YEAR, 1): 100, (YEAR, 2): 0, (YEAR, 3): 40}), plan, dt.date(YEAR, 3, 31))
    assert PLAN_ERROR_PRIOR < moved.error <= MAX_SPREAD
    held = plan_record(_starts({(YEAR, 1): 100, (YEAR, 2): 20, (YEAR, 3): 20}), plan, dt.date(YEAR, 3, 31))
    assert held.error < moved.error and held.ratio == pytest.approx(1.0)


def test_a_month_without_a_plan_is_as_uncertain_as_its_intake_has_been_between_the_years_beyond_chance():
    steady = {(y, 8): 200 for y in range(2020, YEAR)}  # no spread at all: chance alone
    varied = {(y, 8): n for y, n in zip(range(2020, YEAR), (150, 250, 150, 250, 200), strict=True)}
    first = dt.date(2020, 1, 1)
    assert intake_spread(_starts(steady), first, None, AS_PLANNED, dt.date(YEAR, 6, 30))[8] == 0
    spread = intake_spread(_starts(varied), first, None, AS_PLANNED, dt.date(YEAR, 6, 30))
    assert 0.1 < spread[8] <= MAX_SPREAD and spread[0] == 0  # index 0: not a template
    # a month the plan gives takes the plan's error instead
    planned = intake_spread(_starts(varied), first, _plan({8: 200}), AS_PLANNED, dt.date(YEAR, 6, 30))
    assert planned[8] == AS_PLANNED.error and planned[7] == spread[7]


def test_each_months_intake_level_has_mean_one_and_its_spread():
    spread = np.zeros(13)
    spread[8] = 0.2
    levels = intake_levels(spread, np.zeros(13), 7, 20_000)
    assert (levels[0] == 1).all() and (levels[1] == 1).all()
    assert levels[8].mean() == pytest.approx(1, abs=0.01)
    assert np.log(levels[8]).std() == pytest.approx(0.2, abs=0.01)


def test_the_plans_ratio_error_is_one_miss_shared_by_every_planned_month():
    """Last year's plan is not this year's: the ratio the forecast scales the plan by may be off for the whole year,
    so the planned months move together; a month the plan does not give does not move with them."""
    plan = _plan({1: 100, 8: 200, 9: 50})
    early = plan_record(_starts({(YEAR, 1): 60}), plan, dt.date(YEAR, 1, 20))
    assert early.ratio_error == pytest.approx(PLAN_RATIO_CHANGE)  # no month of the year shows it yet
    shared = shared_spread(plan, early)
    assert shared[8] == shared[9] == PLAN_RATIO_CHANGE and shared[7] == 0 and shared[0] == 0
    levels = intake_levels(np.zeros(13), shared, 7, 20_000)
    assert np.corrcoef(np.log(levels[8]), np.log(levels[9]))[0, 1] == pytest.approx(1.0)
    assert levels[8].mean() == pytest.approx(1, abs=0.01) and (levels[7] == 1).all()
    # each month of the year that shows how the plan holds narrows the ratio's error
    later = plan_record(_starts({(YEAR, 1): 100}), plan, dt.date(YEAR, 1, 31))
    assert later.ratio_error < early.ratio_error
