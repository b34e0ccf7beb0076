"""Published area: the organisation master, CRM facts and the management marts built on them.

One organisation can be several CRM accounts and many spellings in workplace-learning
rows; ``dim_organization`` is the one row per real organisation that both systems point at
(through ``bridge_organization_source``). Contacts and free text (activity subjects, survey
comments) never reach these tables: only counts per organisation do.
"""

from __future__ import annotations

from schemas.codes import option_set
from schemas.fields import column
from schemas.metadata import Column, allowed_rule, pattern_rule, range_rule
from schemas.published_base import date_key_column, published_table, surrogate_key

SIZE_CLASSES = {"micro": (0, 9), "small": (10, 49), "medium": (50, 249), "large": (250, None)}
MATCH_METHODS = ("business_id", "steward", "probabilistic", "unmatched")
OVERLAP_CATEGORIES = ("both", "crm_only", "student_admin_only")
NPS_GROUPS = {"detractor": (0, 6), "passive": (7, 8), "promoter": (9, 10)}
SCOPE_CODES = tuple(option_set("scope").values())
ACTIVITY_TYPES = tuple(option_set("activitytypecode").values())

ORGANIZATION_KEY = column("organization_key", nullable=False)
FK_ORGANIZATION = ("organization_key", "dim_organization", "organization_key")
_ACCOUNT = column("account_id", meaning="The CRM account (accountid) the row was recorded on.", nullable=False)


def _in(table: str, column: str, values):
    return allowed_rule(f"{table}.{column}.code", f"{column} is one of {', '.join(sorted(values))}", column, values)


def _count(name: str, meaning: str | None = None) -> Column:
    return column(
        name,
        meaning=meaning,
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
        surrogate_key("organization_key", meaning="Surrogate key."),
        column(
            "business_id",
            meaning="Y-tunnus as 1234567-8; null when no record had a valid one.",
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
        column("organization_name", meaning="The chosen name (see survivorship).", nullable=False),
        column("industry_code"),
        column("city"),
        column("employees"),
        column("size_class", rules=(_in("dim_organization", "size_class", SIZE_CLASSES),)),
        column(
            "customer_type", rules=(_in("dim_organization", "customer_type", option_set("customertypecode").values()),)
        ),
        column("in_crm", nullable=False),
        column("in_student_admin", nullable=False),
        _count("crm_account_count"),
    ),
)

BRIDGE_ORGANIZATION_SOURCE = published_table(
    "bridge_organization_source",
    "How each source record was resolved to an organisation: by valid Y-tunnus, by a steward's decision, or by "
    "Splink's match probability on Y-tunnus, name, place and postcode (organization_master.md).",
    "One row per CRM account, and per distinct (workplace name, Y-tunnus) of the workplace-learning rows.",
    ("source_system", "source_id", "business_id"),
    (
        column(
            "source_system",
            variant="bridge_organization_source",
            nullable=False,
            rules=(_in("bridge_organization_source", "source_system", ("crm", "student_admin")),),
        ),
        column("source_id", nullable=False),
        column("source_name", nullable=False),
        column("business_id", meaning="The record's Y-tunnus as 1234567-8; null when missing or invalid."),
        ORGANIZATION_KEY,
        column(
            "match_method", nullable=False, rules=(_in("bridge_organization_source", "match_method", MATCH_METHODS),)
        ),
        column(
            "match_probability",
            rules=(
                range_rule("{table}.match_probability.range", "match_probability is 0–1", "match_probability", 0, 1),
            ),
        ),
    ),
    foreign_keys=(FK_ORGANIZATION,),
)

FACT_CRM_ACTIVITY = published_table(
    "fact_crm_activity",
    "CRM activities with organisations (no subject: it is free text).",
    "One row per CRM activity.",
    ("activity_id",),
    (
        column("activity_id", nullable=False, unique=True),
        _ACCOUNT,
        ORGANIZATION_KEY,
        column("activity_type", nullable=False),
        column("state", nullable=False),
        column("scheduled_start"),
        date_key_column("scheduled_date_key"),
        column("actual_end"),
        date_key_column("actual_end_date_key"),
    ),
    foreign_keys=(FK_ORGANIZATION,),
)

FACT_PARTNERSHIP = published_table(
    "fact_partnership",
    "Partnership agreements with organisations: level, scope and whether active on the as-of date.",
    "One row per partnership.",
    ("partnership_id",),
    (
        column("partnership_id", nullable=False, unique=True),
        _ACCOUNT,
        ORGANIZATION_KEY,
        column("level", nullable=False),
        column("scope"),
        *(column(f"covers_{code}", nullable=False) for code in SCOPE_CODES),
        column("start_date", nullable=False),
        date_key_column("start_date_key", False),
        column("end_date", meaning="Last day; null while it goes on."),
        date_key_column("end_date_key", meaning="Last day as a dim_date key (yyyymmdd)."),
        column("is_active", nullable=False),
    ),
    foreign_keys=(FK_ORGANIZATION,),
)

FACT_SURVEY_RESPONSE = published_table(
    "fact_survey_response",
    "Survey responses of organisations (the comment is never published).",
    "One row per survey response.",
    ("response_id",),
    (
        column("response_id", nullable=False, unique=True),
        _ACCOUNT,
        ORGANIZATION_KEY,
        column("submitted_on", nullable=False),
        date_key_column("submitted_date_key", False),
        column("nps"),
        column("nps_group", rules=(_in("fact_survey_response", "nps_group", NPS_GROUPS),)),
        column("satisfaction"),
        column("has_comment", nullable=False),
    ),
    foreign_keys=(FK_ORGANIZATION,),
)

_AS_OF = column("as_of_date", nullable=False)
#: the first columns of a mart with one row per organisation
_PER_ORGANIZATION = (
    column("organization_key", nullable=False, unique=True),
    column("organization_name", nullable=False),
)
MART_OVERLAP = published_table(
    "mart_crm_student_admin_overlap",
    "Which organisations host our students, and do we manage them in the CRM? 'Last 12 months' is the 365 days "
    "ending on the as-of date.",
    "One row per organisation.",
    ("organization_key",),
    (
        *_PER_ORGANIZATION,
        column("business_id", meaning="Y-tunnus."),
        column(
            "overlap_category",
            nullable=False,
            rules=(_in("mart_crm_student_admin_overlap", "overlap_category", OVERLAP_CATEGORIES),),
        ),
        _count("crm_account_count", "CRM accounts of the organisation."),
        _count("active_crm_account_count"),
        column("has_duplicate_crm_accounts", nullable=False),
        column("inactive_account_hosting_students", nullable=False),
        column("name_conflict", nullable=False),
        _count("students_hosted_12m"),
        _count("workplace_periods_12m"),
        _count("crm_activities_12m"),
        column("active_partnership", nullable=False),
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
        column("segment", nullable=False),
        column("segment_label", nullable=False),
        column("in_crm", meaning="Has a CRM account.", nullable=False),
        column(
            "industry_code",
            meaning="Industry (TOL 2008): the most trusted CRM account's, else PRH's main business line where the site "
            "supplies PRH's company data (see dim_organization's survivorship).",
        ),
        column("city", meaning="The organisation's city: the CRM account's, else PRH's, else a workplace spelling's."),
        _count("students_hosted_12m", "Distinct students hosted in the last 12 months."),
        _count("students_koulutussopimus_12m"),
        _count("students_oppisopimus_12m"),
        _count("students_hosted_total"),
        *(_count(f"activities_12m_{t}") for t in ACTIVITY_TYPES),
        _count("crm_activities_12m", "All CRM activities in the last 12 months (not cancelled)."),
        column("last_contact_date"),
        column("active_partnership_level"),
        _count("contacts"),
        _count("survey_responses"),
        column("nps_average"),
        column("nps_score"),
        column("satisfaction_average"),
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
