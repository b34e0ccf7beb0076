"""The forecast's new starters: how far to trust the intake plan, and how uncertain each month's intake is.

A plan counts the students a provider means to start; the figures count the study rights whose records can be
counted, and a plan made before the year is off by a group here and there (and often assumes a growth that does not
come). Both are measured on this year's months already past (planned against actual starters): their ratio scales
what the plan still expects, and their spread around it is how uncertain a planned month is. Before this year's
months show it, the ratio is what last year's plan turned out to be against last year's counted starters: the
same planner, the same kind of records held back; but not the same luck, so the ratio itself is uncertain, for
every planned month at once. A month without a plan is as uncertain as its intake has been between the earlier
years.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

#: the plan's error per month assumed before any month of the year shows it (a relative standard deviation), and
#: how many months' worth of evidence that assumption weighs
PLAN_ERROR_PRIOR, PLAN_PRIOR_MONTHS = 0.10, 3
#: the largest spread a month's intake is given (a plan half off is already a plan that no longer holds)
MAX_SPREAD = 0.5
#: how many planned starters' worth of evidence the plan itself weighs before months of the year show how it holds
PLAN_PRIOR_STARTERS = 150
#: how far a plan's realisation (counted starters per planned one) may differ from last year's plan's (a relative
#: standard deviation): a plan is made from last year's intake, so it carries last year's luck, and this year's
#: intake need not repeat it (measured between the 2024 and 2025 plans of the demo's seeds 1–11: 0.15)
PLAN_RATIO_CHANGE = 0.15


@dataclass(frozen=True)
class PlanRecord:
    """How this year's plan has held in the months already past."""

    ratio: float = 1.0  # counted starters per planned starter
    error: float = PLAN_ERROR_PRIOR  # relative standard deviation of a month's starters around plan × ratio
    #: relative standard deviation of the ratio itself: one miss shared by every month still planned
    ratio_error: float = PLAN_RATIO_CHANGE


#: a plan taken as it stands (no month of the year has shown how it holds)
AS_PLANNED = PlanRecord()


def planned_by_month(plan: pl.DataFrame) -> dict[int, int]:
    """calendar month → the starters the plan gives for it."""
    return dict(plan.group_by("month").agg(pl.col("planned_starters").sum()).iter_rows())


def started_by_month(starts: pl.DataFrame, year: int) -> dict[int, int]:
    """calendar month → the study rights whose first day (``starts_on``) falls in it in ``year``."""
    firsts = starts.filter(pl.col("starts_on").dt.year() == year)
    return dict(firsts.group_by(pl.col("starts_on").dt.month().cast(pl.Int64)).len().iter_rows())


def plan_record(
    starts: pl.DataFrame, plan: pl.DataFrame | None, as_of: dt.date, last_year: pl.DataFrame | None = None
) -> PlanRecord:
    """``starts``: each study right's first day (``starts_on``). The months past are those wholly before the as-of
    day's month end; each weighs by its planned starters, the plan itself by ``PLAN_PRIOR_STARTERS`` at the ratio
    ``last_year``'s plan (the year before the as-of day's) turned out to have (1 without it)."""
    if plan is None or not plan.height:
        return AS_PLANNED
    planned, actual = planned_by_month(plan), started_by_month(starts, as_of.year)
    whole = as_of.month if (as_of + dt.timedelta(days=1)).day == 1 else as_of.month - 1
    past = [m for m in planned if m <= whole and planned[m] > 0]
    prior = last_year_ratio(starts, last_year, as_of.year - 1)
    ratio = (sum(actual.get(m, 0) for m in past) + prior * PLAN_PRIOR_STARTERS) / (
        sum(planned[m] for m in past) + PLAN_PRIOR_STARTERS
    )
    expected = {m: planned[m] * ratio for m in past}
    # (each month's squared relative miss, less what chance alone gives a month of that many starters)
    evidence = sum((actual.get(m, 0) / expected[m] - 1) ** 2 - 1 / expected[m] for m in past)
    prior = PLAN_PRIOR_MONTHS * PLAN_ERROR_PRIOR**2
    error = min(float(np.sqrt(max((prior + evidence) / (PLAN_PRIOR_MONTHS + len(past)), 0.0))), MAX_SPREAD)
    # the ratio's own error: the prior's (last year's plan is not this year's) and each past month's, by their weights
    weights = sum(planned[m] for m in past) + PLAN_PRIOR_STARTERS
    spread = (PLAN_PRIOR_STARTERS * PLAN_RATIO_CHANGE) ** 2 + sum((planned[m] * error) ** 2 for m in past)
    return PlanRecord(ratio, error, float(np.sqrt(spread)) / weights)


def last_year_ratio(starts: pl.DataFrame, plan: pl.DataFrame | None, year: int) -> float:
    """Counted starters per planned starter over the months ``year``'s plan gives (1 without a plan for it)."""
    if plan is None or not plan.height:
        return AS_PLANNED.ratio
    planned, actual = planned_by_month(plan), started_by_month(starts, year)
    total = sum(planned.values())
    return sum(actual.get(m, 0) for m in planned) / total if total else AS_PLANNED.ratio


def intake_spread(
    starts: pl.DataFrame, first: dt.date, plan: pl.DataFrame | None, record: PlanRecord, as_of: dt.date
) -> np.ndarray:
    """spread[calendar month]: how far a month's new starters may fall from what the forecast expects of it, beyond
    the chance of each single start (which the simulation draws anyway), as a relative standard deviation. A month
    the plan gives: the plan's error (``record``); any other month: how much the month's intake has varied between
    the earlier complete years (from ``first``), more than chance alone would make it vary."""
    months = starts.select(pl.col("starts_on").dt.year().alias("y"), pl.col("starts_on").dt.month().alias("m"))
    earlier = [y for y in range(first.year, as_of.year) if dt.date(y, 1, 1) >= first]
    counts = np.zeros((len(earlier), 12))
    for y, m, n in months.filter(pl.col("y").is_in(earlier)).group_by("y", "m").len().iter_rows():
        counts[earlier.index(y), m - 1] = n
    spread = np.zeros(13)
    if len(earlier) >= 2:
        mean, var = counts.mean(axis=0), counts.var(axis=0, ddof=1)
        seen = mean > 0
        excess = float(np.sum(np.maximum(var[seen] / mean[seen] - 1, 0.0)))  # (μ × (CV² − 1/μ), summed)
        spread[1:] = min(np.sqrt(excess / float(mean[seen].sum())), MAX_SPREAD) if seen.any() else 0.0
    if plan is not None:
        for m in plan["month"].unique().to_list():
            spread[m] = record.error
    return spread


def shared_spread(plan: pl.DataFrame | None, record: PlanRecord) -> np.ndarray:
    """shared[calendar month]: the plan's ratio error (``record.ratio_error``) in each month the plan gives."""
    shared = np.zeros(13)
    if plan is not None:
        shared[plan["month"].unique().to_numpy()] = record.ratio_error
    return shared


def intake_levels(spread: np.ndarray, shared: np.ndarray, seed: int, simulations: int) -> np.ndarray:
    """level[calendar month, simulation]: how many of a month's expected new starters each simulation starts, as a
    multiple of the expectation (mean 1, log-normal; index 0: not a template, always 1). One draw per month with its
    ``spread``, shared by every template of the month (a plan misses a whole group, not one student at a time), and
    one draw per simulation shared by all months, with each month's ``shared`` (the plan's ratio may be off for the
    whole year)."""
    rng = np.random.default_rng([seed, 2])
    z, common = rng.standard_normal((13, simulations)), rng.standard_normal(simulations)
    log_level = spread[:, None] * z + shared[:, None] * common[None, :]
    return np.exp(log_level - (spread[:, None] ** 2 + shared[:, None] ** 2) / 2)
