"""KOSKI's bulk data as our student-record model: the tables a Primus-style export has, from KOSKI's files.

Every figure, fact and check downstream reads one model (``schemas/student_admin.py``'s study rights, status
periods, additional periods, assessed units and students). KOSKI delivers another shape: its time slices
(``opiskeluoikeus_aikajakso.csv``, ``koski-bulk.md`` A7) hold a study right's status, funding, part-time % and every
additional period from a day to a day, cut wherever any of them changes. Read back:

* a status period starts wherever the status or the funding code changes from the slice before (slices cut by an
  additional period repeat the status: the same period goes on);
* an additional period is a run of slices with its flag set, a part-time period a run with the same osa-aikaisuus
  below 100 %; ``9999-12-31`` is an open end;
* the study right's type, koulutus and campus come from its main suoritus: of several, the one KOSKI's
  student-year report decides the July rule by (a type that excludes July first, ``koski-bulk.md`` A9.3);
* the person is the learner's master OID: the student number of a study right known only to KOSKI.

Only vocational study rights (koulutusmuoto ``ammatillinenkoulutus``) are in the model, as in KOSKI's own report.
A study right whose timeline failed a rule in KOSKI's files (a rejected slice or suoritus, a status, part-time or
flag value cleared) is listed as held back under that rule, as one from our own export would be.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.ingestion.reading import RawTable
from pipelines.validation import CLEARED, FAILURE_SCHEMA, HAS_WARNINGS, REJECTED, TableOutcome
from schemas import koski_bulk, student_admin
from schemas.codes import PERIOD_MEASURES, reference
from schemas.metadata import LINE

VOCATIONAL = "ammatillinenkoulutus"
OPEN_END = dt.date(9999, 12, 31)
OID = "study_right_oid"
PART_TIME = PERIOD_MEASURES["part_time"][0]
#: a time slice's flag → the additional-period type whose days it counts
PERIOD_TYPE_OF_FLAG = {flag: PERIOD_MEASURES[f"{flag}_days"][0] for flag in koski_bulk.FLAGS}
#: KOSKI's suoritus types → how the study right's type is chosen among several: July excluded first, then July
#: counted, then the rest (KOSKI's report checks the excluding types first)
_JULY_RANK = pl.DataFrame(
    [(r["code"], {"false": 0, "true": 1}.get(r["july_counted"], 2)) for r in reference("study_right_types")],
    schema={"study_right_type": pl.Utf8, "rank": pl.Int64},
    orient="row",
)
#: per KOSKI table, the columns whose failure leaves a study right's figures unknown (any rejected row does too)
TIMELINE: dict[str, tuple[str, ...]] = {
    koski_bulk.STUDY_RIGHTS.name: ("start_date", "end_date"),
    koski_bulk.TIME_SLICES.name: ("status", "part_time_percent", *koski_bulk.FLAGS),
    koski_bulk.QUALIFICATIONS.name: ("study_right_type",),
}
#: the rules that leave out a redundant copy of a row (the same study right delivered twice, a line repeated)
REDUNDANT = ("delivered_twice", "duplicate_line")
#: the status-period column a held-back study right is listed under (``student_year_history.held_back`` reads it)
_HELD_UNDER = ("status_periods", "status")


def as_student_records(koski: dict[str, TableOutcome], raws: dict[str, RawTable]) -> dict[str, TableOutcome]:
    """One validated KOSKI delivery as the student-record tables (``student_admin.TABLES``)."""
    unread = next((o for o in koski.values() if o.valid is None and o.table != koski_bulk.ANNULLED.name), None)
    if unread is not None:  # a file the model is made from could not be read: nothing can be built from it
        return {t.name: _unreadable(t.name, unread) for t in student_admin.TABLES}
    rights = koski[koski_bulk.STUDY_RIGHTS.name].rows().filter(pl.col("education_form") == VOCATIONAL)
    vocational = rights[OID].implode()
    slices = (
        koski[koski_bulk.TIME_SLICES.name]
        .rows()
        .filter(pl.col(OID).is_in(vocational))
        .unique([OID, "start_date"], keep="first", maintain_order=True)
        .sort(OID, "start_date")
    )
    main = _main_suoritus(koski[koski_bulk.QUALIFICATIONS.name].rows())
    frames = {
        "students": _students(rights),
        "study_rights": _study_rights(rights, main),
        "status_periods": _status_periods(slices),
        "additional_periods": _additional_periods(slices),
        "assessed_units": _assessed_units(koski[koski_bulk.UNITS.name].rows().filter(pl.col(OID).is_in(vocational))),
        "workplace_periods": _empty("workplace_periods"),
        "targets": _empty("targets"),
    }
    held = held_failures(koski, raws)
    return {
        name: TableOutcome(
            table=name,
            source_file=student_admin.BY_NAME[name].source_file,
            valid=frame.with_columns(pl.lit(False).alias(HAS_WARNINGS)),
            failures=held if name == _HELD_UNDER[0] else pl.DataFrame(schema=FAILURE_SCHEMA),
            rows_read=frame.height,
        )
        for name, frame in frames.items()
    }


def held_failures(koski: dict[str, TableOutcome], raws: dict[str, RawTable]) -> pl.DataFrame:
    """The failures in KOSKI's files that leave a study right's figures unknown, one per study right and rule, keyed
    by the study right's OID as delivered (the quarantine itself keeps KOSKI's own rows, masked)."""
    parts = []
    for table, columns in TIMELINE.items():
        outcome, raw = koski[table], raws[table]
        failing = outcome.failures.filter(
            (REJECTED | (CLEARED & pl.col("column").is_in(list(columns))))
            & ~pl.col("rule_id").str.contains(rf"\.({'|'.join(REDUNDANT)})$")  # (the kept copy counts, the other not)
        )
        lines = pl.concat(
            [
                frame.select(LINE, pl.col(OID).alias("record_key"))
                for frame in (raw.frame, raw.rejects)
                if frame is not None and OID in frame.columns
            ]
        )
        parts.append(
            failing.drop("record_key")
            .join(lines, on=LINE, how="inner")
            .filter(pl.col("record_key").is_not_null())
            .unique(["record_key", "rule_id"])
            .with_columns(
                pl.lit(_HELD_UNDER[1]).alias("column"),
                pl.lit("error").alias("severity"),
                pl.lit("reject").alias("consequence"),
            )
            .select(FAILURE_SCHEMA.keys())
        )
    return pl.concat(parts).cast(FAILURE_SCHEMA).sort("record_key", "rule_id")


def _empty(name: str) -> pl.DataFrame:
    table = student_admin.BY_NAME[name]
    return pl.DataFrame(schema={**table.schema, LINE: pl.Int64})


def _shaped(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """``frame`` with exactly the columns (and types) of the student-record table ``name``, and its line."""
    table = student_admin.BY_NAME[name]
    return frame.select(*(pl.col(c).cast(t) for c, t in table.schema.items()), pl.col(LINE).cast(pl.Int64))


def _json(column: str, path: str) -> pl.Expr:
    return pl.col(column).str.json_path_match(path)


def _main_suoritus(qualifications: pl.DataFrame) -> pl.DataFrame:
    """Per study right, the main suoritus its type, koulutus and campus are taken from."""
    return (
        qualifications.join(_JULY_RANK, on="study_right_type", how="left")
        .sort(OID, pl.col("rank").fill_null(2), LINE)
        .unique(OID, keep="first", maintain_order=True)
        .select(
            OID,
            "study_right_type",
            "koulutus_code",
            "campus",
            _json("koski_data", "$.osaamisala[0].osaamisala.koodiarvo").alias("osaamisala_code"),
        )
    )


def _students(rights: pl.DataFrame) -> pl.DataFrame:
    people = rights.group_by("learner_oid", maintain_order=True).agg(pl.col(LINE).min())
    return _shaped(
        people.with_columns(pl.col("learner_oid").alias("student_number")).with_columns(
            pl.lit(None, pl.Utf8).alias(c)
            for c in student_admin.STUDENTS.names
            if c not in ("student_number", "learner_oid")
        ),
        "students",
    )


def _study_rights(rights: pl.DataFrame, main: pl.DataFrame) -> pl.DataFrame:
    planned = _json("koski_data", "$['arvioituPäättymispäivä']").str.to_date("%Y-%m-%d", strict=False)
    return _shaped(
        rights.join(main, on=OID, how="left", maintain_order="left").with_columns(
            pl.col(OID).alias("study_right_id"),
            pl.col("learner_oid").alias("student_number"),
            planned.alias("planned_end_date"),
        ),
        "study_rights",
    )


def _runs(slices: pl.DataFrame, value: pl.Expr, kept: pl.Expr) -> pl.DataFrame:
    """Consecutive slices of a study right with the same ``value``, those ``kept``: one row each with the run's first
    and last day (an open end as null), the value and the first slice's line."""
    first = pl.int_range(pl.len()).over(OID) == 0
    changed = first | pl.col("value").ne_missing(pl.col("value").shift(1).over(OID))
    return (
        slices.with_columns(value.alias("value"))
        .with_columns(changed.cast(pl.Int32).cum_sum().over(OID).alias("run"))
        .filter(kept)
        .group_by(OID, "run", maintain_order=True)
        .agg(
            pl.col("start_date").min(),
            pl.col("end_date").max(),
            pl.col("value").first(),
            pl.col(LINE).min(),
            pl.all().exclude("start_date", "end_date", "value", LINE, "run").first(),
        )
        .with_columns(pl.when(pl.col("end_date") < OPEN_END).then(pl.col("end_date")).alias("end_date"))
    )


def _status_periods(slices: pl.DataFrame) -> pl.DataFrame:
    runs = _runs(slices, pl.concat_str("status", pl.col("funding_code").fill_null(""), separator="|"), pl.lit(True))
    return _shaped(runs.with_columns(pl.col(OID).alias("study_right_id")), "status_periods")


def _additional_periods(slices: pl.DataFrame) -> pl.DataFrame:
    flags = [
        _runs(slices, pl.col(flag), pl.col("value").fill_null(False)).with_columns(
            pl.lit(period_type).alias("period_type"), pl.lit(None, pl.Float64).alias("value")
        )
        for flag, period_type in PERIOD_TYPE_OF_FLAG.items()
    ]
    part_time = _runs(slices, pl.col("part_time_percent"), pl.col("value") < 100).with_columns(
        pl.lit(PART_TIME).alias("period_type"), pl.col("value").cast(pl.Float64)
    )
    periods = pl.concat([_shaped(p.with_columns(pl.col(OID).alias("study_right_id")), "additional_periods")
                         for p in (part_time, *flags)])  # fmt: skip
    return periods.sort("study_right_id", LINE, "period_type")


def _assessed_units(units: pl.DataFrame) -> pl.DataFrame:
    """The assessed units directly under a main suoritus (their own parts are inside them, not beside)."""
    assessed = units.filter(pl.col("upper_unit_id").is_null() & pl.col("assessment_date").is_not_null())
    return _shaped(
        assessed.with_columns(
            pl.col(OID).alias("study_right_id"),
            pl.col("recognised").replace_strict({True: "K", False: "E"}, default=None, return_dtype=pl.Utf8),
        ),
        "assessed_units",
    )


def _unreadable(name: str, unread: TableOutcome) -> TableOutcome:
    return TableOutcome(
        table=name,
        source_file=unread.source_file,
        valid=None,
        failures=pl.DataFrame(schema=FAILURE_SCHEMA),
        rows_read=0,
        problem=unread.problem,
    )
