"""The BI contract: published tables (a star schema), their grain, keys and rules.

Dagster checks every published table against its model here before the set is switched
in; the Parquet schema and the data dictionary come from the same definitions.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from schemas import koski_report, organizations
from schemas.metadata import Column, Table, pattern_rule
from schemas.published_base import date_key_column, published_table, surrogate_key

STUDENT_KEY = Column(
    "student_key",
    pl.Utf8,
    "Keyed pseudonym of the student (HMAC-SHA256 of the student number); "
    "null where the study right's student is unknown (its row in quarantine, or none in the export).",
)
STUDY_RIGHT_KEY = Column(
    "study_right_key",
    pl.Utf8,
    "Keyed pseudonym of the study right (HMAC-SHA256 of its local id, keyed like "
    "student_key): the local id names its student, so it is never published.",
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
        Column(
            "student_key",
            pl.Utf8,
            "Keyed pseudonym of the student (HMAC-SHA256 of the student number).",
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
        Column("birth_year", pl.Int64, "Year of birth."),
        Column("sex", pl.Utf8, "male / female.", code_list="male, female"),
        Column("mother_tongue", pl.Utf8, "Mother tongue, ISO 639-1."),
        Column("home_municipality", pl.Utf8, "Home municipality code (Statistics Finland)."),
    ),
)

DIM_QUALIFICATION = published_table(
    "dim_qualification",
    "Qualifications (koulutus) from the reference list.",
    "One row per koulutus code.",
    ("qualification_key",),
    (
        surrogate_key("qualification_key"),
        Column("koulutus_code", pl.Utf8, "6-digit koulutus code.", nullable=False, unique=True),
        Column("qualification_name", pl.Utf8, "Name in Finnish.", nullable=False),
        Column(
            "qualification_type", pl.Utf8, "perustutkinto, ammattitutkinto, erikoisammattitutkinto, …", nullable=False
        ),
        Column("study_right_type", pl.Utf8, "The KOSKI suoritustyyppi this qualification is usually studied as."),
    ),
)

DIM_CAMPUS = published_table(
    "dim_campus",
    "Campuses (toimipisteet) as the provider names them.",
    "One row per campus name.",
    ("campus_key",),
    (surrogate_key("campus_key"), Column("campus_name", pl.Utf8, "Campus name.", nullable=False, unique=True)),
)

DIM_DATE = published_table(
    "dim_date",
    "An unbroken calendar of whole years over every date in the published facts.",
    "One row per calendar day.",
    ("date_key",),
    (
        surrogate_key("date_key", words="yyyymmdd."),
        Column("date", pl.Date, "The day.", nullable=False, unique=True),
        Column("year", pl.Int64, "Calendar year.", nullable=False),
        Column("month", pl.Int64, "Month 1–12.", nullable=False),
        Column("day", pl.Int64, "Day of month.", nullable=False),
        Column("iso_week", pl.Int64, "ISO week.", nullable=False),
        Column("weekday", pl.Int64, "ISO weekday, 1 = Monday.", nullable=False),
        Column("year_month", pl.Utf8, "yyyy-mm.", nullable=False),
        Column("is_july", pl.Boolean, "July (not counted for some study right types).", nullable=False),
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
        Column("qualification_key", pl.Int64, "Key to dim_qualification; null where the koulutus code was unknown."),
        Column("campus_key", pl.Int64, "Key to dim_campus; null where the campus was missing."),
        Column("study_right_type", pl.Utf8, "KOSKI suoritustyyppi; null where it was not a known one."),
        Column("osaamisala_code", pl.Utf8, "Osaamisala code."),
        Column("start_date", pl.Date, "Start date; null where it was unreadable."),
        date_key_column("start_date_key", "Start date"),
        Column("planned_end_date", pl.Date, "Planned end date."),
        Column("end_date", pl.Date, "Actual end date; null while open."),
        date_key_column("end_date_key", "End date"),
        Column("in_koski", pl.Boolean, "The study right has a KOSKI OID.", nullable=False),
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
        Column("period_number", pl.Int64, "1 for the first status of the study right, in date order.", nullable=False),
        Column("status", pl.Utf8, "KOSKI opiskeluoikeudentila (lasna, loma, valmistunut, …).", nullable=False),
        Column("funding_code", pl.Utf8, "KOSKI opintojenrahoitus code."),
        Column("start_date", pl.Date, "First day of the status.", nullable=False),
        date_key_column("start_date_key", "First day", False),
        Column("end_date", pl.Date, "Last day of the status; null while it goes on."),
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
        Column("period_type", pl.Utf8, "Kind of period (Finnish code value).", nullable=False),
        Column("start_date", pl.Date, "First day.", nullable=False),
        date_key_column("start_date_key", "First day", False),
        Column("end_date", pl.Date, "Last day; null = open-ended."),
        Column("part_time_percent", pl.Float64, "Study load % for osa-aikaisuus."),
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
        Column("qualification_key", pl.Int64, "Key to dim_qualification (of the study right)."),
        Column("unit_code", pl.Utf8, "Unit code (ePerusteet).", nullable=False),
        Column("unit_name", pl.Utf8, "Unit name."),
        Column("credits", pl.Float64, "Osaamispisteet; null where unreadable."),
        Column("grade", pl.Utf8, "1–5, Hyväksytty, Hylätty; null where not one of these."),
        Column("assessment_date", pl.Date, "Assessment date.", nullable=False),
        date_key_column("assessment_date_key", "Assessment date", False),
        Column("recognised", pl.Boolean, "Recognised prior learning (tunnustettu)."),
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
        Column("agreement_type", pl.Utf8, "koulutussopimus or oppisopimus; null where it was neither."),
        Column(
            "business_id",
            pl.Utf8,
            "Y-tunnus as 1234567-8; null where missing or invalid.",
            rules=(
                pattern_rule(
                    "{table}.business_id.format",
                    "business_id is a Y-tunnus written 1234567-8",
                    "business_id",
                    r"^\d{7}-\d$",
                ),
            ),
        ),
        Column("workplace_name", pl.Utf8, "Workplace name as typed; null where missing."),
        organizations.ORGANIZATION_KEY,
        Column("start_date", pl.Date, "First day.", nullable=False),
        date_key_column("start_date_key", "First day", False),
        Column("end_date", pl.Date, "Last day."),
    ),
    foreign_keys=(_FK_RIGHT, organizations.FK_ORGANIZATION),
)

FACT_TARGET = published_table(
    "fact_student_year_target",
    "The provider's student-year target per year.",
    "One row per calendar year.",
    ("year",),
    (
        Column("year", pl.Int64, "Calendar year.", nullable=False, unique=True),
        Column("target_student_years", pl.Float64, "Target student-years.", nullable=False),
    ),
)

#: KOSKI's day columns (schemas/koski_report.py), in KOSKI's order, with the current formula last
_DAY_MEASURES = tuple(
    replace(c, source_header=None, description=f"{c.description} KOSKI: {c.source_header}.")
    for c in koski_report.FIGURES + (koski_report.CURRENT,)
    if c.name in koski_report.DAY_MEASURES
)
FACT_STUDENT_YEAR_MONTH = published_table(
    "fact_student_year_month",
    "Student-year days as KOSKI counts them (opiskelijavuositiedot), by month.",
    "One row per study right, calendar month and funding code.",
    ("study_right_key", "month_date_key", "funding_code"),
    (
        STUDY_RIGHT_KEY,
        STUDENT_KEY,
        Column("qualification_key", pl.Int64, "Key to dim_qualification (null where the koulutus code was unknown)."),
        Column("campus_key", pl.Int64, "Key to dim_campus (null where the campus was missing)."),
        date_key_column("month_date_key", "First day of the month", False),
        Column("year", pl.Int64, "Calendar year.", nullable=False),
        Column("month", pl.Int64, "Calendar month 1–12.", nullable=False),
        Column(
            "funding_code",
            pl.Utf8,
            "KOSKI opintojenrahoitus code of the days; null on days without one (e.g. eronnut).",
        ),
        *_DAY_MEASURES,
        Column("student_years_current", pl.Float64, "student_year_days_current / 365."),
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
        date_key_column("month_date_key", "First day of the month", False),
        Column("funding_code", pl.Utf8, "KOSKI opintojenrahoitus code."),
        Column("cost_group", pl.Utf8, "Cost group of the qualification (kustannusryhmä).", nullable=False),
        Column("weight", pl.Float64, "Weight of the cost group.", nullable=False),
        Column("student_years_current", pl.Float64, "Unweighted student-years (current formula)."),
        Column("weighted_student_years_current", pl.Float64, "student_years_current × weight."),
    ),
    foreign_keys=(_FK_RIGHT,),
)

MART_STUDENT_YEAR_FORECAST = published_table(
    "mart_student_year_forecast",
    "Cumulative student-years (current formula) against the year's forecast with an 80 % interval and the target.",
    "One row per year, month, funding scope (funding code 1 or all) and breakdown member (total, a campus or a "
    "qualification type).",
    ("year", "month", "funding_scope", "breakdown", "breakdown_value"),
    (
        Column("year", pl.Int64, "Calendar year.", nullable=False),
        Column("month", pl.Int64, "Calendar month 1–12: figures are at the month's end.", nullable=False),
        Column(
            "funding_scope",
            pl.Utf8,
            "'1' = funding code 1 (valtionosuusrahoitteinen) only; 'all' = every code.",
            nullable=False,
            code_list="1, all",
        ),
        Column(
            "breakdown",
            pl.Utf8,
            "total, campus or qualification_type.",
            nullable=False,
            code_list="total, campus, qualification_type",
        ),
        Column("breakdown_value", pl.Utf8, "The campus or qualification type; 'total' for the total.", nullable=False),
        Column(
            "actual_cumulative_student_years",
            pl.Float64,
            "Student-years from 1 January to the month's end; null for months after the as-of date.",
        ),
        Column(
            "forecast_cumulative_student_years", pl.Float64, "Expected student-years from 1 January to the month's end."
        ),
        Column("forecast_cumulative_low_80", pl.Float64, "Lower end of the 80 % interval of the cumulative forecast."),
        Column("forecast_cumulative_high_80", pl.Float64, "Upper end of the 80 % interval of the cumulative forecast."),
        Column("forecast_year_total", pl.Float64, "Forecast of the whole year's student-years.", nullable=False),
        Column(
            "forecast_year_low_80", pl.Float64, "Lower end of the 80 % interval of the year's total.", nullable=False
        ),
        Column(
            "forecast_year_high_80", pl.Float64, "Upper end of the 80 % interval of the year's total.", nullable=False
        ),
        Column("target_student_years", pl.Float64, "The year's target from tavoitteet.csv (total rows only)."),
        Column(
            "planned_starters",
            pl.Int64,
            "New students the intake plan (aloitukset.csv) gives for the month "
            "(total rows of all funding; null without a plan for the year).",
        ),
        Column(
            "actual_starters",
            pl.Int64,
            "Study rights whose first status falls in the month, up to the as-of date (total rows of all funding).",
        ),
        Column(
            "student_years_per_starter",
            pl.Float64,
            "Expected student-years by 31 December of one more full-time "
            "qualification student starting on the month's first day (months still ahead, total rows).",
        ),
        Column(
            "additional_starters_in_month_50",
            pl.Int64,
            "Additional new students starting in this month that bring "
            "the year to the target with 50 % probability (0: already reached; total rows of months ahead, with a "
            "target).",
        ),
        Column("additional_starters_in_month_80", pl.Int64, "The same with 80 % probability."),
        Column(
            "additional_starters_spread_50",
            pl.Int64,
            "Additional new students, spread evenly over the months after "
            "the as-of month, that bring the year to the target with 50 % probability (total rows, with a target).",
        ),
        Column("additional_starters_spread_80", pl.Int64, "The same with 80 % probability."),
        Column("forecast_made_on", pl.Date, "The as-of date the forecast was made on.", nullable=False),
    ),
)

MART_KOSKI_RECONCILIATION = published_table(
    "mart_koski_reconciliation",
    "Our student-year figures against KOSKI's own report (opiskelijavuositiedot) for the report's period, column "
    "by column. Study-right rows are for stewards only (reports/steward/corrections_koski.csv).",
    "One row per KOSKI report (oppilaitos and reporting period) and KOSKI figure column.",
    ("oppilaitos_oid", "period_first_day", "period_last_day", "column"),
    (
        Column("oppilaitos_oid", pl.Utf8, "The oppilaitos the report is for (organisation OID).", nullable=False),
        Column("period_first_day", pl.Date, "First day of the reporting period.", nullable=False),
        Column("period_last_day", pl.Date, "Last day of the reporting period.", nullable=False),
        Column("column", pl.Utf8, "Our column (as in fact_student_year_month).", nullable=False),
        Column("koski_header", pl.Utf8, "KOSKI's header of the column.", nullable=False),
        Column(
            "our_total",
            pl.Float64,
            "Sum of our figure over our study rights with a day in the period (day columns only).",
        ),
        Column("koski_total", pl.Float64, "Sum of KOSKI's figure over its rows (day columns only)."),
        Column("rows_differing", pl.Int64, "Study rights in both whose figure differs.", nullable=False),
        Column("rows_matched", pl.Int64, "Study rights in both.", nullable=False),
        Column("rows_only_in_koski", pl.Int64, "Rows of KOSKI's report with no figures of ours.", nullable=False),
        Column(
            "rows_only_ours",
            pl.Int64,
            "Our study rights with a day in the period that KOSKI's report lacks.",
            nullable=False,
        ),
        Column("downloaded_on", pl.Date, "The date of the landing folder the report came in.", nullable=False),
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
)
#: every published table: the student-administration star and the organisation area
TABLES: tuple[Table, ...] = STUDENT_ADMIN_TABLES + organizations.TABLES
BY_NAME = {t.name: t for t in TABLES}
