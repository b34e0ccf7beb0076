"""Forecast of a year's student-years (current formula) with 80 % and 50 % intervals.

Everything is learned from the provider's own history in the export (the method is
explained in ``docs/architecture/student_year_forecast.md``):

- each open study right moves month by month between lasna, loma, paused
  (väliaikaisesti keskeytynyt) and ended, with transition probabilities by kind of training
  (a qualification or other), calendar month and whether its planned end has passed, counted
  from the latest settled months;
- the days a study right spends lasna, on loma or graduating in a month, given its state
  on the month's first day, are the averages of earlier months, valued by the same rules
  as actual days (``student_years.current_day_weights``);
- study rights already registered to start later in the year start on their day; other new
  study rights start as the intake plan (``forecast_intake.py``) or earlier years expect: every start of an
  earlier complete year in a month still ahead is a template that starts this year, with the probability that
  makes the month's expected starts what the plan or the mean of earlier years expects, less those already
  registered;
- late recording (``late_recording.py``): study rights still lasna in the export that have really
  ended, and the revision of the latest months' figures, as measured on an earlier export;
- the 80 % interval is the 10th–90th percentile of a Monte Carlo run of that chain (the 50 % one the
  25th–75th), each run with rates counted from the study rights drawn with replacement (the rates' own
  uncertainty), its own draw of the late-recorded endings, of each month's intake and of the study rights the
  year's final count will count or hold back unlike today's export (``_turnover``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from pipelines.marts.forecast_intake import (
    PlanRecord,
    intake_levels,
    intake_spread,
    plan_record,
    planned_by_month,
    shared_spread,
    started_by_month,
)
from pipelines.marts.intake_plan import of_year
from pipelines.marts.late_recording import NOTHING_MEASURED, SETTLED_DAYS, LateRecording
from pipelines.marts.student_years import (
    GRADUATED,
    HOLIDAY,
    NUMBER,
    PRESENT,
    RIGHT,
    Calculation,
    current_day_weights,
    month_end,
)
from schemas import published
from schemas.codes import ENDING_STATUSES, QUALIFICATIONS, reference

LASNA, LOMA, PAUSED, ENDED, NOT_STARTED = 0, 1, 2, 3, -1
DAY_STATUSES = (PRESENT, HOLIDAY, GRADUATED)  # the statuses whose days can count
SIMULATIONS = 400
#: rate sets, each counted from the FOLDS groups of study rights drawn with replacement; simulation s uses set
#: s % REPLICATES
REPLICATES = 40
FOLDS = 20
#: how many settled months the rates are learned from: the latest year (older ones describe a provider that has
#: changed since; in a young register, its first years hold only students who had just started)
LEARNED_MONTHS = 12
#: the kinds of training whose rates are counted apart: 0 a vocational qualification, 1 any other training
QUALIFICATION = "ammatillinentutkinto"
KINDS = 2
#: study rights simulated at a time (memory: about CHUNK × SIMULATIONS × 8 bytes per array)
CHUNK = 25_000
#: how many templates a planned month has per starter it expects: room for a simulation's intake up to that multiple
HEADROOM = 4
SEED = 20230701  # fixed: the same export gives the same forecast
BREAKDOWNS = ("total", "campus", "qualification_type")
MART_SCHEMA = {c.name: c.dtype for c in published.BY_NAME["mart_student_year_forecast"].columns}
SCOPES = ("1", "all")


@dataclass
class Forecast:
    """Per breakdown member and month: actual and simulated cumulative student-years of the year."""

    frame: pl.DataFrame  # year, month, funding_scope, breakdown, breakdown_value, actual…, forecast…

    def year_total(self, scope: str = "all") -> dict[str, float]:
        row = self.frame.filter(
            (pl.col("breakdown") == "total") & (pl.col("funding_scope") == scope) & (pl.col("month") == 12)
        ).row(0, named=True)
        return {
            "forecast": row["forecast_year_total"],
            "low": row["forecast_year_low_80"],
            "high": row["forecast_year_high_80"],
        }


def _state(status: pl.Expr) -> pl.Expr:
    return (
        pl.when(status == PRESENT)
        .then(LASNA)
        .when(status == HOLIDAY)
        .then(LOMA)
        .when(status.is_in(sorted(ENDING_STATUSES)))
        .then(ENDED)
        .otherwise(PAUSED)
        .cast(pl.Int8)
    )


#: the axes of a rate table (replicate, kind, calendar month, past planned end, state, …) pooled in turn where a cell
#: has no history: first the calendar months, then also the planned-end flag, then also the kinds
POOLINGS = ((2,), (2, 3), (1, 2, 3))


def _pooled(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` and their ``counts`` with every empty cell (count 0) filled from the first pooling that has any."""
    v, c = values.astype(float), counts.astype(float)
    for axes in POOLINGS:
        empty = c == 0
        v = np.where(empty, np.broadcast_to(values.sum(axis=axes, keepdims=True), v.shape), v)
        c = np.where(empty, np.broadcast_to(counts.sum(axis=axes, keepdims=True), c.shape), c)
    return v, c


def _kind(study_right_type: pl.Expr) -> pl.Expr:
    return (study_right_type != QUALIFICATION).fill_null(True).cast(pl.Int8)


class History:
    """What the export says happened, month by month, up to the forecast date."""

    def __init__(self, calculation: Calculation):
        history, self.as_of, self.first = calculation.history, calculation.last, calculation.first
        self.history = history
        rights = history.numbered(
            history.study_rights.select(RIGHT, "study_right_type", "campus", "koulutus_code", "planned_end_date")
        )
        quals = pl.DataFrame(list(reference(QUALIFICATIONS))).select("koulutus_code", "qualification_type").lazy()
        self.rights = (
            rights.join(quals, on="koulutus_code", how="left")
            .with_columns(
                pl.col("qualification_type").fill_null("unknown"), _kind(pl.col("study_right_type")).alias("kind")
            )
            .collect()
        )
        self.pieces = calculation.pieces.with_columns(
            pl.col("piece_start").dt.month_start().alias("month"),
            ((pl.col("piece_end") - pl.col("piece_start")).dt.total_days() + 1).alias("days"),
        )
        self.by_study_right = calculation.by_study_right()

    @cached_property
    def starts(self) -> pl.DataFrame:
        """Per study right with days in the export: the day of its first status and its first funding code."""
        return (
            self.by_study_right.group_by(NUMBER, maintain_order=True)
            .agg(pl.col("piece_start").first().alias("starts_on"), pl.col("funding_code").drop_nulls().first())
            .collect()
        )

    @property
    def settled(self) -> dt.date:
        """The first day of the first month the rates are not learned from: a month is learned from once the
        endings in it are recorded (``late_recording.SETTLED_DAYS``); the export's latest months still show
        students lasna who have left, and rates learned from them forecast too many student-years. An export
        with no settled month yet learns from every whole month it knows."""
        known = (self.as_of + dt.timedelta(days=1)).replace(day=1)
        settled = (self.as_of - dt.timedelta(days=SETTLED_DAYS - 1)).replace(day=1)
        return settled if settled > self.first.replace(day=1) + dt.timedelta(days=31) else known

    def months(self) -> pl.DataFrame:
        """Per study right and whole settled month: state on the first day, next month's state, days by status."""
        p = self.pieces.lazy()  # lazy: the streaming engine joins these millions of rows several times faster
        start = p.filter(pl.col("piece_start") == pl.col("month")).select(
            NUMBER, "month", _state(pl.col("status")).alias("state")
        )
        days = (
            p.select(
                NUMBER,
                "month",
                *(pl.when(pl.col("status") == s).then(pl.col("days")).otherwise(0).alias(s) for s in DAY_STATUSES),
            )
            .group_by(NUMBER, "month")
            .agg(pl.col(DAY_STATUSES).sum())
        )  # (plain sums of when-columns: a third faster than filtered sums here)
        nxt = start.select(NUMBER, pl.col("month").dt.offset_by("-1mo"), pl.col("state").alias("next_state"))
        return (
            start.filter(pl.col("state") != ENDED)
            .filter(pl.col("month").dt.offset_by("1mo") <= self.settled)
            .filter(pl.col("month") >= self.settled - dt.timedelta(days=int(LEARNED_MONTHS * 30.44)))
            .join(nxt, on=[NUMBER, "month"], how="left")
            .with_columns(pl.col("next_state").fill_null(ENDED))
            .join(days, on=[NUMBER, "month"], how="left")
            .join(self.rights.lazy().select(NUMBER, "planned_end_date", "kind"), on=NUMBER, how="left")
            .with_columns(
                _past_planned(pl.col("month")).alias("past_planned"),
                (pl.col(NUMBER) % FOLDS).alias("fold"),
                (pl.col("month").dt.month() - 1).alias("calendar_month"),
            )
        ).collect()


def _past_planned(month_start: pl.Expr) -> pl.Expr:
    return (pl.col("planned_end_date").is_not_null() & (pl.col("planned_end_date") < month_start)).cast(pl.Int8)


@dataclass
class Chain:
    """Learned monthly behaviour, one set per replicate r and kind k: transition[r, k, cm, past_planned, state] and
    days[r, k, cm, past_planned, state, status]."""

    transition: np.ndarray  # REPLICATES × KINDS × 12 × 2 × 3 × 4
    days: np.ndarray  # REPLICATES × KINDS × 12 × 2 × 3 × len(DAY_STATUSES)

    @classmethod
    def learn(cls, months: pl.DataFrame, rng: np.random.Generator) -> Chain:
        counts = np.zeros((FOLDS, KINDS, 12, 2, 3, 4))
        sums = np.zeros((FOLDS, KINDS, 12, 2, 3, len(DAY_STATUSES)))
        grouped = months.group_by("fold", "kind", "calendar_month", "past_planned", "state", "next_state").agg(
            pl.len().alias("n"), *(pl.col(s).fill_null(0).sum() for s in DAY_STATUSES)
        )
        for row in grouped.iter_rows(named=True):
            at = (row["fold"], row["kind"], row["calendar_month"], row["past_planned"], row["state"])
            counts[at + (row["next_state"],)] += row["n"]
            sums[at] += [row[s] for s in DAY_STATUSES]
        # replicate 0 counts every fold once; the others draw the folds with replacement
        draws = np.vstack([np.arange(FOLDS), rng.integers(0, FOLDS, size=(REPLICATES - 1, FOLDS))])
        counts, sums = counts[draws].sum(axis=1), sums[draws].sum(axis=1)
        transitions, totals = _pooled(counts, counts.sum(axis=-1, keepdims=True))
        sums, n = _pooled(sums, counts.sum(axis=-1, keepdims=True))
        return cls(
            np.divide(transitions, totals, out=np.zeros_like(transitions), where=totals > 0),
            np.divide(sums, n, out=np.zeros_like(sums), where=n > 0),
        )


def _groups(frame: pl.DataFrame) -> dict[tuple[str, str], tuple[np.ndarray, list[str]]]:
    """(scope, breakdown) → member index per study right (-1 = not in scope) and member names."""
    out = {}
    for scope in SCOPES:
        inside = (
            np.ones(frame.height, bool)
            if scope == "all"
            else (frame["funding_code"] == scope).fill_null(False).to_numpy()
        )
        for breakdown in BREAKDOWNS:
            values = np.array(
                ["total"] * frame.height if breakdown == "total" else frame[breakdown].to_list(), dtype=object
            )
            names, index = np.unique(values.astype(str), return_inverse=True)
            out[(scope, breakdown)] = (np.where(inside, index, -1), list(names))
    return out


def forecast_year(
    calculation: Calculation,
    targets: pl.DataFrame | None = None,
    late: LateRecording = NOTHING_MEASURED,
    plan: pl.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> Forecast:
    """Forecast the year of the calculation's last day from what its history knew on that day, what ``late`` says
    it did not know yet and the intake ``plan`` (``schemas/plans.py``: the rows of every year given,
    ``IntakePlan.rows``; this year's is followed, last year's tells how far to trust it); ``progress`` hears how far
    the simulation is."""
    as_of = calculation.last
    if (
        calculation.history.study_rights.height == 0
    ):  # nothing could be calculated (e.g. the study-right file was unreadable)
        return Forecast(pl.DataFrame(schema=MART_SCHEMA))
    known = History(calculation)
    chain = Chain.learn(known.months(), np.random.default_rng([SEED, 0]))
    year = as_of.year
    months = [dt.date(year, m, 1) for m in range(1, 13)]
    ahead = [m for m in months if month_end(m) > as_of]  # months with days still to come
    plan, last_year_plan = of_year(plan, year), of_year(plan, year - 1)
    record = plan_record(known.starts, plan, as_of, last_year_plan)
    population = _population(known, as_of, year, plan, record)
    groups = _groups(population)
    simulated = _simulate(
        population,
        chain,
        ahead,
        _day_weights(population, ahead),
        as_of,
        groups,
        late.phantom_share,
        progress,
        intake_levels(
            intake_spread(known.starts, known.first, plan, record, as_of),
            shared_spread(plan, record),
            SEED,
            SIMULATIONS,
        ),
    )
    actual = _actual(known, year, groups.keys())
    revised = _revised(actual, late, as_of)
    intake = Intake.of(known, chain, ahead, year, plan, population)
    turnover = _turnover(known, population, as_of, groups.keys(), late.turnover)
    return Forecast(_frame(year, months, actual, revised, simulated, groups, targets, as_of, intake, turnover))


def _population(
    known: History, as_of: dt.date, year: int, plan: pl.DataFrame | None, record: PlanRecord
) -> pl.DataFrame:
    """Open study rights on the as-of date, those registered to start later in the year, and this year's other
    expected starts as templates (``_templates``)."""
    p = known.by_study_right
    last = (
        p.group_by(NUMBER, maintain_order=True)
        .agg(
            pl.col("status").last(),
            pl.col("piece_end").last(),
            pl.col("part_time_percent").last(),
            pl.col("funding_code").drop_nulls().last(),
        )
        .collect()
    )
    open_rights = (
        last.filter((pl.col("piece_end") == as_of) & ~pl.col("status").is_in(sorted(ENDING_STATUSES)))
        .select(
            NUMBER,
            _state(pl.col("status")).alias("state"),
            pl.col("part_time_percent").fill_null(100.0),
            "funding_code",
            pl.lit(None, pl.Date).alias("starts_on"),
            pl.lit(1.0).alias("probability"),
        )
        .join(known.rights, on=NUMBER, how="left")
    )
    statuses = known.history.numbered(known.history.status_periods).sort(NUMBER, "start_date")
    registered = (
        statuses.group_by(NUMBER)
        .agg(pl.col("start_date").first().alias("starts_on"), pl.col("funding_code").drop_nulls().first())
        .filter((pl.col("starts_on") > as_of) & (pl.col("starts_on").dt.year() == year))
        .collect()
        .join(known.rights, on=NUMBER, how="left")
        .with_columns(
            pl.lit(NOT_STARTED, pl.Int8).alias("state"),
            pl.lit(100.0).alias("part_time_percent"),
            pl.lit(1.0).alias("probability"),
        )
        .select(open_rights.columns)
    )
    templates = _templates(known, as_of, year, registered, plan, record).with_columns(
        MONTH.cast(pl.Int8).alias("intake_month")
    )
    certain = pl.lit(0, pl.Int8).alias("intake_month")  # (not a template: its start is not in doubt)
    return pl.concat(
        [
            open_rights.with_columns(certain),
            registered.with_columns(certain),
            templates.select(*open_rights.columns, "intake_month"),
        ]
    ).sort("starts_on", NUMBER, nulls_last=False)


MONTH = pl.col("starts_on").dt.month()


def _matching(row: dict) -> pl.Expr:
    """Study rights of a plan row's type, and of its koulutus and campus where it names them."""
    match = pl.col("study_right_type") == row["study_right_type"]
    for column in ("koulutus_code", "campus"):
        if row[column] is not None:
            match &= pl.col(column) == row[column]
    return match


def _moved_to(frame: pl.DataFrame, year: int, month: int) -> pl.DataFrame:
    """Templates moved to start in ``month`` (same day, at most the 28th), their planned end moved with them."""
    moved = pl.date(year, month, pl.col("starts_on").dt.day().clip(upper_bound=28))
    return frame.with_columns(pl.col("planned_end_date") + (moved - pl.col("starts_on")), moved.alias("starts_on"))


def _templates(
    known: History,
    as_of: dt.date,
    year: int,
    registered: pl.DataFrame,
    plan: pl.DataFrame | None,
    record: PlanRecord,
) -> pl.DataFrame:
    """New study rights expected this year and not yet registered, as templates: study rights that started in an
    earlier complete year, moved to this year, each with the probability it starts.

    A month after the as-of month that the plan gives for a study-right type expects the plan's starters, scaled by
    how the plan has held this year (``record``: ``forecast_intake.py``); any other month expects as many as started
    in it on average in earlier years. The study rights already registered to start in the month are part of what it
    expects."""
    earlier = [y for y in range(known.first.year, year) if dt.date(y, 1, 1) >= known.first]
    shift = pl.format("{}y", year - pl.col("starts_on").dt.year())  # a template moves to this year, planned end too
    history = (
        known.starts.filter(pl.col("starts_on").dt.year().is_in(earlier))
        .join(known.rights, on=NUMBER, how="left")
        .with_columns(
            pl.lit(NOT_STARTED, pl.Int8).alias("state"),
            pl.lit(100.0).alias("part_time_percent"),
            pl.col("planned_end_date").dt.offset_by(shift),
            pl.col("starts_on").dt.offset_by(shift),
        )
    )
    ahead = history.filter(pl.col("starts_on").dt.strftime("%m-%d") > as_of.strftime("%m-%d")).with_columns(
        MONTH.alias("m")
    )
    planned, covered = _planned_templates(history, registered, plan, as_of, year, record.ratio)
    # the months and types the plan does not give: the mean of earlier years, less what is already registered
    by_history = ahead.join(covered, on=["m", "study_right_type"], how="anti")
    unplanned = registered.with_columns(MONTH.alias("m")).join(covered, on=["m", "study_right_type"], how="anti")
    expected = by_history.group_by("m").agg(
        (pl.len() / max(len(earlier), 1)).alias("expected"), pl.len().alias("templates")
    )
    already = unplanned.group_by("m").agg(pl.len().alias("registered"))
    chances = expected.join(already, on="m", how="left").select(
        "m",
        ((pl.col("expected") - pl.col("registered").fill_null(0)).clip(lower_bound=0) / pl.col("templates")).alias(
            "probability"
        ),
    )
    by_history = by_history.join(chances, on="m", how="left").drop("m")
    return pl.concat([by_history.select(planned.columns), planned]) if planned.height else by_history


def _planned_templates(
    history: pl.DataFrame,
    registered: pl.DataFrame,
    plan: pl.DataFrame | None,
    as_of: dt.date,
    year: int,
    ratio: float,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Templates for the plan's rows of months after the as-of month, and the (m, study_right_type) pairs those
    rows cover.

    A row expects its starters less the registered study rights it matches (the most specific rows take theirs
    first). Its templates are earlier starts of the same month that match it; failing those, matching starts of
    any month moved into it; failing those, any start of the month."""
    covered = pl.DataFrame(schema={"m": pl.Int8, "study_right_type": pl.Utf8})
    columns = [*history.columns, "probability"]
    empty = pl.DataFrame(schema={**history.schema, "probability": pl.Float64})
    if plan is None:
        return empty, covered
    rows = plan.filter((pl.col("year") == year) & (pl.col("month") > as_of.month if as_of.year == year else True))
    rows = rows.sort(
        pl.col("koulutus_code").is_not_null().cast(pl.Int8) + pl.col("campus").is_not_null().cast(pl.Int8),
        descending=True,
    )
    left = registered.with_columns(MONTH.alias("m"))
    parts = []
    for row in rows.iter_rows(named=True):
        month, match = row["month"], _matching(row)
        taken = left.filter((pl.col("m") == month) & match)
        left = left.join(taken.select(NUMBER), on=NUMBER, how="anti")
        expected = max(row["planned_starters"] * ratio - taken.height, 0)
        candidates = next(
            (
                c
                for c in (
                    history.filter((MONTH == month) & match),
                    history.filter(match),
                    history.filter(MONTH == month),
                    history,
                )
                if c.height
            ),
            None,
        )
        if expected and candidates is not None:
            # a plan above history repeats its templates; HEADROOM times over, so that a simulation's larger intake
            # (``forecast_intake.intake_levels``) still has them
            copies = int(np.ceil(HEADROOM * expected / candidates.height))
            parts.append(
                _moved_to(pl.concat([candidates] * copies), year, month).with_columns(
                    pl.lit(expected / (candidates.height * copies)).alias("probability")
                )
            )
    covered = pl.DataFrame({"m": rows["month"].cast(pl.Int8), "study_right_type": rows["study_right_type"]}).unique()
    return (pl.concat(parts).select(columns) if parts else empty), covered


def _day_weights(population: pl.DataFrame, ahead: list[dt.date]) -> tuple[np.ndarray, np.ndarray]:
    """cube[combo, month ahead, day status]: the current formula's value of one such day for each (study-right
    type, part-time %) combination; and each study right's combination."""
    combos = population.select("study_right_type", "part_time_percent").unique().sort(pl.all()).with_row_index("combo")
    grid = combos.join(pl.DataFrame({"day": ahead}), how="cross").join(
        pl.DataFrame({"status": list(DAY_STATUSES)}), how="cross"
    )
    valued = current_day_weights(grid.select("study_right_type", "status", "day", "part_time_percent"))
    cube = (
        valued.with_columns(grid["combo"])
        .sort("combo", "day", pl.col("status").replace_strict({s: i for i, s in enumerate(DAY_STATUSES)}))["weight"]
        .to_numpy()
        .reshape(combos.height, len(ahead), len(DAY_STATUSES))
    )
    combo_of = (
        population.join(combos, on=["study_right_type", "part_time_percent"], how="left", maintain_order="left")[
            "combo"
        ]
        .to_numpy()
        .astype(np.int64)
    )
    return cube, combo_of


def _simulate(
    population,
    chain: Chain,
    ahead,
    weights: tuple[np.ndarray, np.ndarray],
    as_of,
    groups,
    phantom_share: float,
    progress: Callable[[str], None] | None,
    level: np.ndarray,
) -> dict:
    """Cumulative student-years added after ``as_of``: (scope, breakdown) → array[member, month ahead, simulation].
    ``level``: each template's intake level per calendar month and simulation (``forecast_intake.intake_levels``).

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
    kinds = population["kind"].to_numpy().astype(np.int8)
    probability = population["probability"].to_numpy()
    intake_month = population["intake_month"].to_numpy()
    cube, combo_of = weights
    for number, first in enumerate(range(0, n, CHUNK)):
        part = slice(first, min(first + CHUNK, n))
        members = {
            key: (index[None, part] == np.arange(len(names))[:, None]).astype(float)
            for key, (index, names) in groups.items()
        }
        rng = np.random.default_rng([SEED, 1, number])
        state = _late_endings(rng, states[part], phantom_share)
        _simulate_chunk(
            rng,
            chain,
            ahead,
            cube,
            combo_of[part],
            as_of,
            members,
            state,
            kinds[part],
            np.minimum(probability[part, None] * level[intake_month[part]], 1.0),
            planned[part],
            start_month[part],
            start_day[part],
            totals,
        )
        if progress:
            progress(f"forecast: {part.stop:,} of {n:,} study rights simulated")
    for key in totals:
        totals[key] = np.cumsum(totals[key], axis=1) / 365
    return totals


#: the target counts as reachable this year while the additional starters it needs are at most this many times the
#: new starters the months ahead already expect (doubling the rest of the year's intake is the most a provider can
#: organise at short notice)
REACHABLE_INTAKE = 1.0


def _late_endings(rng, states: np.ndarray, phantom_share: float) -> np.ndarray:
    """state[right, simulation] on the as-of date: a right lasna in the export has ended unrecorded with the
    measured phantom share (``late_recording.py``), itself uncertain: each simulation draws its own share from
    the binomial spread of a share measured on this many rights."""
    state = np.repeat(states[:, None], SIMULATIONS, axis=1)
    if phantom_share > 0:
        lasna = states == LASNA
        spread = np.sqrt(phantom_share * (1 - phantom_share) / max(int(lasna.sum()), 1))
        share = np.clip(rng.normal(phantom_share, spread, SIMULATIONS), 0, 1)
        ended = lasna[:, None] & (rng.random(state.shape) < share[None, :])
        state = np.where(ended, ENDED, state).astype(np.int8)
    return state


def _simulate_chunk(
    rng,
    chain: Chain,
    ahead,
    cube,
    combo_of,
    as_of,
    members,
    state,
    kinds,
    probability,
    planned,
    start_month,
    start_day,
    totals,
) -> None:
    """Add one chunk of study rights' simulated days to ``totals`` (member × month ahead × simulation).

    Study rights alike in what values their month (day weights, kind, planned end passed) form a few groups: a
    month's value is worked out per rate set and group, then looked up per right and simulation by one flat index.
    """
    n = len(kinds)
    replicate = np.arange(SIMULATIONS) % REPLICATES  # the rate set each simulation uses
    will_start = rng.random((n, SIMULATIONS)) < probability
    for k, month in enumerate(ahead):
        cm = month.month - 1
        days_in_month = month_end(month).day
        past = (planned < np.datetime64(month)).astype(np.int64)
        keys, group = np.unique((combo_of * KINDS + kinds) * 2 + past, return_inverse=True)
        combo, kind, passed = keys // (KINDS * 2), (keys // 2) % KINDS, keys % 2
        # expected value of a month in each state, for every rate set and group
        value = np.einsum("rgsd,gd->rgs", chain.days[:, kind, cm, passed], cube[combo, k, :])
        if month <= as_of:  # the as-of month: only the days after the as-of date are still to come
            value *= (days_in_month - as_of.day) / days_in_month
        active = (state >= 0) & (state < ENDED)
        at = (replicate[None, :] * len(keys) + group[:, None]) * 3 + np.clip(state, 0, 2)
        added = np.where(active, np.take(value.ravel(), at), 0.0)
        first_month = start_month == month.year * 12 + month.month
        if first_month.any():
            starting = first_month[:, None] & will_start
            remaining = np.where(first_month, days_in_month - start_day + 1, 0)
            added = np.where(starting, (remaining * cube[combo_of, k, 0])[:, None], added)
            state = np.where(starting, LASNA, state).astype(np.int8)
        for key, member in members.items():
            totals[key][:, k, :] += member @ added
        state = _step(rng, chain.transition[:, :, cm], kinds, past, state, replicate)


def _step(
    rng, transition: np.ndarray, kinds: np.ndarray, past: np.ndarray, state: np.ndarray, replicate: np.ndarray
) -> np.ndarray:
    """Move every active study right to its next month's state.

    ``transition`` is the month's [rate set, kind, past planned end, state, next state]; a right moves to the
    first next state whose cumulative probability exceeds its draw. The small table is indexed per right and
    simulation (one flat index), rather than copying it out for every right.
    """
    active = (state >= 0) & (state < ENDED)
    cumulative = np.cumsum(transition, axis=-1).reshape(transition.shape[0], -1, transition.shape[-1])
    row = ((kinds * 2 + past) * 3)[:, None] + np.clip(state, 0, 2)  # (kind, past, state)
    at = replicate[None, :] * cumulative.shape[1] + row
    u = rng.random(state.shape)
    nxt = np.zeros(state.shape, np.int8)
    for j in range(3):  # (np.take from a flat copy: a third faster than fancy indexing the 3-d table)
        nxt += (u > np.take(np.ascontiguousarray(cumulative[:, :, j]).ravel(), at)).view(np.int8)
    return np.where(active, nxt, state).astype(np.int8)


def _actual(known: History, year: int, keys) -> dict:
    """(scope, breakdown) → {(member, month): student-years of the month of the year, up to the as-of date}."""
    # the funding code of the days themselves, not of the study right; one group-by over the pieces, then the
    # breakdowns from its few thousand rows. Every sum adds in one fixed order (the pieces', then the groups'):
    # floating-point sums in the order a parallel engine meets the rows differ in the last bit from run to run
    groups = (*(b for b in BREAKDOWNS if b != "total"), "funding_code", "m")
    summed = (
        known.pieces.lazy()
        .filter(pl.col("piece_start").dt.year() == year)
        .join(known.rights.lazy(), on=NUMBER, how="left", maintain_order="left")
        .with_columns(pl.col("month").dt.month().alias("m"))
        .group_by(*groups)
        .agg((pl.col("student_year_days_current").fill_null(0.0).sum() / 365).alias("sy"))
        .with_columns(pl.lit("total").alias("total"))
        .sort(*groups, nulls_last=True)
        .collect(engine="in-memory")  # (its group-by sums each group's rows in their order; streaming does not)
    )
    out = {}
    for scope, breakdown in keys:
        rows = summed if scope == "all" else summed.filter(pl.col("funding_code") == scope)
        by_month = rows.group_by(breakdown, "m").agg(pl.col("sy").sum())
        out[(scope, breakdown)] = {(r[breakdown], r["m"]): r["sy"] for r in by_month.iter_rows(named=True)}
    return out


def _turnover(known: History, population: pl.DataFrame, as_of: dt.date, keys, share: float) -> dict:
    """(scope, breakdown) → {member: standard deviation of the year's total from the study rights counted now and
    held back at the year's end, or the other way round}.

    The figures count what the export can count; at the year's end a different export counts, and some study rights
    held back now will be counted then, some counted now held back (``share``: the turnover late recording
    measures, both ways). Each such right moves the total by its year's student-years s, so the spread is
    √(share·Σs²), with s the right's student-years to date and, while it is open, the rest of the year."""
    rest = (dt.date(as_of.year, 12, 31) - as_of).days / 365
    rights = (
        known.pieces.lazy()
        .filter(pl.col("piece_start").dt.year() == as_of.year)
        .group_by(NUMBER)
        .agg(
            (pl.col("student_year_days_current").fill_null(0.0).sum() / 365).alias("s"),
            pl.col("funding_code").drop_nulls().first(),
        )
        .collect()
        .join(
            population.filter(pl.col("starts_on").is_null()).select(NUMBER, pl.lit(rest).alias("open")),
            on=NUMBER,
            how="left",
        )
        .join(known.rights, on=NUMBER, how="left")
        .with_columns(((pl.col("s") + pl.col("open").fill_null(0.0)) ** 2).alias("s2"), pl.lit("total").alias("total"))
    )
    out = {}
    for scope, breakdown in keys:
        inside = rights if scope == "all" else rights.filter(pl.col("funding_code") == scope)
        out[(scope, breakdown)] = {
            member: float(np.sqrt(share * s2))
            for member, s2 in inside.group_by(breakdown).agg(pl.col("s2").sum()).iter_rows()
        }
    return out


def _revised(actual: dict, late: LateRecording, as_of: dt.date) -> dict:
    """``actual`` with each recent month revised by what late recording is measured to change in it."""
    return {
        key: {(member, m): value * late.factor(as_of.month - m) for (member, m), value in months.items()}
        for key, months in actual.items()
    }


@dataclass(frozen=True)
class Intake:
    """Per calendar month of the year: planned and actual new students, and what one more starter adds."""

    planned: dict[int, int] | None  # None: no plan for the year
    actual: dict[int, int]
    per_starter: dict[int, float]  # months after the as-of month only
    expected_ahead: float = 0.0  # new starters the forecast already expects in the months after the as-of month
    per_starter_next_year: float = 0.0  # what one more starter on 1 January next year adds by its 31 December

    @classmethod
    def of(
        cls,
        known: History,
        chain: Chain,
        ahead: list[dt.date],
        year: int,
        plan: pl.DataFrame | None,
        population: pl.DataFrame,
    ) -> Intake:
        planned = None if plan is None else planned_by_month(plan)
        actual = started_by_month(known.starts, year)
        starts = [k for k, month in enumerate(ahead) if month > known.as_of]  # a start on the 1st is still ahead
        expected = population.filter(pl.col("starts_on") > known.as_of)["probability"].sum()
        next_year = [dt.date(year + 1, m, 1) for m in range(1, 13)]
        return cls(
            planned,
            actual,
            {ahead[k].month: _per_starter(chain, ahead, k) for k in starts},
            float(expected),
            _per_starter(chain, next_year, 0),
        )

    def reachable(self, needed: int | None) -> bool | None:
        """Whether ``needed`` additional starters (spread over the months ahead) can still start this year: at most
        as many again as the months ahead already expect (``REACHABLE_INTAKE``). None: no month is ahead."""
        if needed is None:
            return None
        return needed <= REACHABLE_INTAKE * self.expected_ahead

    def needed(self, shortfall: np.ndarray, probability: float, month: int | None = None) -> int | None:
        """Additional starters that make up ``shortfall`` (per simulation) with ``probability``: all starting in
        ``month``, or spread evenly over the months ahead (None)."""
        per_starter = (
            self.per_starter.get(month)
            if month
            else (float(np.mean(list(self.per_starter.values()))) if self.per_starter else None)
        )
        if not per_starter:
            return None
        return int(np.ceil(max(float(np.percentile(shortfall, 100 * probability)), 0.0) / per_starter - 1e-9))


def _per_starter(chain: Chain, ahead: list[dt.date], first: int) -> float:
    """Expected student-years by 31 December of one more full-time qualification student (the common case)
    starting lasna on the first day of ``ahead[first]``: the chain's expected path from there, replicate 0."""
    grid = pl.DataFrame({"day": ahead[first:]}).join(pl.DataFrame({"status": list(DAY_STATUSES)}), how="cross")
    valued = current_day_weights(
        grid.with_columns(pl.lit(QUALIFICATION).alias("study_right_type"), pl.lit(100.0).alias("part_time_percent"))
    )
    weight = (
        valued.sort("day", pl.col("status").replace_strict({s: i for i, s in enumerate(DAY_STATUSES)}))["weight"]
        .to_numpy()
        .reshape(len(ahead) - first, len(DAY_STATUSES))
    )
    state, total = np.array([1.0, 0.0, 0.0]), 0.0  # lasna, loma, paused on the month's first day
    for k, month in enumerate(ahead[first:]):
        cm = month.month - 1
        total += state @ chain.days[0, 0, cm, 0] @ weight[k]
        state = (state @ chain.transition[0, 0, cm, 0])[:3]
    return total / 365


def _frame(
    year, months, actual, revised, simulated, groups, targets, as_of, intake: Intake, turnover: dict
) -> pl.DataFrame:
    target = None
    if targets is not None and targets.height:
        hit = targets.filter(pl.col("year") == year)
        target = hit["target_student_years"][0] if hit.height else None
    n_ahead = next(iter(simulated.values())).shape[1]
    first_ahead = 12 - n_ahead
    held_back_draws = np.random.default_rng([SEED, 3]).standard_normal(SIMULATIONS)
    held_back_draws -= held_back_draws.mean()  # (mean 0 exactly: the expected figures, and their sums, do not move)
    rows = []
    for (scope, breakdown), (_, names) in groups.items():
        # members with study rights still open, and members with days earlier in the year
        members = sorted(set(names) | {member for member, _ in actual[(scope, breakdown)]})
        for member in members:
            cumulative = np.cumsum([actual[(scope, breakdown)].get((member, m), 0.0) for m in range(1, 13)])
            # the forecast goes on from the figures as they will stand once late recordings are in
            cumulative_revised = np.cumsum([revised[(scope, breakdown)].get((member, m), 0.0) for m in range(1, 13)])
            to_date = cumulative_revised[min(as_of.month, 12) - 1] if as_of.year == year else cumulative_revised[-1]
            sims = (
                simulated[(scope, breakdown)][names.index(member)]
                if member in names
                else np.zeros((n_ahead, SIMULATIONS))
            )  # month ahead × simulation
            # the study rights counted at the year's end differ from those counted now: one draw per simulation
            moved = held_back_draws * turnover[(scope, breakdown)].get(member, 0.0)
            year_end = to_date + (sims[-1] if n_ahead else np.zeros(SIMULATIONS)) + moved
            for m in range(1, 13):
                if m - 1 < first_ahead:
                    path = np.full(SIMULATIONS, cumulative_revised[m - 1])
                else:  # (the moved rights' share of the year grows with the cumulative figure)
                    path = to_date + sims[m - 1 - first_ahead]
                    path = path + moved * (path.mean() / year_end.mean() if year_end.mean() else 0.0)
                known = dt.date(year, m, 1) <= as_of
                rows.append(
                    {
                        "year": year,
                        "month": m,
                        "funding_scope": scope,
                        "breakdown": breakdown,
                        "breakdown_value": member,
                        "actual_cumulative_student_years": float(cumulative[m - 1]) if known else None,
                        "forecast_cumulative_student_years": float(path.mean()),
                        "forecast_cumulative_low_80": float(np.percentile(path, 10)),
                        "forecast_cumulative_high_80": float(np.percentile(path, 90)),
                        "forecast_year_total": float(year_end.mean()),
                        "forecast_year_low_80": float(np.percentile(year_end, 10)),
                        "forecast_year_high_80": float(np.percentile(year_end, 90)),
                        "forecast_year_low_50": float(np.percentile(year_end, 25)),
                        "forecast_year_high_50": float(np.percentile(year_end, 75)),
                        "target_student_years": target if breakdown == "total" else None,
                        **_intake_columns(intake, m, scope, breakdown, target, year_end),
                        "forecast_made_on": as_of,
                    }
                )
    # rounded: sums in parallel group-bys differ in the last bits between runs; the same export, the same mart
    return (
        pl.DataFrame(rows, schema=MART_SCHEMA)
        .with_columns(pl.selectors.float().round(9))
        .sort("funding_scope", "breakdown", "breakdown_value", "month")
    )


def _intake_columns(
    intake: Intake, month: int, scope: str, breakdown: str, target: float | None, year_end: np.ndarray
) -> dict:
    """The intake columns of one row: plan and actual on the total rows of all funding; what one more starter adds
    and how many more reach the target on the total rows of both scopes."""
    total = breakdown == "total"
    shortfall = target - year_end if total and target is not None else None
    return {
        "planned_starters": (intake.planned or {}).get(month, 0)
        if total and scope == "all" and intake.planned is not None
        else None,
        "actual_starters": intake.actual.get(month, 0) if total and scope == "all" else None,
        "student_years_per_starter": intake.per_starter.get(month) if total else None,
        **{
            f"additional_starters_in_month_{p}": intake.needed(shortfall, p / 100, month)
            if shortfall is not None and month in intake.per_starter
            else None
            for p in (50, 80)
        },
        **{
            f"additional_starters_spread_{p}": intake.needed(shortfall, p / 100) if shortfall is not None else None
            for p in (50, 80)
        },
        **_next_year_columns(intake, shortfall),
    }


def _next_year_columns(intake: Intake, shortfall: np.ndarray | None) -> dict:
    """Whether this year's intake can still reach the target; if not, the shortfall and what next year's intake would
    need to make it up (starting on 1 January, by next 31 December)."""
    if shortfall is None:
        return {"target_reachable_this_year": None, "shortfall_student_years_50": None, "next_year_starters_50": None}
    median = max(float(np.percentile(shortfall, 50)), 0.0)
    reachable = intake.reachable(intake.needed(shortfall, 0.5)) if intake.per_starter else median == 0
    return {
        "target_reachable_this_year": reachable,
        "shortfall_student_years_50": median,
        "next_year_starters_50": None
        if reachable or not intake.per_starter_next_year
        else int(np.ceil(median / intake.per_starter_next_year - 1e-9)),
    }
