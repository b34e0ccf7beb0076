"""Organisation master and CRM: matching, the CRM facts and the management marts."""

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, AssetOut, Failure, MetadataValue, Output, multi_asset

from pipelines.assets.published import INTERMEDIATE_INPUTS, published_asset
from pipelines.assets.student_records import records_key
from pipelines.files import write_parquet
from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.ytj import SYSTEM as YTJ
from pipelines.ingestion.ytj import read_ytj
from pipelines.marts.customers import mart_crm_student_admin_overlap, mart_customer_segments
from pipelines.matching.decisions import REVIEW_FILE, DecisionError, read_decisions
from pipelines.matching.organization_matching import MatchSettings
from pipelines.publishing import organization_tables as org
from pipelines.resources import LandingArea, WarehouseResource
from pipelines.validation import TableOutcome
from schemas import crm

REVIEW = "organization_review"


@multi_asset(
    name="organization_master",
    ins={
        "accounts": AssetIn(key=AssetKey([crm.SYSTEM, "validated_accounts"])),
        "workplace_periods": AssetIn(key=records_key("workplace_periods")),
    },
    outs={
        "organization_matches": AssetOut(
            key=INTERMEDIATE_INPUTS["organization_matches"],
            group_name="matched",
            description="Every CRM account and every distinct (workplace name, Y-tunnus) of the workplace-learning "
            "rows, resolved to one organisation: by valid Y-tunnus, by a steward's decision, else by Splink's match "
            "probability (thresholds in site.yaml, organization_matching).",
        ),
        REVIEW: AssetOut(
            key=AssetKey(REVIEW),
            group_name="stewardship",
            description="The doubtful pairs (match probability in the site's review band) left in two organisations, "
            "and what became of each steward decision; the steward report lists them.",
        ),
    },
)
def organization_master(
    context: AssetExecutionContext,
    landing: LandingArea,
    warehouse: WarehouseResource,
    accounts: TableOutcome,
    workplace_periods: TableOutcome,
):
    area = landing.open()
    site = area.site
    try:
        settings = MatchSettings.from_config(site.organization_matching, site.file.parent)
        decisions = read_decisions(site.decisions_path)
        reference = read_ytj(area.export_folder(YTJ)) if area.has_export(YTJ) else None
        if reference is not None:
            context.log.info(f"PRH's company data {area.export_folder(YTJ)}: {reference.height} names as the reference")
        resolution = org.organization_master(accounts.rows(), workplace_periods.rows(), settings, decisions, reference)
    except (ValueError, DecisionError, FileProblem) as err:  # (a setting, a decision, a file or a model of the site)
        raise Failure(description=f"organisation master: {err}") from None
    matches = resolution.records
    ours = matches.filter(pl.col("source_system") != YTJ)
    methods = ours.group_by("match_method").len().sort("match_method")
    outcomes = resolution.decisions.group_by("outcome").len().sort("outcome")
    for d in resolution.decisions.filter(pl.col("outcome") != "applied").iter_rows(named=True):
        context.log.warning(f"decision on line {d['line']} of {site.decisions_path} ({d['pair_id']}): {d['outcome']}")
    review_file = warehouse.open().root / REVIEW_FILE
    review_file.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(resolution.review, review_file, private=True)
    context.log.info(
        f"organisation master: {ours.height} source records -> {ours['organization_key'].n_unique()} "
        f"organisations; {resolution.review.height} doubtful pairs for review, {resolution.decisions.height} "
        "decisions in force"
    )
    yield Output(
        matches,
        output_name="organization_matches",
        metadata={
            "source_records": ours.height,
            "organizations": ours["organization_key"].n_unique(),
            "reference_names_used": matches.height - ours.height,
            "by_match_method": MetadataValue.json(dict(zip(methods["match_method"], methods["len"]))),
            "match_probability": settings.match_probability,
            "review_probability": settings.review_probability,
        },
    )
    yield Output(
        {"review": resolution.review, "decisions": resolution.decisions, "file": str(site.decisions_path or "")},
        output_name=REVIEW,
        metadata={
            "doubtful_pairs": resolution.review.height,
            "decisions": MetadataValue.json(dict(zip(outcomes["outcome"], outcomes["len"]))),
        },
    )


ORGANIZATION_ASSETS = [
    organization_master,
    published_asset(org.dim_organization),
    published_asset(org.bridge_organization_source),
    published_asset(org.fact_crm_activity),
    published_asset(org.fact_partnership),
    published_asset(org.fact_survey_response),
    published_asset(mart_crm_student_admin_overlap),
    published_asset(mart_customer_segments),
]
