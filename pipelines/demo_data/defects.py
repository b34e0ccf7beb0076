"""The defects real exports contain (source-exports.md section 3), injected at documented rates.

Every injected defect is recorded as truth: which row, which defect class, and the rule
that must catch it. ``DEFECTS`` is the documentation: class → (table, rate, rule).
A class's count is ``max(MIN_COUNT, round(rate × rows of the table))``; for the defects that
leave a study right out of the figures, of the rows the class can fall on (``CORRECTED_WITHIN``),
and for an annulment a share of the study rights (``_annul``).

The same records are wrong in every export of a world (``Injector``), and a defect that leaves
a study right out is made when the record is written and corrected within ``CORRECTED_WITHIN``:
as stewards work through the correction lists. Without that, every year's study rights would
gather such defects as they age, and a past year's figures would fall in every export. An
annulment is for good.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

DEFECT = "__defect"
MIN_COUNT = 2
#: a defect that leaves a study right out of the figures stands on records written this recently, and not older
CORRECTED_WITHIN = dt.timedelta(days=120)
#: the statuses the world ends a study right with
ENDED = ["valmistunut", "eronnut", "katsotaaneronneeksi"]


@dataclass(frozen=True)
class DefectClass:
    table: str
    rate: float
    #: the rule that must catch it; None for defects only matching can see (e.g. a duplicate CRM account)
    rule: str | None
    #: what the failure must do: reject the row, clear the value, or flag the row (``schemas/metadata.py``)
    consequence: str = "reject"
    description: str = ""

    @property
    def severity(self) -> str | None:
        return None if self.rule is None else "warning" if self.consequence == "flag" else "error"


DEFECTS: dict[str, DefectClass] = {
    "hetu_wrong_check_character": DefectClass(
        "students", 0.01, "students.hetu.valid", "clear", description="henkilötunnus with a wrong check character"
    ),
    "hetu_birth_date_mismatch": DefectClass(
        "students",
        0.005,
        "students.hetu_matches_birth_date",
        "clear",
        description="birth date disagrees with the henkilötunnus",
    ),
    "hetu_sex_mismatch": DefectClass(
        "students", 0.005, "students.hetu_matches_sex", "clear", description="sex disagrees with the henkilötunnus"
    ),
    "duplicate_student_line": DefectClass(
        "students", 0.003, "students.duplicate_line", description="exact duplicate row"
    ),
    "unknown_koulutus": DefectClass(
        "study_rights",
        0.005,
        "study_rights.koulutus_code.code",
        "clear",
        description="koulutus code not in the code list",
    ),
    "study_right_unknown_student": DefectClass(
        "study_rights",
        0.003,
        "study_rights.student_exists",
        "clear",
        description="row pointing at a student that does not exist",
    ),
    "study_right_without_periods": DefectClass(
        "study_rights",
        0.02,  # of the study rights starting within CORRECTED_WITHIN before the export (or later)
        "study_rights.has_status_periods",
        "flag",
        description="study right with no status periods",
    ),
    "campus_trailing_space": DefectClass(
        "study_rights", 0.02, "study_rights.whitespace", "flag", "trailing or non-breaking spaces"
    ),
    "status_out_of_order": DefectClass(
        "status_periods", 0.003, "status_periods.in_date_order", "flag", description="status periods out of order"
    ),
    "period_after_ending": DefectClass(
        "status_periods",
        0.02,  # of the study rights ended within CORRECTED_WITHIN before the export
        "status_periods.ending_status_last",
        description="a period after an ending status",
    ),
    "lasna_without_funding": DefectClass(
        "status_periods", 0.003, "status_periods.funding_required", "flag", description="lasna without a funding code"
    ),
    "unknown_tila": DefectClass(
        "status_periods",
        0.01,  # of the lasna periods starting within CORRECTED_WITHIN before the export
        "status_periods.status.code",
        description="unknown tila code",
    ),
    "annulled_study_right": DefectClass(
        "status_periods",
        0.015,  # of the study rights (``_annul``), each annulled for good soon after it starts
        "status_periods.annulled",
        "flag",
        description="an annulled study right (mitatoity after its last status): no defect, but counted nowhere",
    ),
    "duplicate_status_line": DefectClass(
        "status_periods", 0.002, "status_periods.duplicate_line", description="exact duplicate row"
    ),
    "unit_unknown_study_right": DefectClass(
        "assessed_units",
        0.001,
        "assessed_units.study_right_exists",
        description="row pointing at a study right that does not exist",
    ),
    "duplicate_unit_line": DefectClass(
        "assessed_units", 0.002, "assessed_units.duplicate_line", description="exact duplicate row"
    ),
    "truncated_last_line": DefectClass(
        "assessed_units", 0.0, "assessed_units.malformed_row", description="the file's last line is cut short"
    ),
    "workplace_end_before_start": DefectClass(
        "workplace_periods",
        0.004,
        "workplace_periods.end_date_not_before_start_date",
        description="end date before start date",
    ),
    "workplace_outside_study_right": DefectClass(
        "workplace_periods",
        0.004,
        "workplace_periods.within_study_right",
        "flag",
        description="workplace period outside its study right",
    ),
    "business_id_wrong_check_digit": DefectClass(
        "workplace_periods", 0.01, "workplace_periods.business_id.valid", "flag", "Y-tunnus with a wrong check digit"
    ),
    "workplace_name_nbsp": DefectClass(
        "workplace_periods", 0.02, "workplace_periods.whitespace", "flag", "non-breaking or trailing spaces in a name"
    ),
}
#: file-level defects: not a row, but a property of a file the reader must handle
FILE_DEFECTS = {
    "tyopaikkajaksot.csv": "a stray Windows-1252 file among UTF-8 ones",
    "opiskelijat.csv": "UTF-8 with a byte-order mark",
    "tutkinnon_osat.csv": "the last line is cut short (truncated export)",
}


def count_for(cls: DefectClass, rows: int) -> int:
    return max(MIN_COUNT, round(cls.rate * rows)) if cls.rate else 1


def record_key(frame: pl.DataFrame, seed: int) -> pl.Series:
    """A random number per row that stays the row's own from one export to the next: a keyed hash of the record's
    identity (its study right, or the table's first column where it has none, and which of that one's rows it is)."""
    first = "study_right_id" if "study_right_id" in frame.columns else frame.columns[0]
    identity = pl.struct(pl.col(first), pl.int_range(pl.len()).over(first).alias("__nth"))
    return frame.select(identity.hash(seed).alias("__key")).to_series()


class Injector:
    """Picks distinct victim rows per table so that defects never overlap within a table.

    ``order``: a random generator gives a random order; a seed an order fixed by each record's identity
    (``record_key``), so that the records wrong in one export are wrong in the next too, as in a real system, where
    a wrong record stays wrong until someone corrects it."""

    def __init__(self, order: np.random.Generator | int, tables: dict[str, pl.DataFrame]):
        self.rng = order if isinstance(order, np.random.Generator) else None
        self.seed = None if self.rng else int(order)
        self.tables = {k: v.with_columns(pl.lit(None, pl.Utf8).alias(DEFECT)) for k, v in tables.items()}
        self.order = {k: self._order(v) for k, v in self.tables.items()}

    def _order(self, frame: pl.DataFrame) -> np.ndarray:
        if self.rng is not None:
            return self.rng.permutation(frame.height)
        return np.argsort(record_key(frame, self.seed).to_numpy(), kind="stable")

    def reshuffle(self, table: str) -> None:
        """After rows were added, removed or moved: the rows' order afresh."""
        self.order[table] = self._order(self.tables[table])

    def first(self, frame: pl.DataFrame, n: int) -> pl.DataFrame:
        """The first ``n`` rows of ``frame`` in the injector's order."""
        return frame[self._order(frame)[:n]]

    def _eligible(self, table: str, where: pl.Expr | None) -> np.ndarray:
        ok = pl.col(DEFECT).is_null() & (where if where is not None else pl.lit(True))
        return self.tables[table].select(ok.fill_null(False)).to_series().to_numpy()

    def pick(self, table: str, n: int, where: pl.Expr | None = None) -> list[int]:
        """Up to ``n`` random rows with no defect yet that satisfy ``where``."""
        eligible = self._eligible(table, where)
        return [int(i) for i in self.order[table][eligible[self.order[table]]][:n]]

    def pick_share(self, cls: DefectClass, where: pl.Expr) -> list[int]:
        """The class's rate of the rows with no defect yet that satisfy ``where``."""
        return self.pick(cls.table, count_for(cls, int(self._eligible(cls.table, where).sum())), where)

    def mark(self, table: str, rows: list[int], defect: str, **changes) -> None:
        frame = self.tables[table].with_row_index("__i")
        hit = pl.col("__i").is_in(rows)
        self.tables[table] = frame.with_columns(
            *(pl.when(hit).then(expr).otherwise(pl.col(col)).alias(col) for col, expr in changes.items()),
            pl.when(hit).then(pl.lit(defect)).otherwise(pl.col(DEFECT)).alias(DEFECT),
        ).drop("__i")


def inject(seed: int, tables: dict[str, pl.DataFrame], as_of: dt.date) -> dict[str, pl.DataFrame]:
    """Return the tables with defects; each defective row carries its class in ``__defect``. The world's ``seed``
    picks the records, the same in every export of the world where they still qualify (``Injector``)."""
    inj = Injector(seed, tables)
    n = {k: v.height for k, v in tables.items()}

    def count(name):
        return count_for(DEFECTS[name], n[DEFECTS[name].table])

    # students — hetu check character: shift it to another valid character
    rows = inj.pick("students", count("hetu_wrong_check_character"), pl.col("hetu").is_not_null())
    inj.mark(
        "students",
        rows,
        "hetu_wrong_check_character",
        hetu=pl.col("hetu").str.slice(0, 10)
        + pl.when(pl.col("hetu").str.slice(10, 1) == "0").then(pl.lit("1")).otherwise(pl.lit("0")),
    )
    rows = inj.pick("students", count("hetu_birth_date_mismatch"), pl.col("hetu").is_not_null())
    inj.mark("students", rows, "hetu_birth_date_mismatch", birth_date=pl.col("birth_date") + pl.duration(days=3))
    rows = inj.pick("students", count("hetu_sex_mismatch"), pl.col("hetu").is_not_null())
    inj.mark(
        "students",
        rows,
        "hetu_sex_mismatch",
        sex=pl.when(pl.col("sex") == "1").then(pl.lit("2")).otherwise(pl.lit("1")),
    )

    # study rights
    rows = inj.pick("study_rights", count("unknown_koulutus"))
    inj.mark("study_rights", rows, "unknown_koulutus", koulutus_code=pl.lit("351399"))
    rows = inj.pick("study_rights", count("study_right_unknown_student"))
    inj.mark("study_rights", rows, "study_right_unknown_student", student_number=pl.lit("9") + pl.col("student_number"))
    recent = pl.col("start_date") >= as_of - CORRECTED_WITHIN
    rows = inj.pick_share(DEFECTS["study_right_without_periods"], recent)
    orphaned = inj.tables["study_rights"][rows]["study_right_id"]
    inj.mark("study_rights", rows, "study_right_without_periods")
    inj.tables["status_periods"] = inj.tables["status_periods"].filter(
        ~pl.col("study_right_id").is_in(orphaned.implode())
    )
    inj.reshuffle("status_periods")
    rows = inj.pick("study_rights", count("campus_trailing_space"))
    inj.mark("study_rights", rows, "campus_trailing_space", campus=pl.col("campus") + pl.lit("\u00a0 "))

    # status periods — out of order: move a later period before an earlier one of the same study right
    first_of_pair = pl.col("study_right_id") == pl.col("study_right_id").shift(-1)
    rows = inj.pick("status_periods", count("status_out_of_order"), first_of_pair & (pl.col("status") == "lasna"))
    inj.mark("status_periods", rows, "status_out_of_order")  # the earlier row, which will stand second
    swapped = (
        inj.tables["status_periods"]
        .with_row_index("__i")
        .with_columns(
            pl.when(pl.col("__i").is_in(rows))
            .then(pl.col("__i") + 1.5)
            .otherwise(pl.col("__i").cast(pl.Float64))
            .alias("__order")
        )
    )
    inj.tables["status_periods"] = swapped.sort("__order").drop("__i", "__order")
    p = inj.tables["status_periods"]
    ending = pl.col("status").is_in(ENDED) & pl.col(DEFECT).is_null()
    ended = p.with_row_index("__i").filter(
        ending & (pl.col("study_right_id") != pl.col("study_right_id").shift(-1)).fill_null(True) & recent
    )
    chosen = inj.first(ended, count_for(DEFECTS["period_after_ending"], ended.height))
    extra = chosen.select(
        "study_right_id",
        (pl.col("start_date") + pl.duration(days=14)).alias("start_date"),
        pl.lit("lasna").alias("status"),
        pl.lit("1").alias("funding_code"),
        pl.lit("period_after_ending").alias(DEFECT),
        (pl.col("__i") + 0.5).alias("__order"),
    )
    inj.tables["status_periods"] = (
        pl.concat(
            [p.with_row_index("__i").with_columns(pl.col("__i").cast(pl.Float64).alias("__order")).drop("__i"), extra],
            how="diagonal",
        )
        .sort("__order")
        .drop("__order")
    )
    inj.reshuffle("status_periods")
    rows = inj.pick("status_periods", count("lasna_without_funding"), pl.col("status") == "lasna")
    inj.mark("status_periods", rows, "lasna_without_funding", funding_code=pl.lit(None, pl.Utf8))
    rows = inj.pick_share(DEFECTS["unknown_tila"], (pl.col("status") == "lasna") & recent)
    inj.mark("status_periods", rows, "unknown_tila", status=pl.lit("opiskelee"))

    # assessed units
    rows = inj.pick("assessed_units", count("unit_unknown_study_right"))
    inj.mark("assessed_units", rows, "unit_unknown_study_right", study_right_id=pl.col("study_right_id") + pl.lit("-X"))

    # workplace periods
    rows = inj.pick("workplace_periods", count("workplace_end_before_start"), pl.col("end_date") > pl.col("start_date"))
    inj.mark(
        "workplace_periods",
        rows,
        "workplace_end_before_start",
        start_date=pl.col("end_date"),
        end_date=pl.col("start_date"),
    )
    rights_start = inj.tables["study_rights"].select("study_right_id", pl.col("start_date").alias("__right_start"))
    inj.tables["workplace_periods"] = inj.tables["workplace_periods"].join(
        rights_start, on="study_right_id", how="left", maintain_order="left"
    )
    rows = inj.pick("workplace_periods", count("workplace_outside_study_right"))
    inj.mark(
        "workplace_periods",
        rows,
        "workplace_outside_study_right",
        start_date=pl.col("__right_start") - pl.duration(days=30),
    )
    inj.tables["workplace_periods"] = inj.tables["workplace_periods"].drop("__right_start")
    rows = inj.pick(
        "workplace_periods", count("business_id_wrong_check_digit"), pl.col("business_id").str.len_chars() == 9
    )
    inj.mark(
        "workplace_periods",
        rows,
        "business_id_wrong_check_digit",
        business_id=pl.col("business_id").str.slice(0, 8)
        + ((pl.col("business_id").str.slice(8, 1).cast(pl.Int32) + 1) % 10).cast(pl.Utf8),
    )
    rows = inj.pick("workplace_periods", count("workplace_name_nbsp"))
    inj.mark(
        "workplace_periods",
        rows,
        "workplace_name_nbsp",
        workplace_name=pl.col("workplace_name").str.replace(" ", "\u00a0") + pl.lit(" "),
    )

    for name, table in (
        ("duplicate_student_line", "students"),
        ("duplicate_status_line", "status_periods"),
        ("duplicate_unit_line", "assessed_units"),
    ):
        rows = inj.pick(table, count(name))
        frame = inj.tables[table]
        copies = frame[rows].with_columns(pl.lit(name).alias(DEFECT))
        inj.tables[table] = pl.concat([frame, copies])  # the copies stand at the end: later lines
    _annul(inj, DEFECTS["annulled_study_right"], as_of)
    return inj.tables


def _annul(inj: Injector, annulled: DefectClass, as_of: dt.date) -> None:
    """Annul the class's share of the study rights for good, each on its own day 30–89 days after its first status
    (a study right registered in error is annulled soon after): every export from that day on shows its statuses
    up to then, a ``mitatoity`` period (the line right after them) and nothing later. One already ended by then, or
    touched by another defect, is left alone."""
    periods = inj.tables["status_periods"].with_row_index("__i")
    touched = pl.concat(
        [
            periods.filter(pl.col(DEFECT).is_not_null()).select("study_right_id"),
            inj.tables["study_rights"].filter(pl.col(DEFECT).is_not_null()).select("study_right_id"),
        ]
    )
    firsts = (
        periods.join(touched, on="study_right_id", how="anti")
        .group_by("study_right_id")
        .agg(pl.col("start_date").min().alias("__first"))
    )
    key = record_key(firsts, inj.seed + 1)  # (a key of its own: the other defects pick the lowest of theirs)
    day = firsts.with_columns(
        (pl.col("__first") + pl.duration(days=(30 + key % 60).cast(pl.Int64))).alias("__annulled_on")
    ).filter((key.cast(pl.Float64) / 2.0**64 < annulled.rate) & (pl.col("__annulled_on") <= as_of))
    before = periods.join(day, on="study_right_id").filter(pl.col("start_date") < pl.col("__annulled_on"))
    last = before.sort("study_right_id", "start_date").group_by("study_right_id", maintain_order=True).last()
    chosen = last.filter(~pl.col("status").is_in(ENDED)).sort("__i")
    later = periods.join(chosen.select("study_right_id", "__annulled_on"), on="study_right_id", how="left")
    periods = later.filter(pl.col("__annulled_on").is_null() | (pl.col("start_date") < pl.col("__annulled_on")))
    mitatoity = chosen.select(
        "study_right_id",
        pl.col("__annulled_on").alias("start_date"),
        pl.lit("mitatoity").alias("status"),
        pl.lit(None, pl.Utf8).alias("funding_code"),
        pl.lit("annulled_study_right").alias(DEFECT),
        (pl.col("__i").cast(pl.Float64) + 0.5).alias("__order"),
    )
    inj.tables["status_periods"] = (
        pl.concat(
            [
                periods.with_columns(pl.col("__i").cast(pl.Float64).alias("__order")).drop("__i", "__annulled_on"),
                mitatoity,
            ],
            how="diagonal",
        )
        .sort("__order")
        .drop("__order")
    )
    ids = chosen["study_right_id"].implode()
    inj.tables["study_rights"] = inj.tables["study_rights"].with_columns(
        pl.when(pl.col("study_right_id").is_in(ids)).then(None).otherwise(pl.col("end_date")).alias("end_date")
    )
