"""Published area: the organisation master, CRM facts and the management marts built on them.

One organisation can be several CRM accounts and many spellings in workplace-learning
rows; ``dim_organization`` is the one row per real organisation that both systems point at
(through ``bridge_organization_source``). Contacts and free text (activity subjects, survey
comments) never reach these tables: only counts per organisation do.
"""

from __future__ import annotations

import polars as pl

from schemas.codes import option_set
from schemas.metadata import TIMESTAMP, Column, allowed_rule, pattern_rule, range_rule
from schemas.published_base import date_key_column, published_table, surrogate_key

SIZE_CLASSES = {"micro": (0, 9), "small": (10, 49), "medium": (50, 249), "large": (250, None)}
MATCH_METHODS = ("business_id", "name_and_city", "name", "unmatched")
OVERLAP_CATEGORIES = ("both", "crm_only", "student_admin_only")
NPS_GROUPS = {"detractor": (0, 6), "passive": (7, 8), "promoter": (9, 10)}
SCOPE_CODES = tuple(option_set("scope").values())
ACTIVITY_TYPES = tuple(option_set("activitytypecode").values())

ORGANIZATION_KEY = Column("organization_key", pl.Int64, "Key to dim_organization.", nullable=False)
FK_ORGANIZATION = ("organization_key", "dim_organization", "organization_key")
_ACCOUNT = Column("account_id", pl.Utf8, "The CRM account (accountid) the row was recorded on.", nullable=False)


def _in(table: str, column: str, values):
    return allowed_rule(f"{table}.{column}.code", f"{column} is one of {', '.join(sorted(values))}", column, values)


def _count(name: str, words: str) -> Column:
    return Column(
        name,
        pl.Int64,
        words,
        nullable=False,
        rules=(range_rule(f"{{table}}.{name}.not_negative", f"{name} is zero or more", name, 0, None),),
    )


DIM_ORGANIZATION = published_table(
    "dim_organization",
    "One row per real organisation behind CRM accounts and workplace-learning rows. Survivorship: each attribute "
    "comes from the most trusted record that has it: an active CRM account (most recently modified first), then an "
    "inactive one, then the workplace-learning spelling used on most rows.",
    "One row per organisation.",
    ("organization_key",),
    (
        surrogate_key("organization_key"),
        Column(
            "business_id",
            pl.Utf8,
            "Y-tunnus as 1234567-8; null when no record had a valid one.",
            unique=True,
            rules=(
                pattern_rule(
                    "{table}.business_id.format",
                    "business_id is a Y-tunnus written 1234567-8",
                    "business_id",
                    r"^\d{7}-\d$",
                ),
            ),
        ),
        Column("organization_name", pl.Utf8, "The chosen name (see survivorship).", nullable=False),
        Column("industry_code", pl.Utf8, "Industry, TOL 2008 code (from the CRM)."),
        Column("city", pl.Utf8, "City (from the CRM, else from a place written after the workplace name)."),
        Column("employees", pl.Int64, "Number of employees (from the CRM)."),
        Column(
            "size_class",
            pl.Utf8,
            "micro (< 10 employees), small (10–49), medium (50–249), large (250+); null if unknown.",
            code_list=", ".join(SIZE_CLASSES),
            rules=(_in("dim_organization", "size_class", SIZE_CLASSES),),
        ),
        Column(
            "customer_type",
            pl.Utf8,
            "CRM customer type (employer, partner, educational_institution, public_sector).",
            rules=(_in("dim_organization", "customer_type", option_set("customertypecode").values()),),
        ),
        Column("in_crm", pl.Boolean, "At least one CRM account is this organisation.", nullable=False),
        Column(
            "in_student_admin",
            pl.Boolean,
            "At least one workplace-learning row names this organisation.",
            nullable=False,
        ),
        _count("crm_account_count", "Number of CRM accounts resolved to this organisation."),
    ),
)

BRIDGE_ORGANIZATION_SOURCE = published_table(
    "bridge_organization_source",
    "How each source record was resolved to an organisation: by valid Y-tunnus, or by name similarity (rapidfuzz "
    "token_sort_ratio on names without company form) where the record has no valid Y-tunnus.",
    "One row per CRM account, and per distinct (workplace name, Y-tunnus) of the workplace-learning rows.",
    ("source_system", "source_id", "business_id"),
    (
        Column(
            "source_system",
            pl.Utf8,
            "crm or student_admin.",
            nullable=False,
            code_list="crm, student_admin",
            rules=(_in("bridge_organization_source", "source_system", ("crm", "student_admin")),),
        ),
        Column(
            "source_id",
            pl.Utf8,
            "accountid for the CRM; the workplace name as typed for student administration.",
            nullable=False,
        ),
        Column("source_name", pl.Utf8, "The name the source record carries.", nullable=False),
        Column("business_id", pl.Utf8, "The record's Y-tunnus as 1234567-8; null when missing or invalid."),
        ORGANIZATION_KEY,
        Column(
            "match_method",
            pl.Utf8,
            "business_id, name_and_city, name, or unmatched (an organisation of its own).",
            nullable=False,
            code_list=", ".join(MATCH_METHODS),
            rules=(_in("bridge_organization_source", "match_method", MATCH_METHODS),),
        ),
        Column("match_score", pl.Float64, "Name similarity 0–100 (100 for a Y-tunnus match); null when unmatched."),
    ),
    foreign_keys=(FK_ORGANIZATION,),
)

FACT_CRM_ACTIVITY = published_table(
    "fact_crm_activity",
    "CRM activities with organisations (no subject: it is free text).",
    "One row per CRM activity.",
    ("activity_id",),
    (
        Column("activity_id", pl.Utf8, "CRM activity id.", nullable=False, unique=True),
        _ACCOUNT,
        ORGANIZATION_KEY,
        Column(
            "activity_type",
            pl.Utf8,
            "appointment, phonecall, email, task or tyoelamafoorumi.",
            nullable=False,
            code_list=", ".join(ACTIVITY_TYPES),
        ),
        Column("state", pl.Utf8, "completed, open or canceled.", nullable=False, code_list="completed, open, canceled"),
        Column("scheduled_start", TIMESTAMP, "Scheduled start (UTC)."),
        date_key_column("scheduled_date_key", "Scheduled day in Finnish time"),
        Column("actual_end", TIMESTAMP, "When it was completed (UTC)."),
        date_key_column("actual_end_date_key", "Completion day in Finnish time"),
    ),
    foreign_keys=(FK_ORGANIZATION,),
)

FACT_PARTNERSHIP = published_table(
    "fact_partnership",
    "Partnership agreements with organisations: level, scope and whether active on the as-of date.",
    "One row per partnership.",
    ("partnership_id",),
    (
        Column("partnership_id", pl.Utf8, "Partnership id.", nullable=False, unique=True),
        _ACCOUNT,
        ORGANIZATION_KEY,
        Column(
            "level", pl.Utf8, "strategic_partner or partner.", nullable=False, code_list="strategic_partner, partner"
        ),
        Column("scope", pl.Utf8, "What it covers, our codes separated by ';'."),
        *(Column(f"covers_{code}", pl.Boolean, f"The scope includes {code}.", nullable=False) for code in SCOPE_CODES),
        Column("start_date", pl.Date, "First day.", nullable=False),
        date_key_column("start_date_key", "First day", False),
        Column("end_date", pl.Date, "Last day; null while it goes on."),
        date_key_column("end_date_key", "Last day"),
        Column("is_active", pl.Boolean, "Started on or before the as-of date and not ended before it.", nullable=False),
    ),
    foreign_keys=(FK_ORGANIZATION,),
)

FACT_SURVEY_RESPONSE = published_table(
    "fact_survey_response",
    "Survey responses of organisations (the comment is never published).",
    "One row per survey response.",
    ("response_id",),
    (
        Column("response_id", pl.Utf8, "Survey response id.", nullable=False, unique=True),
        _ACCOUNT,
        ORGANIZATION_KEY,
        Column("submitted_on", TIMESTAMP, "When it was submitted (UTC).", nullable=False),
        date_key_column("submitted_date_key", "Submission day in Finnish time", False),
        Column("nps", pl.Int64, "Net Promoter Score answer 0–10."),
        Column(
            "nps_group",
            pl.Utf8,
            "detractor (0–6), passive (7–8) or promoter (9–10).",
            code_list=", ".join(NPS_GROUPS),
            rules=(_in("fact_survey_response", "nps_group", NPS_GROUPS),),
        ),
        Column("satisfaction", pl.Int64, "Satisfaction 1–5."),
        Column(
            "has_comment", pl.Boolean, "The respondent wrote a comment (its text is not published).", nullable=False
        ),
    ),
    foreign_keys=(FK_ORGANIZATION,),
)

_AS_OF = Column("as_of_date", pl.Date, "The as-of date the 12-month windows end on.", nullable=False)
#: the first columns of a mart with one row per organisation
_PER_ORGANIZATION = (
    Column("organization_key", pl.Int64, "Key to dim_organization.", nullable=False, unique=True),
    Column("organization_name", pl.Utf8, "Name from dim_organization.", nullable=False),
)
MART_OVERLAP = published_table(
    "mart_crm_student_admin_overlap",
    "Which organisations host our students, and do we manage them in the CRM? 'Last 12 months' is the 365 days "
    "ending on the as-of date.",
    "One row per organisation.",
    ("organization_key",),
    (
        *_PER_ORGANIZATION,
        Column("business_id", pl.Utf8, "Y-tunnus."),
        Column(
            "overlap_category",
            pl.Utf8,
            "both (a CRM account and workplace-learning rows), crm_only or student_admin_only.",
            nullable=False,
            code_list=", ".join(OVERLAP_CATEGORIES),
            rules=(_in("mart_crm_student_admin_overlap", "overlap_category", OVERLAP_CATEGORIES),),
        ),
        _count("crm_account_count", "CRM accounts of the organisation."),
        _count("active_crm_account_count", "Active CRM accounts of the organisation."),
        Column("has_duplicate_crm_accounts", pl.Boolean, "More than one CRM account.", nullable=False),
        Column(
            "inactive_account_hosting_students",
            pl.Boolean,
            "Hosted students in the last 12 months, but every CRM account of it is inactive.",
            nullable=False,
        ),
        Column(
            "name_conflict",
            pl.Boolean,
            "Its source records carry names that differ beyond case, punctuation and company form.",
            nullable=False,
        ),
        _count("students_hosted_12m", "Distinct students with a workplace period in the last 12 months."),
        _count("workplace_periods_12m", "Workplace periods overlapping the last 12 months."),
        _count("crm_activities_12m", "CRM activities scheduled in the last 12 months (not cancelled)."),
        Column("active_partnership", pl.Boolean, "A partnership active on the as-of date.", nullable=False),
        _AS_OF,
    ),
    foreign_keys=(FK_ORGANIZATION,),
)

MART_CUSTOMER_SEGMENTS = published_table(
    "mart_customer_segments",
    "Per organisation the KPIs management asks for, and its segment from the rules in "
    "pipelines/config/customer_segments.yaml (see customer_segments.md).",
    "One row per organisation.",
    ("organization_key",),
    (
        *_PER_ORGANIZATION,
        Column("segment", pl.Utf8, "The first segment rule that holds.", nullable=False),
        Column("in_crm", pl.Boolean, "Has a CRM account.", nullable=False),
        _count("students_hosted_12m", "Distinct students hosted in the last 12 months."),
        _count("students_koulutussopimus_12m", "… of them on a training agreement (koulutussopimus)."),
        _count("students_oppisopimus_12m", "… of them on an apprenticeship (oppisopimus)."),
        _count("students_hosted_total", "Distinct students hosted in the whole export."),
        *(_count(f"activities_12m_{t}", f"CRM activities of type {t} in the last 12 months.") for t in ACTIVITY_TYPES),
        _count("crm_activities_12m", "All CRM activities in the last 12 months (not cancelled)."),
        Column("last_contact_date", pl.Date, "Day of the latest completed CRM activity (Finnish time)."),
        Column(
            "active_partnership_level",
            pl.Utf8,
            "Highest level of a partnership active on the as-of date.",
            code_list="strategic_partner, partner",
        ),
        _count("contacts", "CRM contact persons (a count: contacts are personal data)."),
        _count("survey_responses", "Survey responses."),
        Column("nps_average", pl.Float64, "Average NPS answer 0–10."),
        Column("nps_score", pl.Float64, "Net Promoter Score: % promoters − % detractors (−100…100)."),
        Column("satisfaction_average", pl.Float64, "Average satisfaction 1–5."),
        _AS_OF,
    ),
    foreign_keys=(FK_ORGANIZATION,),
)

TABLES = (
    DIM_ORGANIZATION,
    BRIDGE_ORGANIZATION_SOURCE,
    FACT_CRM_ACTIVITY,
    FACT_PARTNERSHIP,
    FACT_SURVEY_RESPONSE,
    MART_OVERLAP,
    MART_CUSTOMER_SEGMENTS,
)
