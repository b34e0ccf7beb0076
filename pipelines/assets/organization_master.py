"""Organisation master and CRM: matching, the CRM facts and the management marts."""

from dagster import AssetExecutionContext, AssetIn, AssetKey, MetadataValue, Output, asset

from pipelines.assets.published import INTERMEDIATE_INPUTS, published_asset
from pipelines.assets.student_records import records_key
from pipelines.marts.customers import mart_crm_student_admin_overlap, mart_customer_segments
from pipelines.matching.organization_matching import MatchSettings
from pipelines.publishing import organization_tables as org
from pipelines.resources import LandingArea
from pipelines.validation import TableOutcome
from schemas import crm


@asset(
    key=INTERMEDIATE_INPUTS["organization_matches"],
    group_name="matched",
    ins={
        "accounts": AssetIn(key=AssetKey([crm.SYSTEM, "validated_accounts"])),
        "workplace_periods": AssetIn(key=records_key("workplace_periods")),
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


ORGANIZATION_ASSETS = [
    organization_matches,
    published_asset(org.dim_organization),
    published_asset(org.bridge_organization_source),
    published_asset(org.fact_crm_activity),
    published_asset(org.fact_partnership),
    published_asset(org.fact_survey_response),
    published_asset(mart_crm_student_admin_overlap),
    published_asset(mart_customer_segments),
]
