"""Forecast of a year's student-years (current formula) with an 80 % interval.

Everything is learned from the provider's own history in the export (the method is
explained in ``docs/architecture/student_year_forecast.md``):

- each open study right moves month by month between lasna, loma, paused
  (väliaikaisesti keskeytynyt) and ended, with transition probabilities by calendar month
  and by whether its planned end has passed, counted from earlier months;
- the days a study right spends lasna, on loma or graduating in a month, given its state
  on the month's first day, are the averages of earlier months, valued by the same rules
  as actual days (``student_years.current_day_weights``);
- new study rights start as in earlier years: every start of an earlier complete year in
  a month still ahead is a template that starts this year with probability 1 / (number
  of earlier years), i.e. the mean seasonal pattern;
- the interval is the 10th–90th percentile of a Monte Carlo run of that chain.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.marts.student_years import (GRADUATED, HOLIDAY, NUMBER, PRESENT, RIGHT, Calculation,
                                           current_day_weights, month_end)
from schemas import published
from schemas.codes import ENDING_STATUSES, QUALIFICATIONS, reference

LASNA, LOMA, PAUSED, ENDED, NOT_STARTED = 0, 1, 2, 3, -1
DAY_STATUSES = (PRESENT, HOLIDAY, GRADUATED)  # the statuses whose days can count
SIMULATIONS = 400
#: study rights simulated at a time (memory: about CHUNK × SIMULATIONS × 8 bytes per array)
CHUNK = 25_000
SEED = 20230701  # fixed: the same export gives the same forecast
BREAKDOWNS = ("total", "campus", "qualification_type")
SCOPES = ("1", "all")


@dataclass
class Forecast:
    """Per breakdown member and month: actual and simulated cumulative student-years of the year."""

    frame: pl.DataFrame  # year, month, funding_scope, breakdown, breakdown_value, actual…, forecast…

    def year_total(self, scope: str = "all") -> dict[str, float]:
        row = self.frame.filter((pl.col("breakdown") == "total") & (pl.col("funding_scope") == scope)
                                & (pl.col("month") == 12)).row(0, named=True)
        return {"forecast": row["forecast_year_total"], "low": row["forecast_year_low_80"],
                "high": row["forecast_year_high_80"]}


def _state(status: pl.Expr) -> pl.Expr:
    return (pl.when(status == PRESENT).then(LASNA).when(status == HOLIDAY).then(LOMA)
            .when(status.is_in(sorted(ENDING_STATUSES))).then(ENDED).otherwise(PAUSED).cast(pl.Int8))


def _normalised(counts: np.ndarray) -> np.ndarray:
    """Rows of counts → probabilities; an empty row falls back to the same row pooled over months, then flags."""
    pooled = [counts.sum(axis=0, keepdims=True), counts.sum(axis=(0, 1), keepdims=True)]
    out = counts.astype(float)
    for fallback in pooled:
        empty = out.sum(axis=-1, keepdims=True) == 0
        out = np.where(empty, np.broadcast_to(fallback, out.shape), out)
    total = out.sum(axis=-1, keepdims=True)
    return np.divide(out, total, out=np.zeros_like(out), where=total > 0)


class History:
    """What the export says happened, month by month, up to the forecast date."""

    def __init__(self, calculation: Calculation):
        history, self.as_of, self.first = calculation.history, calculation.last, calculation.first
        rights = history.numbered(history.study_rights.select(RIGHT, "study_right_type", "campus", "koulutus_code",
                                                              "planned_end_date"))
        quals = pl.DataFrame(list(reference(QUALIFICATIONS))).select("koulutus_code", "qualification_type").lazy()
        self.rights = rights.join(quals, on="koulutus_code", how="left").with_columns(
            pl.col("qualification_type").fill_null("unknown")).collect()
        self.pieces = calculation.pieces.with_columns(
            pl.col("piece_start").dt.month_start().alias("month"),
            ((pl.col("piece_end") - pl.col("piece_start")).dt.total_days() + 1).alias("days"))
        self.by_study_right = calculation.by_study_right()

    def months(self) -> pl.DataFrame:
        """Per study right and whole known month: state on the first day, next month's state, days by status."""
        p = self.pieces.lazy()  # lazy: the streaming engine joins these millions of rows several times faster
        start = p.filter(pl.col("piece_start") == pl.col("month")).select(NUMBER, "month", _state(pl.col("status")).alias("state"))
        days = p.group_by(NUMBER, "month").agg(
            *(pl.col("days").filter(pl.col("status") == s).sum().alias(s) for s in DAY_STATUSES))
        last_known = (self.as_of + dt.timedelta(days=1)).replace(day=1)
        nxt = start.select(NUMBER, pl.col("month").dt.offset_by("-1mo"), pl.col("state").alias("next_state"))
        return (start.filter(pl.col("state") != ENDED).filter(pl.col("month").dt.offset_by("1mo") <= last_known)
                .join(nxt, on=[NUMBER, "month"], how="left").with_columns(pl.col("next_state").fill_null(ENDED))
                .join(days, on=[NUMBER, "month"], how="left")
                .join(self.rights.lazy().select(NUMBER, "planned_end_date"), on=NUMBER, how="left")
                .with_columns(_past_planned(pl.col("month")).alias("past_planned"),
                              (pl.col("month").dt.month() - 1).alias("calendar_month"))).collect()


def _past_planned(month_start: pl.Expr) -> pl.Expr:
    return (pl.col("planned_end_date").is_not_null() & (pl.col("planned_end_date") < month_start)).cast(pl.Int8)


@dataclass
class Chain:
    """Learned monthly behaviour: transition[cm, past_planned, state] and days[cm, past_planned, state, status]."""

    transition: np.ndarray  # 12 × 2 × 3 × 4
    days: np.ndarray  # 12 × 2 × 3 × len(DAY_STATUSES)

    @classmethod
    def learn(cls, months: pl.DataFrame) -> Chain:
        counts = np.zeros((12, 2, 3, 4))
        sums = np.zeros((12, 2, 3, len(DAY_STATUSES)))
        grouped = months.group_by("calendar_month", "past_planned", "state", "next_state").agg(
            pl.len().alias("n"), *(pl.col(s).fill_null(0).sum() for s in DAY_STATUSES))
        for row in grouped.iter_rows(named=True):
            at = (row["calendar_month"], row["past_planned"], row["state"])
            counts[at + (row["next_state"],)] += row["n"]
            sums[at] += [row[s] for s in DAY_STATUSES]
        n = counts.sum(axis=-1, keepdims=True)
        mean_days = np.divide(sums, n, out=np.zeros_like(sums), where=n > 0)
        mean_days = np.where(n == 0, np.divide(sums.sum(0), np.maximum(n.sum(0), 1))[None], mean_days)
        return cls(_normalised(counts), mean_days)


def _groups(frame: pl.DataFrame) -> dict[tuple[str, str], tuple[np.ndarray, list[str]]]:
    """(scope, breakdown) → member index per study right (-1 = not in scope) and member names."""
    out = {}
    for scope in SCOPES:
        inside = np.ones(frame.height, bool) if scope == "all" else (frame["funding_code"] == scope).fill_null(False).to_numpy()
        for breakdown in BREAKDOWNS:
            values = np.array(["total"] * frame.height if breakdown == "total" else frame[breakdown].to_list(), dtype=object)
            names, index = np.unique(values.astype(str), return_inverse=True)
            out[(scope, breakdown)] = (np.where(inside, index, -1), list(names))
    return out


def forecast_year(calculation: Calculation, targets: pl.DataFrame | None = None) -> Forecast:
    """Forecast the year of the calculation's last day from what its history knew on that day."""
    as_of = calculation.last
    if calculation.history.study_rights.height == 0:  # nothing could be calculated (e.g. the study-right file was unreadable)
        table = published.BY_NAME["mart_student_year_forecast"]
        return Forecast(pl.DataFrame(schema={c.name: c.dtype for c in table.columns}))
    known = History(calculation)
    chain = Chain.learn(known.months())
    year = as_of.year
    months = [dt.date(year, m, 1) for m in range(1, 13)]
    ahead = [m for m in months if month_end(m) > as_of]  # months with days still to come
    population = _population(known, as_of, year)
    groups = _groups(population)
    weights = _day_weights(population, ahead)
    simulated = _simulate(population, chain, ahead, weights, as_of, groups)
    actual = _actual(known, year, groups.keys())
    return Forecast(_frame(year, months, actual, simulated, groups, targets, as_of))


def _population(known: History, as_of: dt.date, year: int) -> pl.DataFrame:
    """Open study rights on the as-of date, plus this year's expected starts as templates from earlier years."""
    p = known.by_study_right
    last = p.group_by(NUMBER, maintain_order=True).agg(
        pl.col("status").last(), pl.col("piece_end").last(), pl.col("part_time_percent").last(),
        pl.col("funding_code").drop_nulls().last()).collect()
    open_rights = last.filter((pl.col("piece_end") == as_of) & ~pl.col("status").is_in(sorted(ENDING_STATUSES))).select(
        NUMBER, _state(pl.col("status")).alias("state"), pl.col("part_time_percent").fill_null(100.0), "funding_code",
        pl.lit(None, pl.Date).alias("starts_on"), pl.lit(1.0).alias("probability"))
    first_status = p.group_by(NUMBER, maintain_order=True).agg(pl.col("piece_start").first().alias("starts_on"),
                                         pl.col("funding_code").drop_nulls().first()).collect()
    earlier = [y for y in range(known.first.year, year) if dt.date(y, 1, 1) >= known.first]
    shift = pl.format("{}y", year - pl.col("starts_on").dt.year())  # a template moves to this year, planned end too
    templates = first_status.filter(
        pl.col("starts_on").dt.year().is_in(earlier)
        & (pl.col("starts_on").dt.strftime("%m-%d") > as_of.strftime("%m-%d"))
    ).join(known.rights, on=NUMBER, how="left").with_columns(
        pl.lit(NOT_STARTED, pl.Int8).alias("state"), pl.lit(100.0).alias("part_time_percent"),
        pl.col("planned_end_date").dt.offset_by(shift), pl.col("starts_on").dt.offset_by(shift),
        pl.lit(1.0 / max(len(earlier), 1)).alias("probability"))
    open_rights = open_rights.join(known.rights, on=NUMBER, how="left")
    return pl.concat([open_rights, templates.select(open_rights.columns)]).sort("starts_on", NUMBER, nulls_last=False)


def _day_weights(population: pl.DataFrame, ahead: list[dt.date]) -> np.ndarray:
    """weights[right, month ahead, day status]: the current formula's value of one such day."""
    combos = population.select("study_right_type", "part_time_percent").unique().sort(pl.all()).with_row_index("combo")
    grid = combos.join(pl.DataFrame({"day": ahead}), how="cross").join(pl.DataFrame({"status": list(DAY_STATUSES)}),
                                                                       how="cross")
    valued = current_day_weights(grid.select("study_right_type", "status", "day", "part_time_percent"))
    cube = valued.with_columns(grid["combo"]).sort("combo", "day", pl.col("status").replace_strict(
        {s: i for i, s in enumerate(DAY_STATUSES)}))["weight"].to_numpy().reshape(combos.height, len(ahead), len(DAY_STATUSES))
    combo_of = population.join(combos, on=["study_right_type", "part_time_percent"], how="left",
                               maintain_order="left")["combo"].to_numpy()
    return cube[combo_of]


def _simulate(population, chain: Chain, ahead, weights, as_of, groups) -> dict:
    """Cumulative student-years added after ``as_of``: (scope, breakdown) → array[member, month ahead, simulation].

    Study rights are simulated in chunks of ``CHUNK`` (each with its own seeded stream), so the arrays of
    rights × simulations stay small at national size; the result does not depend on anything but the export.
    """
    n = population.height
    totals = {key: np.zeros((len(names), len(ahead), SIMULATIONS)) for key, (_, names) in groups.items()}
    # per study right, once: planned end (as a day number, open = never) and the month and day a template starts
    planned = population["planned_end_date"].fill_null(dt.date.max).to_numpy().astype("datetime64[D]")
    start_month = population.select(pl.col("starts_on").dt.year() * 12 + pl.col("starts_on").dt.month()).to_series()
    start_month = start_month.fill_null(-1).to_numpy()
    start_day = population["starts_on"].dt.day().fill_null(0).to_numpy()
    states = population["state"].to_numpy().astype(np.int8)
    probability = population["probability"].to_numpy()
    for number, first in enumerate(range(0, n, CHUNK)):
        part = slice(first, min(first + CHUNK, n))
        members = {key: (index[None, part] == np.arange(len(names))[:, None]).astype(float)
                   for key, (index, names) in groups.items()}
        _simulate_chunk(np.random.default_rng([SEED, number]), chain, ahead, weights[part], as_of, members,
                        states[part], probability[part], planned[part], start_month[part], start_day[part], totals)
    for key in totals:
        totals[key] = np.cumsum(totals[key], axis=1) / 365
    return totals


def _simulate_chunk(rng, chain: Chain, ahead, weights, as_of, members, states, probability, planned, start_month,
                    start_day, totals) -> None:
    """Add one chunk of study rights' simulated days to ``totals`` (member × month ahead × simulation)."""
    n = len(states)
    state = np.repeat(states[:, None], SIMULATIONS, axis=1)
    will_start = rng.random((n, SIMULATIONS)) < probability[:, None]
    rows = np.arange(n)[:, None]
    for k, month in enumerate(ahead):
        cm = month.month - 1
        days_in_month = month_end(month).day
        past = (planned < np.datetime64(month)).astype(np.int8)
        # expected value of a month in each state, for every study right
        value = np.einsum("nsd,nd->ns", chain.days[cm, past], weights[:, k, :])
        if month <= as_of:  # the as-of month: only the days after the as-of date are still to come
            value *= (days_in_month - as_of.day) / days_in_month
        active = (state >= 0) & (state < ENDED)
        added = np.where(active, value[rows, np.clip(state, 0, 2)], 0.0)
        first_month = start_month == month.year * 12 + month.month
        if first_month.any():
            starting = first_month[:, None] & will_start
            remaining = np.where(first_month, days_in_month - start_day + 1, 0)
            added = np.where(starting, (remaining * weights[:, k, 0])[:, None], added)
            state = np.where(starting, LASNA, state).astype(np.int8)
        for key, member in members.items():
            totals[key][:, k, :] += member @ added
        state = _step(rng, chain.transition[cm], past, state)


def _step(rng, transition: np.ndarray, past: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Move every active study right to its next month's state.

    ``transition`` is the month's [past planned end, state, next state]; a right moves to the first next
    state whose cumulative probability exceeds its draw. The small table is indexed per right and
    simulation, rather than copying it out for every right.
    """
    active = (state >= 0) & (state < ENDED)
    cumulative = np.cumsum(transition, axis=-1).reshape(-1, transition.shape[-1])  # (past, state) × next
    row = past[:, None] * 3 + np.clip(state, 0, 2)
    u = rng.random(state.shape)
    nxt = sum((u > cumulative[:, j][row]).astype(np.int8) for j in range(3))
    return np.where(active, nxt, state).astype(np.int8)


def _actual(known: History, year: int, keys) -> dict:
    """(scope, breakdown) → {member: [cumulative student-years at each month end of the year, up to the as-of date]}."""
    p = known.pieces.filter(pl.col("piece_start").dt.year() == year).join(known.rights, on=NUMBER, how="left")
    # the funding code of the days themselves, not of the study right
    days = p.with_columns(pl.lit("total").alias("total"), (pl.col("student_year_days_current").fill_null(0.0) / 365).alias("sy"))
    out = {}
    for scope, breakdown in keys:
        rows = days if scope == "all" else days.filter(pl.col("funding_code") == scope)
        by_month = rows.group_by(breakdown, pl.col("month").dt.month().alias("m")).agg(pl.col("sy").sum())
        out[(scope, breakdown)] = {(r[breakdown], r["m"]): r["sy"] for r in by_month.iter_rows(named=True)}
    return out


def _frame(year, months, actual, simulated, groups, targets, as_of) -> pl.DataFrame:
    target = None
    if targets is not None and targets.height:
        hit = targets.filter(pl.col("year") == year)
        target = hit["target_student_years"][0] if hit.height else None
    n_ahead = next(iter(simulated.values())).shape[1]
    first_ahead = 12 - n_ahead
    rows = []
    for (scope, breakdown), (_, names) in groups.items():
        # members with study rights still open, and members with days earlier in the year
        members = sorted(set(names) | {member for member, _ in actual[(scope, breakdown)]})
        for member in members:
            monthly = [actual[(scope, breakdown)].get((member, m), 0.0) for m in range(1, 13)]
            cumulative = np.cumsum(monthly)
            to_date = cumulative[min(as_of.month, 12) - 1] if as_of.year == year else cumulative[-1]
            sims = simulated[(scope, breakdown)][names.index(member)] if member in names \
                else np.zeros((n_ahead, SIMULATIONS))  # month ahead × simulation
            year_end = to_date + (sims[-1] if n_ahead else np.zeros(SIMULATIONS))
            for m in range(1, 13):
                if m - 1 < first_ahead:
                    path = np.full(SIMULATIONS, cumulative[m - 1])
                else:
                    path = to_date + sims[m - 1 - first_ahead]
                known = dt.date(year, m, 1) <= as_of
                rows.append({
                    "year": year, "month": m, "funding_scope": scope, "breakdown": breakdown, "breakdown_value": member,
                    "actual_cumulative_student_years": float(cumulative[m - 1]) if known else None,
                    "forecast_cumulative_student_years": float(path.mean()),
                    "forecast_cumulative_low_80": float(np.percentile(path, 10)),
                    "forecast_cumulative_high_80": float(np.percentile(path, 90)),
                    "forecast_year_total": float(year_end.mean()),
                    "forecast_year_low_80": float(np.percentile(year_end, 10)),
                    "forecast_year_high_80": float(np.percentile(year_end, 90)),
                    "target_student_years": target if breakdown == "total" else None,
                    "forecast_made_on": as_of,
                })
    # rounded: sums in parallel group-bys differ in the last bits between runs; the same export, the same mart
    return pl.DataFrame(rows).with_columns(pl.selectors.float().round(9)).sort(
        "funding_scope", "breakdown", "breakdown_value", "month")
