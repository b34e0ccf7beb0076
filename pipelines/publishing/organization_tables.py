"""The organisation master and the CRM facts, keyed to ``dim_organization``."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl

from pipelines.matching.decisions import Decision
from pipelines.matching.organization_matching import (
    REFERENCE,
    MatchSettings,
    Resolution,
    resolve,
    source_records,
    survivors,
)
from pipelines.publishing.star import conform, date_key, timestamp_date_key
from schemas.codes import option_set
from schemas.organizations import NPS_GROUPS, SCOPE_CODES, SIZE_CLASSES


def organization_master(
    accounts: pl.DataFrame,
    workplaces: pl.DataFrame,
    settings: MatchSettings,
    decisions: list[Decision] = (),
    reference: pl.DataFrame | None = None,
) -> Resolution:
    """Every source record with its ``organization_key``, the review queue with both sides' keys, the decisions.

    With PRH's companies as ``reference``, their records stay beside ours only in organisations that hold one of
    ours (they lend it a Y-tunnus, a business line, a city); the rest of the register is not an organisation of ours.
    Keys are numbered in a stable order (organisations with a Y-tunnus first, by Y-tunnus,
    then by chosen name), so the same export gives the same keys.
    """
    resolution = resolve(source_records(accounts, workplaces, settings, reference), settings, decisions)
    resolved = resolution.records.filter((pl.col("source_system") != REFERENCE).any().over("organization"))
    order = survivors(resolved).sort("business_id", "organization_name", "organization", nulls_last=True)
    keys = order.select("organization", pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("organization_key"))
    review = resolution.review
    for side in ("a", "b"):
        review = review.join(
            keys.rename({"organization": f"organization_{side}", "organization_key": f"organization_key_{side}"}),
            on=f"organization_{side}",
            maintain_order="left",
        )
    return replace(resolution, records=resolved.join(keys, on="organization", maintain_order="left"), review=review)


def _size_class(employees: pl.Expr) -> pl.Expr:
    expr = pl.lit(None, pl.Utf8)
    for name, (low, high) in reversed(SIZE_CLASSES.items()):
        inside = (employees >= low) & (employees <= high) if high is not None else employees >= low
        expr = pl.when(inside).then(pl.lit(name)).otherwise(expr)
    return expr


def dim_organization(organization_matches: pl.DataFrame) -> pl.DataFrame:
    orgs = survivors(organization_matches.with_columns(pl.col("organization_key").alias("organization")))
    return conform(
        orgs.sort("organization").with_columns(
            pl.col("organization").alias("organization_key"),
            pl.col("city_name").alias("city"),
            _size_class(pl.col("employees")).alias("size_class"),
            pl.col("customer_type").replace_strict(option_set("customertypecode"), default=None).alias("customer_type"),
            (pl.col("crm_accounts") > 0).alias("in_crm"),
            pl.col("crm_accounts").alias("crm_account_count"),
        ),
        "dim_organization",
    )


def bridge_organization_source(organization_matches: pl.DataFrame) -> pl.DataFrame:
    return conform(
        organization_matches.filter(pl.col("source_system") != REFERENCE).sort(
            "source_system", "source_id", "business_id", nulls_last=True
        ),
        "bridge_organization_source",
    )


def _with_organization(frame: pl.DataFrame, matches: pl.DataFrame) -> pl.DataFrame:
    accounts = matches.filter(pl.col("source_system") == "crm").select(
        pl.col("source_id").alias("account_id"), "organization_key"
    )
    return frame.join(accounts, on="account_id", how="left", maintain_order="left")


def fact_crm_activity(activities: pl.DataFrame, organization_matches: pl.DataFrame) -> pl.DataFrame:
    frame = _with_organization(activities, organization_matches).with_columns(
        pl.col("activity_type").replace_strict(option_set("activitytypecode")),
        pl.col("state").replace_strict(option_set("statecode_activity")),
        timestamp_date_key("scheduled_start").alias("scheduled_date_key"),
        timestamp_date_key("actual_end").alias("actual_end_date_key"),
    )
    return conform(frame, "fact_crm_activity")


def fact_partnership(partnerships: pl.DataFrame, organization_matches: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    codes = pl.col("scope").str.split(";").list.eval(pl.element().str.strip_chars().replace_strict(option_set("scope")))
    frame = _with_organization(partnerships, organization_matches).with_columns(
        pl.col("level").replace_strict(option_set("level")),
        codes.list.join(";").alias("scope"),
        *(codes.list.contains(code).fill_null(False).alias(f"covers_{code}") for code in SCOPE_CODES),
        date_key("start_date").alias("start_date_key"),
        date_key("end_date").alias("end_date_key"),
        ((pl.col("start_date") <= as_of) & (pl.col("end_date").is_null() | (pl.col("end_date") >= as_of))).alias(
            "is_active"
        ),
    )
    return conform(frame, "fact_partnership")


def fact_survey_response(survey_responses: pl.DataFrame, organization_matches: pl.DataFrame) -> pl.DataFrame:
    group = pl.lit(None, pl.Utf8)
    for name, (low, high) in NPS_GROUPS.items():
        group = pl.when(pl.col("nps").is_between(low, high)).then(pl.lit(name)).otherwise(group)
    frame = _with_organization(survey_responses, organization_matches).with_columns(
        timestamp_date_key("submitted_on").alias("submitted_date_key"),
        group.alias("nps_group"),
        pl.col("comment").is_not_null().alias("has_comment"),
    )
    return conform(frame, "fact_survey_response")
