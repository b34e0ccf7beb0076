"""Student-years (opiskelijavuodet) as KOSKI counts them: the one implementation.

A study right's timeline is cut into *pieces* on which nothing that matters changes:
status and funding code, part-time %, additional periods, the 28-day holiday allowance
and calendar months (so July, every month and the formula's dates 1.7.2023 and 1.1.2026,
both the first of a month, start on a piece boundary). Every measure is then days × a weight per piece, which is
why the monthly fact summed over whole months equals the per-study-right report for the
same period: both add up the same pieces.

The rules, with their sources, are in ``docs/architecture/student_years.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import polars as pl

from schemas.codes import ENDING_STATUSES, KOSKI_REPORT_TYPES, reference
from schemas.koski_report import DAY_MEASURES, MEASURE_OF_TYPE, PERIOD_MEASURES, STUDENT_YEAR_REPORT

#: the current formula counts from this day on
CURRENT_FORMULA_FROM = dt.date(2023, 7, 1)
#: the current formula counts holiday (loma) days up to and including this day, none after
HOLIDAY_COUNTED_UNTIL = dt.date(2025, 12, 31)
# (both formula dates begin a month, so a month's piece boundary is theirs too)
assert CURRENT_FORMULA_FROM.day == 1 and (HOLIDAY_COUNTED_UNTIL + dt.timedelta(days=1)).day == 1
#: the old formula counts the first 28 days of an unbroken holiday, from when it began
HOLIDAY_ALLOWANCE_DAYS = 28
PRESENT, HOLIDAY, GRADUATED = "lasna", "loma", "valmistunut"
OPEN_END = dt.date(9999, 12, 31)
RIGHT = "study_right_id"
#: an additional period's place in its file: overlapping part-time periods take the first listed
LISTED = "listed"
#: a study right's number in id order: at national size, joining and sorting millions of pieces on a number is
#: several times faster than on the text id
NUMBER = "right_number"

#: every day measure, in the order of KOSKI's report (``schemas/koski_report.py``), the current formula last
MEASURES = DAY_MEASURES
#: the measures that count days with an additional period: a piece carries them as bits of PERIOD_FLAGS, not as
#: columns (ten more float columns over ten million pieces would cost more memory than the rest of the piece)
PERIOD_DAY_MEASURES = tuple(m for m in MEASURES if m in set(MEASURE_OF_TYPE.values()))
PERIOD_FLAGS = "period_flags"
PART_TIME_TYPES = sorted(PERIOD_MEASURES["part_time"])
#: the Muoto (agreement type) of a workplace-learning period whose days are apprenticeship days
APPRENTICESHIP = "oppisopimus"
#: the additional periods' columns the calculation reads, with their types
ADDITIONAL_PERIODS = {
    "study_right_id": pl.Utf8,
    "period_type": pl.Utf8,
    "start_date": pl.Date,
    "end_date": pl.Date,
    "value": pl.Float64,
}
DAYS = (pl.col("piece_end") - pl.col("piece_start")).dt.total_days().cast(pl.Float64) + 1


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def measure(name: str) -> pl.Expr:
    """One day measure of a piece (``name`` in MEASURES)."""
    if name in PERIOD_DAY_MEASURES:
        bit = 1 << PERIOD_DAY_MEASURES.index(name)
        return pl.when((pl.col(PERIOD_FLAGS) & bit) != 0).then(DAYS).otherwise(pl.lit(0.0)).alias(name)
    return pl.col(name)


def july_rule() -> pl.DataFrame:
    """study_right_type → whether July days count in the current formula (null: the formula gives no value)."""
    return pl.DataFrame(
        [
            {"study_right_type": r["code"], "july_counted": {"true": True, "false": False}.get(r["july_counted"])}
            for r in reference("study_right_types")
        ],
        schema={"study_right_type": pl.Utf8, "july_counted": pl.Boolean},
    )


@dataclass(frozen=True)
class StudyRightHistory:
    """The validated rows the calculation reads (only study rights whose figures are known)."""

    study_rights: pl.DataFrame  # study_right_id, study_right_type, …
    status_periods: pl.DataFrame  # study_right_id, start_date, status, funding_code
    additional_periods: pl.DataFrame  # study_right_id, period_type, start_date, end_date, value
    #: study_right_id, agreement_type, start_date, end_date: apprenticeship days come from these too
    workplace_periods: pl.DataFrame | None = None

    def extras(self) -> pl.DataFrame:
        """The additional periods in the order they are listed (``listed``: overlapping part-time periods take the
        first listed, as KOSKI does), and every apprenticeship workplace period as an ``oppisopimus`` one."""
        extras = self.additional_periods.select(
            RIGHT,
            "period_type",
            "start_date",
            "end_date",
            pl.col("value").cast(pl.Float64),
            pl.int_range(pl.len(), dtype=pl.Int64).alias(LISTED),
        )
        if self.workplace_periods is None:
            return extras
        apprenticeships = self.workplace_periods.filter(pl.col("agreement_type") == APPRENTICESHIP).select(
            RIGHT,
            pl.lit(APPRENTICESHIP).alias("period_type"),
            "start_date",
            "end_date",
            pl.lit(None, pl.Float64).alias("value"),
            pl.lit(None, pl.Int64).alias(LISTED),
        )
        return pl.concat([extras, apprenticeships])

    @cached_property
    def numbers(self) -> pl.DataFrame:
        """study_right_id → NUMBER, numbered in id order (so sorting on the number sorts on the id)."""
        ids = pl.concat([self.study_rights[RIGHT], self.status_periods[RIGHT]]).unique().sort()
        return pl.DataFrame({RIGHT: ids}).with_row_index(NUMBER)

    def numbered(self, frame: pl.DataFrame) -> pl.LazyFrame:
        """``frame`` with NUMBER in place of the text id."""
        return frame.lazy().join(self.numbers.lazy(), on=RIGHT, maintain_order="left").drop(RIGHT)

    def with_ids(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` (keyed by NUMBER) with the text id back in front, NUMBER dropped."""
        ids = self.numbers[RIGHT].gather(frame[NUMBER])
        return frame.drop(NUMBER).insert_column(0, ids)

    def only(self, study_right_ids: pl.Series) -> StudyRightHistory:
        keep = pl.col(RIGHT).is_in(study_right_ids.implode())
        return StudyRightHistory(
            self.study_rights.filter(keep),
            self.status_periods.filter(keep),
            self.additional_periods.filter(keep),
            None if self.workplace_periods is None else self.workplace_periods.filter(keep),
        )


def status_segments(status_periods: pl.LazyFrame) -> pl.LazyFrame:
    """Each status period with its last day and the day its unbroken run of that status began.

    A status lasts until the day before the next one; an ending status is its own single
    day; the last status of an open study right runs on (``OPEN_END``).
    """
    new_run = (pl.col("status") != pl.col("status").shift(1).over(NUMBER)).fill_null(True)
    return (
        status_periods.select(NUMBER, "start_date", "status", "funding_code")
        .sort(NUMBER, "start_date")
        .with_columns(
            pl.when(pl.col("status").is_in(sorted(ENDING_STATUSES)))
            .then(pl.col("start_date"))
            .otherwise(pl.col("start_date").shift(-1).over(NUMBER).dt.offset_by("-1d"))
            .fill_null(OPEN_END)
            .alias("end_date"),
            new_run.cum_sum().over(NUMBER).alias("run"),
        )
        .with_columns(pl.col("start_date").min().over(NUMBER, "run").alias("status_began"))
        .drop("run")
    )


def pieces(history: StudyRightHistory, first: dt.date, last: dt.date) -> pl.DataFrame:
    """The study rights' days from ``first`` to ``last`` (inclusive) cut into uniform pieces, with every measure.

    Keyed by NUMBER (``history.with_ids`` puts the text id back), in (NUMBER, piece_start) order."""
    types = history.numbered(history.study_rights.select(RIGHT, "study_right_type"))
    segments = (
        (  # numbered in (study right, start) order, so (segment, cut) order is (study right, day) order
            status_segments(history.numbered(history.status_periods))
            .with_columns(
                pl.max_horizontal("start_date", pl.lit(first)).alias("seg_start"),
                pl.min_horizontal("end_date", pl.lit(last)).alias("seg_end"),
            )
            .filter(pl.col("seg_start") <= pl.col("seg_end"))
            .join(types, on=NUMBER, how="left", maintain_order="left")
            .with_row_index("segment")
        )
        .collect()
        .lazy()
    )
    extras = history.numbered(history.extras()).select(
        NUMBER,
        "period_type",
        pl.col("start_date").alias("extra_start"),
        pl.col("end_date").fill_null(OPEN_END).alias("extra_end"),
        "value",
        LISTED,
    )
    cut = pl.col("cut")
    # days other than a month's first on which something may change: kept where they fall inside the segment
    other_days = (
        pl.concat(
            [
                segments.filter(pl.col("status") == HOLIDAY).select(
                    "segment", pl.col("status_began").dt.offset_by(f"{HOLIDAY_ALLOWANCE_DAYS}d").alias("cut")
                ),
                segments.join(extras, on=NUMBER).select("segment", pl.col("extra_start").alias("cut")),
                segments.join(extras.filter(pl.col("extra_end") < OPEN_END), on=NUMBER).select(
                    "segment", pl.col("extra_end").dt.offset_by("1d").alias("cut")
                ),
            ]
        )
        .join(segments.select("segment", "seg_start", "seg_end"), on="segment")
        .filter((cut > pl.col("seg_start")) & (cut <= pl.col("seg_end")))
        .select("segment", "cut")
    )
    starts = pl.concat(
        [
            segments.select("segment", pl.col("seg_start").alias("cut")),
            segments.select(
                "segment",
                pl.date_ranges(
                    pl.col("seg_start").dt.month_start().dt.offset_by("1mo"), pl.col("seg_end"), "1mo"
                ).alias("cut"),
            )
            .explode("cut")
            .drop_nulls(),
            other_days,
        ]
    ).sort("segment", "cut")
    same_segment_next = pl.col("segment").shift(-1) == pl.col("segment")
    cut_up = (
        starts.filter(((pl.col("segment") != pl.col("segment").shift(1)) | (cut != cut.shift(1))).fill_null(True))
        .with_columns(pl.when(same_segment_next).then(cut.shift(-1).dt.offset_by("-1d")).alias("next_end"))
        .join(segments, on="segment", maintain_order="left")
        .select(
            "segment",
            NUMBER,
            "status",
            "funding_code",
            "status_began",
            "study_right_type",
            pl.col("cut").alias("piece_start"),
            pl.col("next_end").fill_null(pl.col("seg_end")).alias("piece_end"),
        )
        .with_row_index("piece")
    )
    return (
        _measured(_with_additional_periods(cut_up, extras))
        .select(
            NUMBER,
            "status",
            "funding_code",
            "piece_start",
            "piece_end",
            "part_time_percent",
            *(m for m in MEASURES if m not in PERIOD_DAY_MEASURES),
            PERIOD_FLAGS,
        )
        .collect()
    )


def _period_bit() -> pl.Expr:
    """An additional period's bit in PERIOD_FLAGS (0 for part-time, which has no day measure)."""
    bits = {t: 1 << PERIOD_DAY_MEASURES.index(m) for t, m in MEASURE_OF_TYPE.items()}
    return pl.col("period_type").replace_strict(bits, default=0, return_dtype=pl.UInt16)


def _with_additional_periods(cut_up: pl.LazyFrame, extras: pl.LazyFrame) -> pl.LazyFrame:
    """Part-time % and the additional periods (as PERIOD_FLAGS) in force on each piece."""
    covering = (
        cut_up.select("piece", NUMBER, "piece_start")
        .join(extras, on=NUMBER)
        .filter(pl.col("piece_start").is_between(pl.col("extra_start"), pl.col("extra_end")))
    )
    part_time = pl.col("period_type").is_in(PART_TIME_TYPES)
    flags = covering.group_by("piece").agg(
        # overlapping part-time periods: the first listed that contains the day is in force (KOSKI's
        # AikajaksoRowBuilder: ``osaAikaisuusjaksot.find(_.contains(päivä))``)
        pl.col("value").filter(part_time).sort_by(pl.col(LISTED).filter(part_time)).first().alias("part_time_percent"),
        _period_bit().unique().sum().cast(pl.UInt16).alias(PERIOD_FLAGS),
    )
    return cut_up.join(flags, on="piece", how="left", maintain_order="left").with_columns(
        pl.col(PERIOD_FLAGS).fill_null(0)
    )


def _measured(cut_up: pl.LazyFrame) -> pl.LazyFrame:
    """Every day measure of each piece (of a study right of ``study_right_type``)."""
    days = DAYS
    share = pl.col("part_time_percent").fill_null(100.0) / 100
    status = pl.col("status")
    within_allowance = pl.col("piece_start") < pl.col("status_began").dt.offset_by(f"{HOLIDAY_ALLOWANCE_DAYS}d")
    in_july = pl.col("piece_start").dt.month() == 7
    counts_now = (
        (pl.col("piece_start") >= CURRENT_FORMULA_FROM)
        & ~(in_july & ~pl.col("july_counted"))
        & (
            (status == PRESENT)
            | (status == GRADUATED)
            | ((status == HOLIDAY) & (pl.col("piece_start") <= HOLIDAY_COUNTED_UNTIL))
        )
    )
    zero = pl.lit(0.0)
    # (joins keep the pieces' order: sums over them then add in the same order every run, to the last bit)
    return cut_up.join(july_rule().lazy(), on="study_right_type", how="left", maintain_order="left").with_columns(
        pl.when(status.is_in([PRESENT, GRADUATED])).then(days).otherwise(zero).alias("present_or_graduated_days"),
        pl.when((status == HOLIDAY) & within_allowance).then(days).otherwise(zero).alias("holiday_days_counted"),
        pl.when((status == HOLIDAY) & ~within_allowance).then(days).otherwise(zero).alias("holiday_days_other"),
        pl.when(status == PRESENT)
        .then(days * share)
        .when((status == HOLIDAY) & within_allowance)
        .then(days * share)
        .when(status == GRADUATED)
        .then(days)
        .otherwise(zero)
        .alias("student_year_days_old"),
        pl.when(pl.col("july_counted").is_null())
        .then(pl.lit(None, pl.Float64))
        .when(counts_now & (status == GRADUATED))
        .then(days)
        .when(counts_now)
        .then(days * share)
        .otherwise(zero)
        .alias("student_year_days_current"),
    )


def _sums() -> list[pl.Expr]:
    current = pl.col("student_year_days_current")
    return [
        *(measure(m).sum() for m in MEASURES if m != "student_year_days_current"),
        # null, not 0, where the current formula gives no value for the study right's type
        pl.when(current.is_not_null().any()).then(current.sum()).alias("student_year_days_current"),
    ]


def _per_study_right_figures() -> list[pl.Expr]:
    """KOSKI's other columns of one study right's pieces (in day order): funding, ending and part-time."""
    status, funding = pl.col("status"), pl.col("funding_code")
    percent = pl.col("part_time_percent").fill_null(100.0)
    ended = status.last().is_in(sorted(ENDING_STATUSES))
    # KOSKI lists the part-time % of each stretch in order, a change back and forth each time; 100 alone is empty
    changes = percent.filter(percent != percent.shift(1).fill_null(-1.0))
    listed = changes.round(2).cast(pl.Utf8).str.replace(r"\.0+$", "").str.join(",")
    return [
        funding.drop_nulls().unique().sort().str.join(",").alias("funding_codes"),
        ended.alias("ended"),
        pl.when(ended).then(pl.col("piece_start").last()).alias("end_date"),
        pl.when(listed != "100").then(listed).alias("part_time_percentages"),
        ((DAYS * percent).sum() / DAYS.sum()).alias("part_time_average_percent"),
    ]


@dataclass(frozen=True)
class Calculation:
    """A history's days from ``first`` to ``last`` cut into pieces once; every figure is a sum of these pieces."""

    history: StudyRightHistory
    first: dt.date
    last: dt.date
    pieces: pl.DataFrame

    @classmethod
    def of(cls, history: StudyRightHistory, first: dt.date, last: dt.date) -> Calculation:
        return cls(history, first, last, pieces(history, first, last))

    @classmethod
    def up_to(cls, history: StudyRightHistory, as_of: dt.date) -> Calculation:
        """From the first status in the export to ``as_of`` (days after it are not yet known)."""
        return cls.of(history, history.status_periods["start_date"].min() or as_of, as_of)

    def by_study_right(self) -> pl.LazyFrame:
        """The pieces, with polars told what ``pieces`` guarantees: they come in (NUMBER, piece_start) order.

        A group-by per study right in order then walks the rows instead of hashing ten million of them."""
        return self.pieces.lazy().with_columns(pl.col(NUMBER).set_sorted())

    def per_study_right(self) -> pl.DataFrame:
        """KOSKI's opiskelijavuositiedot: one row per study right with a day in the period, KOSKI's columns in
        KOSKI's order (``schemas.koski_report.STUDENT_YEAR_REPORT``), of the types KOSKI's report selects (not
        TUVA: ``KOSKI_REPORT_TYPES``)."""
        summed = (
            self.by_study_right()
            .group_by(NUMBER, maintain_order=True)
            .agg(*_sums(), *_per_study_right_figures())
            .collect()
        )
        rights = self.history.study_rights.filter(pl.col("study_right_type").is_in(sorted(KOSKI_REPORT_TYPES)))
        report = self.history.with_ids(summed).join(
            rights.select(RIGHT, "study_right_oid"), on=RIGHT, how="inner", maintain_order="left"
        )
        return report.select(pl.col(c.name).cast(c.dtype) for c in STUDENT_YEAR_REPORT.columns)

    def parts(self, order: pl.Series, pieces_per_part: int = 2_000_000) -> Iterator[Calculation]:
        """The calculation in parts of whole study rights, each of about ``pieces_per_part`` pieces, the study
        rights taken in ``order`` (their ids in the order wanted): in the published key's order, which part a row
        is in tells nothing of its study-right id (in the calculation's id order, it told which fifth)."""
        sizes = self.pieces.group_by(NUMBER).len()
        wanted = (
            pl.DataFrame({RIGHT: order})
            .with_row_index("rank")
            .join(self.history.numbers, on=RIGHT)
            .join(sizes, on=NUMBER)
            .sort("rank")
            .with_columns((pl.col("len").cum_sum() - pl.col("len")).floordiv(pieces_per_part).alias("part"))
        )
        if wanted["part"].n_unique() <= 1:
            yield self
            return
        for _, numbers in wanted.group_by("part", maintain_order=True):
            theirs = self.pieces.filter(pl.col(NUMBER).is_in(numbers[NUMBER].sort().implode()))
            yield Calculation(self.history, self.first, self.last, theirs)

    def totals_per_study_right(self) -> pl.DataFrame:
        """Every day measure summed per study right (what the monthly fact must add up to)."""
        summed = self.by_study_right().group_by(NUMBER, maintain_order=True).agg(*_sums()).collect()
        return self.history.with_ids(summed)

    def month_sums(self) -> pl.LazyFrame:
        """One row per study right (its NUMBER) × calendar month × funding code with the day measures, in no order
        (the monthly fact puts them in its key's order, the only one that tells nothing)."""
        return (  # lazy: the streaming engine groups these millions of pieces several times faster
            self.pieces.lazy()
            .with_columns(pl.col("piece_start").dt.month_start().alias("month_start"))
            .group_by(NUMBER, "month_start", "funding_code")
            .agg(*_sums())
        )


def per_study_right(history: StudyRightHistory, first: dt.date, last: dt.date) -> pl.DataFrame:
    """KOSKI's opiskelijavuositiedot: one row per study right with days in ``first``…``last``."""
    return Calculation.of(history, first, last).per_study_right()


def current_day_weights(combos: pl.DataFrame) -> pl.DataFrame:
    """The current formula's weight of one day, for each row of ``combos``.

    ``combos`` has study_right_type, status, day and part_time_percent; the forecast uses
    this to value expected future days by the same rules as the actual ones.
    """
    one_day = combos.with_row_index("__row").with_columns(
        pl.col("__row").alias(NUMBER),
        pl.col("day").alias("piece_start"),
        pl.col("day").alias("piece_end"),
        pl.col("day").alias("status_began"),
    )
    measured = _measured(one_day.lazy())
    return (
        measured.sort("__row")
        .select(*combos.columns, pl.col("student_year_days_current").fill_null(0.0).alias("weight"))
        .collect()
    )
