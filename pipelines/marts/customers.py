"""Management marts on the organisation master: the CRM / student-administration overlap and customer segments.

"The last 12 months" is the 365 days ending on the as-of date. The KPIs are aggregated
with DuckDB from the published facts (what a BI tool sees) plus contact counts.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.marts.segments import Segment, load_segments, segment_label, segment_of
from pipelines.matching.organization_matching import REFERENCE
from pipelines.publishing.star import conform, local_date, sql
from pipelines.site import Site
from schemas import published
from schemas.crm import is_active
from schemas.organizations import ACTIVITY_TYPES


def _window(as_of: dt.date) -> dict[str, str]:
    return {"$first": f"DATE '{as_of - dt.timedelta(days=364)}'", "$last": f"DATE '{as_of}'"}


def _query(text: str, as_of: dt.date, **frames: pl.DataFrame) -> pl.DataFrame:
    for name, value in _window(as_of).items():
        text = text.replace(name, value)
    return sql(text, **frames)


def hosting(workplaces: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Per organisation: students and workplace periods in the last 12 months, by agreement type, and ever."""
    return _query(
        """
        WITH w AS (SELECT *, start_date <= $last AND coalesce(end_date, $last) >= $first AS recent FROM workplaces)
        SELECT organization_key,
               count(DISTINCT student_key) FILTER (WHERE recent) AS students_hosted_12m,
               count(DISTINCT student_key) FILTER (WHERE recent AND agreement_type = 'koulutussopimus')
                   AS students_koulutussopimus_12m,
               count(DISTINCT student_key) FILTER (WHERE recent AND agreement_type = 'oppisopimus')
                   AS students_oppisopimus_12m,
               count(*) FILTER (WHERE recent) AS workplace_periods_12m,
               count(DISTINCT student_key) AS students_hosted_total
        FROM w GROUP BY organization_key""",
        as_of,
        workplaces=workplaces,
    )


def activity(activities: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Per organisation: activities in the last 12 months (by type; cancelled ones left out) and the last contact."""
    by_type = ",\n".join(
        f"count(*) FILTER (WHERE recent AND activity_type = '{t}') AS activities_12m_{t}" for t in ACTIVITY_TYPES
    )
    return _query(
        f"""
        WITH a AS (SELECT *, state <> 'canceled' AND day BETWEEN $first AND $last AS recent FROM activities)
        SELECT organization_key, {by_type},
               count(*) FILTER (WHERE recent) AS crm_activities_12m,
               max(done) FILTER (WHERE state = 'completed' AND done <= $last) AS last_contact_date
        FROM a GROUP BY organization_key""",
        as_of,
        activities=activities.with_columns(
            local_date("scheduled_start").alias("day"), local_date("actual_end").alias("done")
        ),
    )


def partnership(partnerships: pl.DataFrame) -> pl.DataFrame:
    """Per organisation: the highest level of a partnership active on the as-of date."""
    return sql(
        """
        SELECT organization_key, TRUE AS active_partnership,
               CASE WHEN bool_or(level = 'strategic_partner') THEN 'strategic_partner' ELSE 'partner' END
                   AS active_partnership_level
        FROM partnerships WHERE is_active GROUP BY organization_key""",
        partnerships=partnerships,
    )


def surveys(responses: pl.DataFrame) -> pl.DataFrame:
    return sql(
        """
        SELECT organization_key, count(*) AS survey_responses, avg(nps) AS nps_average,
               100.0 * (count(*) FILTER (WHERE nps_group = 'promoter')
                        - count(*) FILTER (WHERE nps_group = 'detractor'))
                   / nullif(count(nps), 0) AS nps_score,
               avg(satisfaction) AS satisfaction_average
        FROM responses GROUP BY organization_key""",
        responses=responses,
    )


def _counts_filled(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Organisations without rows in a fact have counts of zero, not null."""
    counts = [c.name for c in published.BY_NAME[table].columns if c.dtype == pl.Int64 and c.name != "organization_key"]
    return frame.with_columns(pl.col(c).fill_null(0) for c in counts if c in frame.columns)


def mart_crm_student_admin_overlap(
    dim_organization: pl.DataFrame,
    organization_matches: pl.DataFrame,
    fact_workplace_period: pl.DataFrame,
    fact_crm_activity: pl.DataFrame,
    fact_partnership: pl.DataFrame,
    as_of: dt.date,
) -> pl.DataFrame:
    accounts = (
        organization_matches.filter(pl.col("source_system") == "crm")
        .group_by("organization_key")
        .agg(is_active(pl.col("state")).sum().cast(pl.Int64).alias("active_crm_account_count"))
    )
    names = (
        organization_matches.filter((pl.col("core") != "") & (pl.col("source_system") != REFERENCE))
        .group_by("organization_key")
        .agg((pl.col("core").n_unique() > 1).alias("name_conflict"))
    )
    frame = (
        dim_organization.join(accounts, on="organization_key", how="left")
        .join(names, on="organization_key", how="left")
        .join(hosting(fact_workplace_period, as_of), on="organization_key", how="left")
        .join(activity(fact_crm_activity, as_of), on="organization_key", how="left")
        .join(partnership(fact_partnership), on="organization_key", how="left")
    )
    frame = _counts_filled(frame, "mart_crm_student_admin_overlap").with_columns(
        pl.when(pl.col("in_crm") & pl.col("in_student_admin"))
        .then(pl.lit("both"))
        .when(pl.col("in_crm"))
        .then(pl.lit("crm_only"))
        .otherwise(pl.lit("student_admin_only"))
        .alias("overlap_category"),
        (pl.col("crm_account_count") > 1).alias("has_duplicate_crm_accounts"),
        (pl.col("in_crm") & (pl.col("active_crm_account_count") == 0) & (pl.col("students_hosted_12m") > 0)).alias(
            "inactive_account_hosting_students"
        ),
        pl.col("name_conflict").fill_null(False),
        pl.col("active_partnership").fill_null(False),
        pl.lit(as_of).alias("as_of_date"),
    )
    return conform(frame, "mart_crm_student_admin_overlap")


def customer_segments(
    dim: pl.DataFrame,
    workplaces: pl.DataFrame,
    activities: pl.DataFrame,
    partnerships: pl.DataFrame,
    responses: pl.DataFrame,
    contacts: pl.DataFrame,
    segments: list[Segment],
    as_of: dt.date,
) -> pl.DataFrame:
    frame = (
        dim.select("organization_key", "organization_name", "in_crm", "industry_code", "city")
        .join(hosting(workplaces, as_of), on="organization_key", how="left")
        .join(activity(activities, as_of), on="organization_key", how="left")
        .join(partnership(partnerships), on="organization_key", how="left")
        .join(surveys(responses), on="organization_key", how="left")
        .join(
            contacts.group_by("organization_key").len("contacts").with_columns(pl.col("contacts").cast(pl.Int64)),
            on="organization_key",
            how="left",
        )
    )
    frame = _counts_filled(frame, "mart_customer_segments").with_columns(pl.lit(as_of).alias("as_of_date"))
    frame = frame.with_columns(segment_of(segments)).with_columns(segment_label(segments))
    return conform(frame, "mart_customer_segments")


def mart_customer_segments(
    dim_organization: pl.DataFrame,
    organization_matches: pl.DataFrame,
    fact_workplace_period: pl.DataFrame,
    fact_crm_activity: pl.DataFrame,
    fact_partnership: pl.DataFrame,
    fact_survey_response: pl.DataFrame,
    contacts: pl.DataFrame,
    site: Site,
    as_of: dt.date,
) -> pl.DataFrame:
    """The segments of the site configuration over the published facts; contacts only as counts."""
    accounts = organization_matches.filter(pl.col("source_system") == "crm").select(
        pl.col("source_id").alias("account_id"), "organization_key"
    )
    columns = {c.name for c in published.BY_NAME["mart_customer_segments"].columns}
    return customer_segments(
        dim_organization,
        fact_workplace_period,
        fact_crm_activity,
        fact_partnership,
        fact_survey_response,
        contacts.select("account_id").join(accounts, on="account_id"),
        load_segments(site.customer_segments, columns),
        as_of,
    )
