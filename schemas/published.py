"""The BI contract: published tables (a star schema), their grain, keys and rules.

Dagster checks every published table against its model here before the set is switched
in; the Parquet schema and the data dictionary come from the same definitions.
"""

from __future__ import annotations

from dataclasses import replace

from schemas import koski_report, organizations
from schemas.fields import column
from schemas.metadata import Table, pattern_rule
from schemas.published_base import date_key_column, published_table, surrogate_key

#: in a fact: the study right's student
STUDENT_KEY = column(
    "student_key",
    meaning="Keyed pseudonym of the student (HMAC-SHA256 of the student number); null where the study right's "
    "student is unknown (its row in quarantine, or none in the export).",
)
STUDY_RIGHT_KEY = column(
    "study_right_key",
    nullable=False,
    rules=(
        pattern_rule(
            "{table}.study_right_key.format",
            "study_right_key is a 32-character hex pseudonym",
            "study_right_key",
            r"^[0-9a-f]{32}$",
        ),
    ),
)
DIM_STUDENT = published_table(
    "dim_student",
    "Students without direct identifiers.",
    "One row per student.",
    ("student_key",),
    (
        column(
            "student_key",
            nullable=False,
            unique=True,
            rules=(
                pattern_rule(
                    "dim_student.student_key.format",
                    "student_key is a 32-character hex pseudonym",
                    "student_key",
                    r"^[0-9a-f]{32}$",
                ),
            ),
        ),
        column("age_band"),
        column("sex"),
        column("mother_tongue", variant="dim_student"),
        column("home_municipality", variant="dim_student"),
    ),
)

DIM_QUALIFICATION = published_table(
    "dim_qualification",
    "Qualifications (koulutus) from the reference list.",
    "One row per koulutus code.",
    ("qualification_key",),
    (
        surrogate_key("qualification_key", meaning="Surrogate key."),
        column("koulutus_code", nullable=False, unique=True),
        column("qualification_name", nullable=False),
        column("qualification_type", nullable=False),
        column("study_right_type", meaning="The KOSKI suoritustyyppi this qualification is usually studied as."),
    ),
)

DIM_CAMPUS = published_table(
    "dim_campus",
    "Campuses (toimipisteet) as the provider names them.",
    "One row per campus name.",
    ("campus_key",),
    (surrogate_key("campus_key", meaning="Surrogate key."), column("campus_name", nullable=False, unique=True)),
)

DIM_DATE = published_table(
    "dim_date",
    "An unbroken calendar of whole years over every date in the published facts.",
    "One row per calendar day.",
    ("date_key",),
    (
        surrogate_key("date_key"),
        column("date", nullable=False, unique=True),
        column("year", nullable=False),
        column("month", nullable=False),
        column("day", nullable=False),
        column("iso_week", nullable=False),
        column("weekday", nullable=False),
        column("year_month", nullable=False),
        column("is_july", nullable=False),
    ),
)

_FK_STUDENT = ("student_key", "dim_student", "student_key")
FACT_STUDY_RIGHT = published_table(
    "fact_study_right",
    "Study rights with their keys to student, qualification and campus.",
    "One row per study right.",
    ("study_right_key",),
    (
        replace(STUDY_RIGHT_KEY, unique=True),
        STUDENT_KEY,
        column("qualification_key", meaning="Key to dim_qualification; null where the koulutus code was unknown."),
        column("campus_key", meaning="Key to dim_campus; null where the campus was missing."),
        column("study_right_type", meaning="KOSKI suoritustyyppi; null where it was not a known one."),
        column("osaamisala_code"),
        column("start_date", meaning="Start date; null where it was unreadable."),
        date_key_column("start_date_key", meaning="Start date as a dim_date key (yyyymmdd)."),
        column("planned_end_date"),
        column("end_date", meaning="Actual end date; null while open."),
        date_key_column("end_date_key"),
        column("in_koski", nullable=False),
        column("is_annulled", nullable=False),
    ),
    foreign_keys=(
        _FK_STUDENT,
        ("qualification_key", "dim_qualification", "qualification_key"),
        ("campus_key", "dim_campus", "campus_key"),
    ),
)

_FK_RIGHT = ("study_right_key", "fact_study_right", "study_right_key")
FACT_STATUS_PERIOD = published_table(
    "fact_status_period",
    "Status periods with their derived end date.",
    "One row per study right and status change (a status lasts until the day before the next one).",
    ("study_right_key", "period_number"),
    (
        STUDY_RIGHT_KEY,
        STUDENT_KEY,
        column("period_number", nullable=False),
        column("status", nullable=False),
        column("funding_code"),
        column("start_date", meaning="First day of the status.", nullable=False),
        date_key_column("start_date_key", False),
        column("end_date", meaning="Last day of the status; null while it goes on."),
    ),
    foreign_keys=(_FK_RIGHT, _FK_STUDENT),
)

FACT_ADDITIONAL_PERIOD = published_table(
    "fact_additional_period",
    "Additional periods (part-time, accommodation, special support, apprenticeship).",
    "One row per study right, period type and period.",
    (),
    (
        STUDY_RIGHT_KEY,
        STUDENT_KEY,
        column("period_type", nullable=False),
        column("start_date", nullable=False),
        date_key_column("start_date_key", False),
        column("end_date", meaning="Last day; null = open-ended."),
        column("part_time_percent"),
    ),
    foreign_keys=(_FK_RIGHT,),
)

FACT_ASSESSED_UNIT = published_table(
    "fact_assessed_unit",
    "Assessed qualification units.",
    "One row per study right and assessed unit.",
    (),
    (
        STUDY_RIGHT_KEY,
        STUDENT_KEY,
        column("qualification_key", meaning="Key to dim_qualification (of the study right)."),
        column("unit_code", nullable=False),
        column("unit_name"),
        column("credits"),
        column("grade"),
        column("assessment_date", nullable=False),
        date_key_column("assessment_date_key", False),
        column("recognised"),
    ),
    foreign_keys=(_FK_RIGHT,),
)

FACT_WORKPLACE_PERIOD = published_table(
    "fact_workplace_period",
    "Workplace learning periods with a normalised Y-tunnus.",
    "One row per study right, workplace and period.",
    (),
    (
        STUDY_RIGHT_KEY,
        STUDENT_KEY,
        column("agreement_type"),
        column(
            "business_id",
            rules=(
                pattern_rule(
                    "{table}.business_id.format",
                    "business_id is a Y-tunnus written 1234567-8",
                    "business_id",
                    r"^\d{7}-\d$",
                ),
            ),
        ),
        column("workplace_name"),
        organizations.ORGANIZATION_KEY,
        column("start_date", nullable=False),
        date_key_column("start_date_key", False),
        column("end_date"),
    ),
    foreign_keys=(_FK_RIGHT, organizations.FK_ORGANIZATION),
)

FACT_TARGET = published_table(
    "fact_student_year_target",
    "The provider's student-year target per year.",
    "One row per calendar year.",
    ("year",),
    (
        column("year", nullable=False, unique=True),
        column("target_student_years", nullable=False),
    ),
)

#: KOSKI's day columns (schemas/koski_report.py), in KOSKI's order, with the current formula last
_DAY_MEASURES = tuple(
    replace(c, source_header=None, meaning=f"{c.description} KOSKI: {c.source_header}.")
    for c in sorted(
        (c for c in koski_report.FIGURES if c.name in koski_report.DAY_MEASURES),
        key=lambda c: koski_report.DAY_MEASURES.index(c.name),
    )
)
FACT_STUDENT_YEAR_MONTH = published_table(
    "fact_student_year_month",
    "Student-year days as KOSKI counts them (opiskelijavuositiedot), by month.",
    "One row per study right, calendar month and funding code.",
    ("study_right_key", "month_date_key", "funding_code"),
    (
        STUDY_RIGHT_KEY,
        STUDENT_KEY,
        column("qualification_key", meaning="Key to dim_qualification (null where the koulutus code was unknown)."),
        column("campus_key", meaning="Key to dim_campus (null where the campus was missing)."),
        date_key_column("month_date_key", False),
        column("year", nullable=False),
        column("month", meaning="Calendar month 1–12.", nullable=False),
        column(
            "funding_code", meaning="KOSKI opintojenrahoitus code of the days; null on days without one (e.g. eronnut)."
        ),
        *_DAY_MEASURES,
        column("student_years_current"),
    ),
    foreign_keys=(
        _FK_RIGHT,
        _FK_STUDENT,
        ("qualification_key", "dim_qualification", "qualification_key"),
        ("campus_key", "dim_campus", "campus_key"),
        ("month_date_key", "dim_date", "date_key"),
    ),
)

FACT_WEIGHTED_STUDENT_YEAR_MONTH = published_table(
    "fact_weighted_student_year_month",
    "Student-years weighted by cost group (decree 1244/2020), from the site's cost-group configuration; "
    "the unweighted fact is never changed. Empty when no cost groups are configured.",
    "One row per study right, calendar month and funding code whose qualification has a configured cost group.",
    ("study_right_key", "month_date_key", "funding_code"),
    (
        STUDY_RIGHT_KEY,
        date_key_column("month_date_key", False),
        column("funding_code"),
        column("cost_group", nullable=False),
        column("weight", nullable=False),
        column("student_years_current", meaning="Unweighted student-years (current formula)."),
        column("weighted_student_years_current"),
    ),
    foreign_keys=(_FK_RIGHT,),
)

MART_STUDENT_YEAR_FORECAST = published_table(
    "mart_student_year_forecast",
    "Cumulative student-years (current formula) against the year's forecast with 80 % and 50 % intervals and the "
    "target.",
    "One row per year, month, funding scope (funding code 1 or all) and breakdown member (total, a campus or a "
    "qualification type).",
    ("year", "month", "funding_scope", "breakdown", "breakdown_value"),
    (
        column("year", nullable=False),
        column("month", meaning="Calendar month 1–12: figures are at the month's end.", nullable=False),
        column("funding_scope", nullable=False),
        column("breakdown", nullable=False),
        column("breakdown_value", nullable=False),
        column("actual_cumulative_student_years"),
        column("forecast_cumulative_student_years"),
        column("forecast_cumulative_low_80"),
        column("forecast_cumulative_high_80"),
        column("forecast_year_total", nullable=False),
        column("forecast_year_low_80", nullable=False),
        column("forecast_year_high_80", nullable=False),
        column("forecast_year_low_50", nullable=False),
        column("forecast_year_high_50", nullable=False),
        column("target_student_years", meaning="The year's target from tavoitteet.csv (total rows only)."),
        column(
            "planned_starters",
            meaning="New students the intake plan (aloitukset.csv) gives for the month (total rows of all funding; "
            "null without a plan for the year).",
        ),
        column("actual_starters"),
        column("student_years_per_starter"),
        column("additional_starters_in_month_50"),
        column("additional_starters_in_month_80"),
        column("additional_starters_spread_50"),
        column("additional_starters_spread_80"),
        column("target_reachable_this_year"),
        column("shortfall_student_years_50"),
        column("next_year_starters_50"),
        column("forecast_made_on", nullable=False),
    ),
)

MART_KOSKI_RECONCILIATION = published_table(
    "mart_koski_reconciliation",
    "Our student-year figures against KOSKI's own report (opiskelijavuositiedot) for the report's oppilaitos and "
    "period, column by column (which columns were compared, and why not the others). Study-right rows are for "
    "stewards only (reports/steward/corrections_koski.csv).",
    "One row per KOSKI report (oppilaitos and reporting period) and KOSKI figure column.",
    ("oppilaitos_oid", "period_first_day", "period_last_day", "column"),
    (
        column("oppilaitos_oid", nullable=False),
        column("period_first_day", nullable=False),
        column("period_last_day", nullable=False),
        column("column", meaning="Our column (as in fact_student_year_month).", nullable=False),
        column("koski_header", nullable=False),
        column("is_compared", nullable=False),
        column("not_compared_because"),
        column("our_total"),
        column("koski_total"),
        column("rows_differing", nullable=False),
        column("rows_matched", nullable=False),
        column("rows_only_in_koski", nullable=False),
        column("rows_only_ours", nullable=False),
        column("downloaded_on", nullable=False),
    ),
)

MART_KOSKI_DIFFERENCES = published_table(
    "mart_koski_differences",
    "Where our own student-administration export and KOSKI's data of the same day disagree, summed by kind: study "
    "rights only in ours, only in KOSKI or annulled in KOSKI, and differences in start, end, status timeline, "
    "funding, part-time and each additional period, with what they move in the year so far. Study-right rows are "
    "for stewards only (reports/steward/corrections_koski_differences.csv). Empty unless both are delivered.",
    "One row per kind of difference (and additional-period type).",
    ("difference_kind", "difference_period_type"),
    (
        column("difference_kind", nullable=False),
        column("difference_period_type"),
        column("study_rights_differing", nullable=False),
        column("days_moved", nullable=False),
        column("student_years_moved"),
        column("period_first_day", nullable=False),
        column("period_last_day", nullable=False),
        column("koski_delivered_on", nullable=False),
    ),
)

STUDENT_ADMIN_TABLES: tuple[Table, ...] = (
    DIM_STUDENT,
    DIM_QUALIFICATION,
    DIM_CAMPUS,
    DIM_DATE,
    FACT_STUDY_RIGHT,
    FACT_STATUS_PERIOD,
    FACT_ADDITIONAL_PERIOD,
    FACT_ASSESSED_UNIT,
    FACT_WORKPLACE_PERIOD,
    FACT_TARGET,
    FACT_STUDENT_YEAR_MONTH,
    FACT_WEIGHTED_STUDENT_YEAR_MONTH,
    MART_STUDENT_YEAR_FORECAST,
    MART_KOSKI_RECONCILIATION,
    MART_KOSKI_DIFFERENCES,
)
#: every published table: the student-administration star and the organisation area
TABLES: tuple[Table, ...] = STUDENT_ADMIN_TABLES + organizations.TABLES
BY_NAME = {t.name: t for t in TABLES}
