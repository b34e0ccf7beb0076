"""Organisation master and CRM: matching, the CRM facts and the management marts."""

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, MetadataValue, Output, asset

from pipelines.assets.published import MATCHES, published_asset
from pipelines.marts.customers import crm_student_admin_overlap, customer_segments
from pipelines.marts.segments import load_segments
from pipelines.matching.organization_matching import MatchSettings
from pipelines.publishing import organization_tables as org
from pipelines.resources import LandingArea
from pipelines.validation import TableOutcome
from schemas import crm, published, student_admin


@asset(
    name=MATCHES,
    group_name="matched",
    ins={
        "accounts": AssetIn(key=AssetKey([crm.SYSTEM, "validated_accounts"])),
        "workplace_periods": AssetIn(key=AssetKey([student_admin.SYSTEM, "validated_workplace_periods"])),
    },
    description="Every CRM account and every distinct (workplace name, Y-tunnus) of the workplace-learning rows, "
    "resolved to one organisation: by valid Y-tunnus, else by name similarity and city "
    "(thresholds in site.yaml, organization_matching).",
)
def organization_matches(
    context: AssetExecutionContext, landing: LandingArea, accounts: TableOutcome, workplace_periods: TableOutcome
):
    settings = MatchSettings.from_config(landing.open().site.organization_matching)
    matches = org.organization_matches(accounts.rows(), workplace_periods.rows(), settings)
    methods = matches.group_by("match_method").len().sort("match_method")
    context.log.info(
        f"organisation master: {matches.height} source records -> "
        f"{matches['organization_key'].n_unique()} organisations"
    )
    return Output(
        matches,
        metadata={
            "source_records": matches.height,
            "organizations": matches["organization_key"].n_unique(),
            "by_match_method": MetadataValue.json(dict(zip(methods["match_method"], methods["len"]))),
            "name_threshold": settings.name_threshold,
        },
    )


def _contacts(frames: dict) -> pl.DataFrame:
    """Contact rows reduced to the organisation they belong to (the only thing published about them)."""
    accounts = (
        frames[MATCHES]
        .filter(pl.col("source_system") == "crm")
        .select(pl.col("source_id").alias("account_id"), "organization_key")
    )
    return frames["contacts"].select("account_id").join(accounts, on="account_id")


def _segments(landing: LandingArea):
    columns = {c.name for c in published.BY_NAME["mart_customer_segments"].columns}
    return load_segments(landing.open().site.customer_segments, columns)


ORGANIZATION_ASSETS = [
    organization_matches,
    published_asset("dim_organization", [MATCHES], lambda f, **_: org.dim_organization(f[MATCHES])),
    published_asset("bridge_organization_source", [MATCHES], lambda f, **_: org.bridge_organization_source(f[MATCHES])),
    published_asset(
        "fact_crm_activity", ["activities", MATCHES], lambda f, **_: org.fact_crm_activity(f["activities"], f[MATCHES])
    ),
    published_asset(
        "fact_partnership",
        ["partnerships", MATCHES],
        lambda f, landing, **_: org.fact_partnership(f["partnerships"], f[MATCHES], landing.open().run_date()),
    ),
    published_asset(
        "fact_survey_response",
        ["survey_responses", MATCHES],
        lambda f, **_: org.fact_survey_response(f["survey_responses"], f[MATCHES]),
    ),
    published_asset(
        "mart_crm_student_admin_overlap",
        ["dim_organization", MATCHES, "fact_workplace_period", "fact_crm_activity", "fact_partnership"],
        lambda f, landing, **_: crm_student_admin_overlap(
            f["dim_organization"],
            f[MATCHES],
            f["fact_workplace_period"],
            f["fact_crm_activity"],
            f["fact_partnership"],
            landing.open().run_date(),
        ),
    ),
    published_asset(
        "mart_customer_segments",
        [
            "dim_organization",
            MATCHES,
            "fact_workplace_period",
            "fact_crm_activity",
            "fact_partnership",
            "fact_survey_response",
            "contacts",
        ],
        lambda f, landing, **_: customer_segments(
            f["dim_organization"],
            f["fact_workplace_period"],
            f["fact_crm_activity"],
            f["fact_partnership"],
            f["fact_survey_response"],
            _contacts(f),
            _segments(landing),
            landing.open().run_date(),
        ),
    ),
]
