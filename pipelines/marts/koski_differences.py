"""Where our own system and KOSKI's data disagree, study right by study right, and what each difference moves.

KOSKI's report counts what KOSKI holds, and funding is paid on it; a provider sees the report months later. Its own
export and KOSKI's bulk data of the same day, both in the one student-record model, show the differences now:

* matched on KOSKI's source-system id (``lahdejarjestelma_id``, our study-right id), then on the study-right OID;
* a study right only in ours (not transferred, or a transfer that failed), only in KOSKI, or annulled in KOSKI;
* for a matched pair, each thing that differs: the start, the end, the status timeline, the funding codes, the
  part-time periods and each type of additional period.

What a difference moves is measured the only way that adds up: our record is changed into KOSKI's one difference at a
time, in the order above, and each step's change in the period's figures is that difference's effect (student-year
days of the formula in force, and for an additional period the days KOSKI's report counts for it). The effects of a
study right's differences sum to the whole difference between its two records' figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from pipelines.marts.student_years import NUMBER, RIGHT, Calculation, StudyRightHistory
from schemas.codes import ENDING_STATUSES, KOSKI_REPORT_TYPES, PERIOD_MEASURES
from schemas.koski_report import MEASURE_OF_TYPE

#: the kinds of difference, in the order their effects are measured (``period`` once per additional-period type)
KINDS = ("only_ours", "only_in_koski", "annulled_in_koski", "start", "end", "status", "funding", "part_time", "period")
PART_TIME = PERIOD_MEASURES["part_time"][0]
APPRENTICESHIP = "oppisopimus"
DAYS_PER_YEAR = 365
#: an additional-period type → the first type of its measure (an old name counts the same days as the new one)
CANONICAL = {t: PERIOD_MEASURES[m][0] for t, m in MEASURE_OF_TYPE.items()}
#: a variant's id: the study right's id and the step
_STEP = "\x1f"
DIFFERENCES_SCHEMA = {
    RIGHT: pl.Utf8,
    "study_right_oid": pl.Utf8,
    "student_number": pl.Utf8,
    "matched_by": pl.Utf8,
    "kind": pl.Utf8,
    "period_type": pl.Utf8,
    "ours": pl.Utf8,
    "koski": pl.Utf8,
    "days": pl.Float64,
    "student_years": pl.Float64,
}


@dataclass(frozen=True)
class KoskiSide:
    """KOSKI's data as the comparison needs it: its records, each study right's source-system id, the annulled."""

    history: StudyRightHistory  # its complete study rights (study_right_id = KOSKI's OID)
    source_ids: pl.DataFrame  # every valid study right's study_right_oid and source_system_id
    annulled: pl.Series  # OIDs KOSKI has annulled


def match(ours: pl.DataFrame, koski: KoskiSide) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(pairs, only ours, only in KOSKI) of every valid study right on either side: pairs with ``study_right_id``
    (ours), ``koski_id`` and ``matched_by``."""
    theirs = koski.source_ids.select(pl.col("study_right_oid").alias("koski_id"), "source_system_id")
    mine = ours.select(RIGHT, "study_right_oid")
    by_id = mine.join(theirs, left_on=RIGHT, right_on="source_system_id", how="inner").select(
        RIGHT, "koski_id", pl.lit("lahdejarjestelma_id").alias("matched_by")
    )
    rest = mine.join(by_id, on=RIGHT, how="anti")
    left = theirs.join(by_id, on="koski_id", how="anti")
    by_oid = rest.join(left, left_on="study_right_oid", right_on="koski_id", how="inner").select(
        RIGHT, pl.col("study_right_oid").alias("koski_id"), pl.lit("opiskeluoikeus_oid").alias("matched_by")
    )
    pairs = pl.concat([by_id, by_oid]).unique("koski_id", keep="first", maintain_order=True)
    pairs = pairs.unique(RIGHT, keep="first", maintain_order=True)
    only_ours = mine.join(pairs, on=RIGHT, how="anti")
    only_koski = theirs.join(pairs, on="koski_id", how="anti").select("koski_id")
    return pairs, only_ours, only_koski


def differences(
    ours: StudyRightHistory,
    koski: KoskiSide,
    first: dt.date,
    last: dt.date,
    since: dt.date | None = None,
    ours_valid: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every difference between ``ours`` and ``koski`` with what it moves in ``first``…``last``
    (:data:`DIFFERENCES_SCHEMA`), biggest effect first. ``since``: KOSKI's query asked for study rights started on or
    after it, so an older one of ours is not missing from KOSKI. ``ours_valid``: every valid study right of ours,
    complete or not (default: those of ``ours``); one whose figures are unknown on either side (held back) is matched
    but not compared."""
    rights = (ours.study_rights if ours_valid is None else ours_valid).filter(
        pl.col("study_right_type").is_in(sorted(KOSKI_REPORT_TYPES))
    )
    if since is not None:
        rights = rights.filter(pl.col("start_date").is_null() | (pl.col("start_date") >= since))
    pairs, only_ours, only_koski = match(rights, koski)
    known, known_koski = ours.study_rights[RIGHT].implode(), koski.history.study_rights[RIGHT].implode()
    pairs = pairs.filter(pl.col(RIGHT).is_in(known) & pl.col("koski_id").is_in(known_koski))
    only_ours = only_ours.filter(pl.col(RIGHT).is_in(known))
    only_koski = only_koski.filter(pl.col("koski_id").is_in(known_koski))
    whole = _figures(ours, first, last)
    theirs = _figures(koski.history, first, last)
    people = pl.concat([h.study_rights.select(RIGHT, "student_number") for h in (ours, koski.history)]).unique(
        RIGHT, keep="first"
    )
    annulled = only_ours.filter(pl.col("study_right_oid").is_in(koski.annulled.implode()))
    lone = [
        _lone(only_ours.join(annulled, on=RIGHT, how="anti"), whole, "only_ours", -1),
        _lone(annulled, whole, "annulled_in_koski", -1),
        _lone(
            only_koski.select(pl.col("koski_id").alias(RIGHT), pl.col("koski_id").alias("study_right_oid")),
            theirs,
            "only_in_koski",
            1,
        ),
    ]
    steps = _steps(ours, koski.history, pairs)
    found = pl.concat([*lone, _effects(steps, ours, first, last)], how="diagonal_relaxed")
    found = found.join(people, on=RIGHT, how="left")
    return (
        found.select(pl.col(c).cast(t) for c, t in DIFFERENCES_SCHEMA.items())
        .with_columns(pl.col("days").round(6), pl.col("student_years").round(6))
        .sort(pl.col("student_years").abs(), pl.col("days").abs(), RIGHT, "kind", descending=[True, True, False, False])
    )


def _figures(history: StudyRightHistory, first: dt.date, last: dt.date) -> pl.DataFrame:
    """Per study right: student-year days (the current formula where it gives a value, else the old one) and each
    additional period type's day measure over the period."""
    totals = Calculation.of(history, first, last).totals_per_study_right()
    days = pl.coalesce("student_year_days_current", "student_year_days_old").alias("year_days")
    return totals.select(RIGHT, days, *sorted(set(MEASURE_OF_TYPE.values())))


def _lone(rights: pl.DataFrame, figures: pl.DataFrame, kind: str, sign: int) -> pl.DataFrame:
    """A study right on one side only: what KOSKI counts more (sign 1) or less (-1) than ours for it."""
    moved = rights.join(figures, on=RIGHT, how="left").with_columns(
        (pl.col("year_days").fill_null(0.0) * sign).alias("days")
    )
    return moved.select(
        RIGHT,
        "study_right_oid",
        pl.lit(None, pl.Utf8).alias("matched_by"),
        pl.lit(kind).alias("kind"),
        "days",
        (pl.col("days") / DAYS_PER_YEAR).alias("student_years"),
    )


# ---- a matched pair, changed into KOSKI's record one difference at a time ------------------------------------------


@dataclass
class _Record:
    statuses: list[tuple[dt.date, str, str | None]]  # (start, status, funding), by start
    periods: dict[str, list[tuple[dt.date, dt.date | None, float | None]]]  # type → (start, end, value)

    @property
    def end(self) -> tuple[dt.date | None, str | None, str | None]:
        """The ending status period (start, status, funding), or three Nones while the study right is open."""
        last = self.statuses[-1] if self.statuses else None
        return last if last and last[1] in ENDING_STATUSES else (None, None, None)


def _records(history: StudyRightHistory, ids: pl.Series) -> dict[str, _Record]:
    keep = pl.col(RIGHT).is_in(ids.implode())
    records: dict[str, _Record] = {i: _Record([], {}) for i in ids}
    for r in history.status_periods.filter(keep).sort(RIGHT, "start_date").iter_rows(named=True):
        statuses = records[r[RIGHT]].statuses
        if not statuses or statuses[-1][1:] != (r["status"], r["funding_code"]):  # (a repeated status goes on)
            statuses.append((r["start_date"], r["status"], r["funding_code"]))
    extras = history.extras().filter(keep)
    for r in extras.iter_rows(named=True):
        records[r[RIGHT]].periods.setdefault(CANONICAL.get(r["period_type"], r["period_type"]), []).append(
            (r["start_date"], r["end_date"], r["value"] if r["period_type"] == PART_TIME else None)
        )
    return records


def _normalised(periods: list, start: dt.date | None, end: dt.date | None) -> list:
    """A type's periods within the study right, merged where they touch with the same value (an open end as None):
    two ways of writing the same days compare equal."""
    far = dt.date.max
    clipped = sorted(
        (max(a, start) if start else a, min(b or far, end or far), v)
        for a, b, v in periods
        if v != 100.0 and (end is None or a <= end) and (start is None or (b or far) >= start)
    )
    merged: list[list] = []
    for a, b, v in clipped:
        if merged and merged[-1][2] == v and a <= merged[-1][1] + dt.timedelta(days=1):
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b, v])
    return [(a, None if b == far else b, v) for a, b, v in merged]


def _with_start(statuses: list, start: dt.date) -> list:
    if not statuses or statuses[0][0] == start:
        return statuses
    if start < statuses[0][0]:
        return [(start, *statuses[0][1:]), *statuses[1:]]
    current = [s for s in statuses if s[0] <= start][-1]
    return [(start, *current[1:]), *[s for s in statuses if s[0] > start]]


def _with_end(statuses: list, end: tuple) -> list:
    kept = [s for s in statuses if s[1] not in ENDING_STATUSES and (end[0] is None or s[0] < end[0])]
    return kept if end[0] is None else [*kept, end]


def _text(statuses: list, part: slice = slice(0, 2)) -> str:
    return ", ".join(" ".join(str(x) for x in s[part] if x is not None) for s in statuses) or "–"


def _periods_text(periods: list) -> str:
    return ", ".join(f"{a}–{b or ''}" + (f" {v:g} %" if v is not None else "") for a, b, v in periods) or "–"


class _Steps:
    """One matched pair's differences, each a step from our record towards KOSKI's (the record after each kept)."""

    def __init__(self, ours: _Record):
        self.record = _Record(list(ours.statuses), {t: list(p) for t, p in ours.periods.items()})
        self.found: list[tuple] = []

    def take(self, kind: str, ours: str, koski: str, period_type: str | None = None, statuses=None, periods=None):
        if statuses is not None:
            self.record.statuses = statuses
        if period_type is not None:
            self.record.periods[period_type] = periods
        snapshot = _Record(list(self.record.statuses), dict(self.record.periods))
        self.found.append((kind, period_type, ours, koski, snapshot))


def _pair_steps(a: _Record, b: _Record) -> list[tuple]:
    """Our record ``a`` changed into KOSKI's ``b``: start, end, status timeline, funding, part-time, each type."""
    steps = _Steps(a)
    start = (a.statuses[0][0], b.statuses[0][0])
    if start[0] != start[1]:
        steps.take("start", str(start[0]), str(start[1]), statuses=_with_start(steps.record.statuses, start[1]))
    if a.end != b.end:
        steps.take("end", _text([a.end[:2]]), _text([b.end[:2]]), statuses=_with_end(steps.record.statuses, b.end))
    if [s[:2] for s in steps.record.statuses] != [s[:2] for s in b.statuses]:
        # (KOSKI's timeline, with our funding code where we have a status period starting the same day)
        ours_on = {d: f for d, _, f in steps.record.statuses}
        funded = [(d, s, ours_on.get(d, f)) for d, s, f in b.statuses]
        steps.take("status", _text(a.statuses), _text(b.statuses), statuses=funded)
    if steps.record.statuses != b.statuses:
        funding = slice(0, 3, 2)  # (start and funding code)
        steps.take("funding", _text(a.statuses, funding), _text(b.statuses, funding), statuses=list(b.statuses))
    bounds = [(a.statuses[0][0], a.end[0]), (b.statuses[0][0], b.end[0])]
    for period_type in sorted(set(a.periods) | set(b.periods), key=lambda t: (t != PART_TIME, t)):
        mine = _normalised(a.periods.get(period_type, []), *bounds[0])
        theirs = _normalised(b.periods.get(period_type, []), *bounds[1])
        if _normalised(mine, *bounds[1]) != theirs:
            kind = "part_time" if period_type == PART_TIME else "period"
            steps.take(kind, _periods_text(mine), _periods_text(theirs), period_type,
                       periods=b.periods.get(period_type, []))  # fmt: skip
    return steps.found


def _steps(ours: StudyRightHistory, koski: StudyRightHistory, pairs: pl.DataFrame) -> list[dict]:
    """Every matched pair's steps (:func:`_pair_steps`), numbered from 1 per study right."""
    mine, theirs = _records(ours, pairs[RIGHT]), _records(koski, pairs["koski_id"])
    steps = []
    for right, koski_id, matched_by in pairs.iter_rows():
        if not mine[right].statuses or not theirs[koski_id].statuses:
            continue
        steps += [
            {RIGHT: right, "study_right_oid": koski_id, "matched_by": matched_by, "step": n, "kind": kind,
             "period_type": period_type, "ours": o, "koski": k, "record": record}
            for n, (kind, period_type, o, k, record) in enumerate(_pair_steps(mine[right], theirs[koski_id]), 1)
        ]  # fmt: skip
    return steps


def _effects(steps: list[dict], ours: StudyRightHistory, first: dt.date, last: dt.date) -> pl.DataFrame:
    """Each step's change in the period's figures: the record after it against the record before it."""
    if not steps:
        return pl.DataFrame(schema={k: v for k, v in DIFFERENCES_SCHEMA.items() if k != "student_number"})
    base = ours.only(pl.Series(sorted({s[RIGHT] for s in steps})))
    variants = pl.DataFrame(
        {RIGHT: [s[RIGHT] for s in steps], "variant": [f"{s[RIGHT]}{_STEP}{s['step']}" for s in steps]}
    )
    rights = pl.concat(
        [
            base.study_rights.with_columns(pl.col(RIGHT) + f"{_STEP}0"),
            variants.join(base.study_rights, on=RIGHT)
            .drop(RIGHT)
            .rename({"variant": RIGHT})
            .select(base.study_rights.columns),
        ]
    )
    statuses, periods = [], []
    for s, variant in zip(steps, variants["variant"], strict=True):
        statuses += [(variant, d, st, f) for d, st, f in s["record"].statuses]
        periods += [(variant, t, a, b, v) for t, ps in s["record"].periods.items() for a, b, v in ps]
    status_schema = {RIGHT: pl.Utf8, "start_date": pl.Date, "status": pl.Utf8, "funding_code": pl.Utf8}
    period_schema = {RIGHT: pl.Utf8, "period_type": pl.Utf8, "start_date": pl.Date, "end_date": pl.Date,
                     "value": pl.Float64}  # fmt: skip
    history = StudyRightHistory(
        rights,
        pl.concat(
            [
                base.status_periods.select(*status_schema).with_columns(pl.col(RIGHT) + f"{_STEP}0"),
                pl.DataFrame(statuses, schema=status_schema, orient="row"),
            ]
        ),
        pl.concat(
            [
                base.extras().select(*period_schema).with_columns(pl.col(RIGHT) + f"{_STEP}0"),
                pl.DataFrame(periods, schema=period_schema, orient="row"),
            ]
        ),
    )
    figures = _figures(history, first, last).join(_funding_moved(history, first, last), on=RIGHT, how="left")
    figures = figures.with_columns(
        pl.col(RIGHT).str.split(_STEP).list.first().alias("right"),
        pl.col(RIGHT).str.split(_STEP).list.last().cast(pl.Int64).alias("step"),
    )
    measures = [c for c in figures.columns if c not in (RIGHT, "right", "step", "by_funding")]
    moved = figures.sort("right", "step").with_columns(
        *(pl.col(m).fill_null(0.0).diff().over("right").alias(m) for m in measures),
        _changed_funding(pl.col("by_funding").shift(1).over("right"), pl.col("by_funding")).alias("funding_days"),
    )
    frame = pl.DataFrame(
        [{k: v for k, v in s.items() if k != "record"} for s in steps],
        schema={RIGHT: pl.Utf8, "study_right_oid": pl.Utf8, "matched_by": pl.Utf8, "step": pl.Int64,
                "kind": pl.Utf8, "period_type": pl.Utf8, "ours": pl.Utf8, "koski": pl.Utf8},
    ).join(moved.drop(RIGHT).rename({"right": RIGHT}), on=[RIGHT, "step"], how="left")  # fmt: skip
    measure_of = pl.col("period_type").replace_strict(MEASURE_OF_TYPE, default=None)
    period_days = pl.coalesce(
        *(pl.when(measure_of == m).then(pl.col(m)) for m in sorted(set(MEASURE_OF_TYPE.values())))
    )
    kind = pl.col("kind")
    days = (
        pl.when(kind == "period")
        .then(period_days)
        .when(kind == "funding")
        .then(pl.col("funding_days"))
        .otherwise(pl.col("year_days"))
        .fill_null(0.0)
    )
    return (
        frame.with_columns(days.alias("days"))
        .with_columns(
            pl.when(kind == "period").then(0.0).otherwise(pl.col("days") / DAYS_PER_YEAR).alias("student_years")
        )
        .select(RIGHT, "study_right_oid", "matched_by", "kind", "period_type", "ours", "koski", "days", "student_years")
    )


def _funding_moved(history: StudyRightHistory, first: dt.date, last: dt.date) -> pl.DataFrame:
    """Per study right, its student-year days by funding code (``by_funding``: a list of code, days)."""
    calculation = Calculation.of(history, first, last)
    days = pl.coalesce("student_year_days_current", "student_year_days_old")
    summed = (
        calculation.by_study_right()
        .group_by(NUMBER, pl.col("funding_code").fill_null("–"))
        .agg(days.fill_null(0.0).sum().alias("days"))
        .sort(NUMBER, "funding_code")
        .group_by(NUMBER, maintain_order=True)
        .agg(pl.struct("funding_code", "days").alias("by_funding"))
        .collect()
    )
    return calculation.history.with_ids(summed).select(RIGHT, "by_funding")


def _changed_funding(before: pl.Expr, after: pl.Expr) -> pl.Expr:
    """The days counted under another funding code after a step than before it (half the codes' total change)."""

    def moved(pair: dict) -> float:
        was = {c["funding_code"]: c["days"] for c in pair["before"] or []}
        now = {c["funding_code"]: c["days"] for c in pair["after"] or []}
        return sum(abs(now.get(code, 0.0) - was.get(code, 0.0)) for code in set(was) | set(now)) / 2

    return pl.struct(before.alias("before"), after.alias("after")).map_elements(moved, return_dtype=pl.Float64)
