"""The star schema, computed with DuckDB SQL over the validated tables.

Each function returns one published table as a polars frame in the column order of its
model in ``schemas/published.py``; surrogate keys are assigned in a stable order, so a
rerun on the same input gives the same keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from pipelines.publishing.generalise import k_anonymous
from pipelines.publishing.labels import labelled
from pipelines.publishing.pseudonyms import pseudonymise
from schemas import published
from schemas.codes import ANNULLED_STATUS, ENDING_STATUSES, QUALIFICATIONS, SEX_CODES, SUPPRESS_BELOW_PERSONS, reference
from schemas.identifiers import business_id_normalised


def conform(frame: pl.DataFrame, name: str, in_key_order: bool = False) -> pl.DataFrame:
    """``frame`` as the published table ``name`` declares it: its columns, in order and type, code labels included,
    its rows in the order of its key (else of all its columns). The keys of persons and study rights are keyed
    pseudonyms, so the row order tells nothing of a source id (ordered by a study-right id, the rank of a row gave
    its student number back).

    ``in_key_order``: the builder made its rows in that order already (a filter of a published table, in its
    order); that is checked in one pass instead of sorting ten million rows again, and a frame out of order is
    refused."""
    table = published.BY_NAME[name]
    frame = labelled(frame, table).select(pl.col(c.name).cast(c.dtype) for c in table.columns)
    order = list(table.key or table.names)
    if not in_key_order:
        return frame.sort(order, nulls_last=True, maintain_order=True)
    if not frame.select(_follows(order).all()).item():
        raise ValueError(f"{name}: its rows were to come in the order of its key ({', '.join(order)}), and do not")
    return frame


def _follows(columns: list[str]) -> pl.Expr:
    """Whether each row comes after the one before it (or equals it) in the order of ``columns``, empty values
    last, as ``sort(columns, nulls_last=True)`` orders them; true for the first row."""
    after = pl.lit(True)
    for column in reversed(columns):
        now, before = pl.col(column), pl.col(column).shift(1)
        later = (before.is_not_null() & now.is_null()) | (before < now).fill_null(False)
        after = later | (before.eq_missing(now) & after)
    return after | pl.int_range(pl.len()).eq(0)


def sql(query: str, **frames: pl.DataFrame) -> pl.DataFrame:
    con = duckdb.connect()
    try:
        for name, frame in frames.items():
            con.register(name, frame.to_arrow())
        return con.sql(query).pl()
    finally:
        con.close()


def student_keys(numbers: pl.Series, key: bytes) -> pl.Series:
    """The published key of each student number."""
    return pseudonymise(numbers, key, "student").alias("student_key")


def study_right_keys(ids: pl.Series, key: bytes) -> pl.Series:
    """The published key of each local study-right id (which names its student, so never leaves the warehouse)."""
    return pseudonymise(ids, key, "study_right").alias("study_right_key")


@dataclass(frozen=True)
class Pseudonyms:
    """Every study right's and student's published key, made once per run from the student records: an HMAC per
    value is most of a fact's build otherwise (385k study rights and 350k students nationally, again for each of
    six tables), and a run that rebuilds one fact reads them instead of making them again."""

    #: study_right_id → study_right_key
    study_rights: pl.DataFrame
    #: student_number → student_key (every student, and every student number a study right names)
    students: pl.DataFrame

    @classmethod
    def of(cls, study_rights: pl.DataFrame, students: pl.DataFrame, key: bytes) -> Pseudonyms:
        rights = study_rights.select("study_right_id").unique().drop_nulls()
        numbers = pl.concat([students["student_number"], study_rights["student_number"]]).unique().drop_nulls()
        return cls(
            rights.with_columns(study_right_keys(rights["study_right_id"], key)),
            numbers.to_frame("student_number").with_columns(student_keys(numbers, key)),
        )

    def keyed(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` (in its order) with the key of its ``study_right_id`` and of its ``student_number``."""
        return frame.join(self.study_rights, on="study_right_id", how="left", maintain_order="left").join(
            self.students, on="student_number", how="left", maintain_order="left"
        )


#: (lowest age, band) from the oldest: the age bands dim_student publishes instead of a birth year
AGE_BANDS = ((50, "50+"), (40, "40–49"), (30, "30–39"), (25, "25–29"), (20, "20–24"), (18, "18–19"), (0, "alle 18"))
#: dim_student's quasi-identifiers, the most telling first (the first given up where a combination is rare)
QUASI_IDENTIFIERS = ["home_municipality", "mother_tongue", "age_band", "sex"]


def _age_band(birth_date: pl.Expr, as_of: dt.date) -> pl.Expr:
    age = (pl.lit(as_of.year) - birth_date.dt.year()) - (
        (birth_date.dt.month() * 100 + birth_date.dt.day()) > as_of.month * 100 + as_of.day
    ).cast(pl.Int32)
    band = pl.lit(None, pl.Utf8)
    for lowest, name in reversed(AGE_BANDS):
        band = pl.when(age >= lowest).then(pl.lit(name)).otherwise(band)
    return band


def dim_student(students: pl.DataFrame, pseudonyms: Pseudonyms, as_of: dt.date) -> pl.DataFrame:
    """Students by their keyed pseudonym, with only coarse quasi-identifiers (an age band, not a birth date), and
    those published k-anonymous: no combination of them is held by fewer than ``SUPPRESS_BELOW_PERSONS`` students."""
    frame = students.join(pseudonyms.students, on="student_number", how="left", maintain_order="left").with_columns(
        _age_band(pl.col("birth_date"), as_of).alias("age_band"),
        pl.col("sex").replace_strict(SEX_CODES, default=None).alias("sex"),
    )
    return conform(k_anonymous(frame, QUASI_IDENTIFIERS, SUPPRESS_BELOW_PERSONS), "dim_student")


def dim_qualification() -> pl.DataFrame:
    q = pl.DataFrame(list(reference(QUALIFICATIONS))).sort("koulutus_code")
    return conform(
        q.with_columns(
            pl.int_range(1, pl.len() + 1).alias("qualification_key"), pl.col("name").alias("qualification_name")
        ),
        "dim_qualification",
    )


def dim_campus(study_rights: pl.DataFrame) -> pl.DataFrame:
    names = study_rights.select(pl.col("campus").drop_nulls().unique().sort().alias("campus_name"))
    return conform(names.with_columns(pl.int_range(1, pl.len() + 1).alias("campus_key")), "dim_campus")


#: the time zone a timestamp's day is counted in
LOCAL_TIME_ZONE = "Europe/Helsinki"


def local_date(column: str) -> pl.Expr:
    """The Finnish calendar day of a UTC timestamp (or the date itself)."""
    return pl.col(column).dt.convert_time_zone(LOCAL_TIME_ZONE).dt.date()


def _yyyymmdd(day: pl.Expr) -> pl.Expr:
    """In integer arithmetic: formatting text for millions of rows is several times slower."""
    return day.dt.year().cast(pl.Int64) * 10_000 + day.dt.month().cast(pl.Int64) * 100 + day.dt.day().cast(pl.Int64)


def date_key(column: str) -> pl.Expr:
    """yyyymmdd of a date."""
    return _yyyymmdd(pl.col(column))


def timestamp_date_key(column: str) -> pl.Expr:
    """yyyymmdd of a timestamp's Finnish calendar day."""
    return _yyyymmdd(local_date(column))


def dim_date(facts: list[pl.DataFrame], as_of: dt.date) -> pl.DataFrame:
    """Every day of the whole calendar years from the first date in the facts to the last (at most ten years past the
    as-of date): whole years, so that a month's first day is in it whatever day the month's first fact is on."""
    dates = pl.concat(
        [f.select(pl.col(c).alias("d")) for f in facts for c, t in f.schema.items() if t == pl.Date]
        + [f.select(local_date(c).alias("d")) for f in facts for c, t in f.schema.items() if isinstance(t, pl.Datetime)]
    )
    first = (dates["d"].min() or as_of).replace(month=1, day=1)
    last = min(max(dates["d"].max() or as_of, as_of), dt.date(as_of.year + 10, 12, 31)).replace(month=12, day=31)
    days = pl.DataFrame({"date": pl.date_range(first, last, eager=True)})
    return conform(
        days.with_columns(
            date_key("date").alias("date_key"),
            pl.col("date").dt.year().cast(pl.Int64).alias("year"),
            pl.col("date").dt.month().cast(pl.Int64).alias("month"),
            pl.col("date").dt.day().cast(pl.Int64).alias("day"),
            pl.col("date").dt.week().cast(pl.Int64).alias("iso_week"),
            pl.col("date").dt.weekday().cast(pl.Int64).alias("weekday"),
            pl.col("date").dt.strftime("%Y-%m").alias("year_month"),
            (pl.col("date").dt.month() == 7).alias("is_july"),
        ),
        "dim_date",
    )


def fact_study_right(
    study_rights: pl.DataFrame,
    status_periods: pl.DataFrame,
    dim_qualification: pl.DataFrame,
    dim_campus: pl.DataFrame,
    pseudonyms: Pseudonyms,
) -> pl.DataFrame:
    """``is_annulled``: a ``mitatoity`` status, which KOSKI counts nowhere (BI leaves it out as our figures do)."""
    frame = sql(
        f"""
        SELECT s.*, q.qualification_key, c.campus_key, s.study_right_oid IS NOT NULL AS in_koski,
               s.study_right_id IN (SELECT study_right_id FROM periods WHERE status = '{ANNULLED_STATUS}')
                   AS is_annulled
        FROM study_rights s LEFT JOIN quals q USING (koulutus_code) LEFT JOIN campuses c ON c.campus_name = s.campus""",
        study_rights=study_rights,
        periods=status_periods.select("study_right_id", "status"),
        quals=dim_qualification,
        campuses=dim_campus,
    )
    frame = pseudonyms.keyed(frame).with_columns(
        date_key("start_date").alias("start_date_key"), date_key("end_date").alias("end_date_key")
    )
    return conform(frame, "fact_study_right")


def _student_of_right(
    frame: pl.DataFrame, study_rights: pl.DataFrame, pseudonyms: Pseudonyms, key: bytes
) -> pl.DataFrame:
    """``frame`` with its study right's student, koulutus code and both keys; the keys joined per study right (a
    right's five million units share 385k of them), not looked up again per row. A row of no known study right gets
    its id's key made here (``key``)."""
    rights = pseudonyms.keyed(study_rights.select("study_right_id", "student_number", "koulutus_code"))
    joined = frame.join(rights, on="study_right_id", how="left", maintain_order="left")
    if joined["study_right_key"].null_count() > joined["study_right_id"].null_count():  # (a row of no known right)
        joined = joined.with_columns(pl.coalesce("study_right_key", study_right_keys(joined["study_right_id"], key)))
    return joined


def fact_status_period(
    status_periods: pl.DataFrame, study_rights: pl.DataFrame, pseudonyms: Pseudonyms, key: bytes
) -> pl.DataFrame:
    """A status lasts until the day before the next one; an ending status is one day."""
    frame = sql(
        """
        SELECT *, row_number() OVER w AS period_number,
               CASE WHEN status IN (SELECT unnest($ending)) THEN start_date
                    ELSE lead(start_date) OVER w - INTERVAL 1 DAY END AS end_date
        FROM periods WINDOW w AS (PARTITION BY study_right_id ORDER BY start_date)""".replace(
            "$ending", repr(sorted(ENDING_STATUSES))
        ),
        periods=status_periods,
    )
    frame = _student_of_right(frame.with_columns(pl.col("end_date").cast(pl.Date)), study_rights, pseudonyms, key)
    return conform(frame.with_columns(date_key("start_date").alias("start_date_key")), "fact_status_period")


def fact_additional_period(
    additional_periods: pl.DataFrame, study_rights: pl.DataFrame, pseudonyms: Pseudonyms, key: bytes
) -> pl.DataFrame:
    frame = _student_of_right(additional_periods, study_rights, pseudonyms, key).with_columns(
        pl.when(pl.col("period_type") == "osa-aikaisuus").then(pl.col("value")).alias("part_time_percent"),
        date_key("start_date").alias("start_date_key"),
    )
    return conform(frame, "fact_additional_period")


def fact_assessed_unit(
    assessed_units: pl.DataFrame,
    study_rights: pl.DataFrame,
    dim_qualification: pl.DataFrame,
    pseudonyms: Pseudonyms,
    key: bytes,
) -> pl.DataFrame:
    frame = (
        _student_of_right(assessed_units, study_rights, pseudonyms, key)
        .join(dim_qualification.select("koulutus_code", "qualification_key"), on="koulutus_code", how="left")
        .with_columns(
            date_key("assessment_date").alias("assessment_date_key"),
            pl.col("recognised").replace_strict({"K": True, "E": False}, default=None).alias("recognised"),
        )
    )
    return conform(frame, "fact_assessed_unit")


def fact_workplace_period(
    workplace_periods: pl.DataFrame,
    study_rights: pl.DataFrame,
    organization_matches: pl.DataFrame,
    pseudonyms: Pseudonyms,
    key: bytes,
) -> pl.DataFrame:
    """Workplace periods with the organisation the (workplace name, Y-tunnus) pair was resolved to."""
    frame = _student_of_right(workplace_periods, study_rights, pseudonyms, key).with_columns(
        business_id_normalised("business_id").alias("business_id"), date_key("start_date").alias("start_date_key")
    )
    resolved = organization_matches.filter(pl.col("source_system") == "student_admin").select(
        pl.col("source_id").alias("workplace_name"), "business_id", "organization_key"
    )
    frame = frame.join(
        resolved, on=["workplace_name", "business_id"], how="left", nulls_equal=True, maintain_order="left"
    )
    return conform(frame, "fact_workplace_period")


def fact_student_year_target(targets: pl.DataFrame) -> pl.DataFrame:
    return conform(targets, "fact_student_year_target")
