"""The dashboard's figures, read with DuckDB from one published version (its Parquet and manifest)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.dashboard.small_cells import is_small, suppressed
from pipelines.files import sql_literal


@dataclass
class Figures:
    as_of: dt.date
    #: the published version the figures are read from, and when it was released
    version: str
    released_at: str
    #: the headline figures; ``suppressed`` names those counted from 1–4 persons (not shown)
    headline: dict[str, float | int | set | None]
    forecast_by_month: list[dict]
    #: per month: planned and actual new students, and the additional starters in that month that reach the target
    intake_by_month: list[dict]
    by_campus: list[dict]
    by_qualification_type: list[dict]
    graduations_by_month: list[dict]
    overlap: list[dict]
    segments: list[dict]
    partnerships: list[dict]
    nps_groups: list[dict]
    quality: list[dict]


def _rows(con, query: str, **params) -> list[dict]:
    cursor = con.execute(query, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def read_figures(version: Path) -> Figures:
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(manifest["as_of"])
    con = duckdb.connect()
    try:
        for table in version.glob("*.parquet"):
            source = f"read_parquet({sql_literal(table)}, hive_partitioning = false)"
            con.execute(f"CREATE VIEW {table.stem} AS SELECT * FROM {source}")
        year = {"year": as_of.year, "as_of": as_of}
        forecast = _rows(
            con,
            """
            SELECT month, actual_cumulative_student_years AS actual, forecast_cumulative_student_years AS forecast,
                   forecast_cumulative_low_80 AS low, forecast_cumulative_high_80 AS high,
                   target_student_years AS target,
                   forecast_year_total, forecast_year_low_80, forecast_year_high_80,
                   planned_starters AS planned, CASE WHEN make_date(year, month, 1) <= $as_of THEN actual_starters END
                   AS started, additional_starters_in_month_50 AS in_month_50,
                   additional_starters_in_month_80 AS in_month_80, additional_starters_spread_50,
                   additional_starters_spread_80, target_reachable_this_year, shortfall_student_years_50,
                   next_year_starters_50
            FROM mart_student_year_forecast
            WHERE year = $year AND funding_scope = 'all' AND breakdown = 'total' ORDER BY month""",
            **year,
        )
        latest = [r for r in forecast if r["actual"] is not None]
        headline = {
            "student_years_to_date": latest[-1]["actual"] if latest else None,
            "forecast_year_total": forecast[0]["forecast_year_total"] if forecast else None,
            "forecast_year_low_80": forecast[0]["forecast_year_low_80"] if forecast else None,
            "forecast_year_high_80": forecast[0]["forecast_year_high_80"] if forecast else None,
            "target": forecast[0]["target"] if forecast else None,
            "additional_starters_spread_50": forecast[0]["additional_starters_spread_50"] if forecast else None,
            "additional_starters_spread_80": forecast[0]["additional_starters_spread_80"] if forecast else None,
            **{
                k: forecast[0][k] if forecast else None
                for k in ("target_reachable_this_year", "shortfall_student_years_50", "next_year_starters_50")
            },
            **_rows(
                con,
                """
                SELECT (SELECT count(*) FROM fact_status_period WHERE status = 'valmistunut'
                            AND year(start_date) = $year AND start_date <= $as_of) AS graduations_this_year,
                       (SELECT count(DISTINCT coalesce(student_key, study_right_key)) FROM fact_status_period
                            WHERE status = 'valmistunut' AND year(start_date) = $year AND start_date <= $as_of)
                            AS graduations_this_year_persons,
                       (SELECT count(DISTINCT coalesce(student_key, study_right_key)) FROM fact_assessed_unit
                            WHERE grade <> 'Hylätty' AND year(assessment_date) = $year AND assessment_date <= $as_of
                            AND study_right_key NOT IN (SELECT study_right_key FROM fact_study_right
                                                        WHERE is_annulled)) AS credits_this_year_persons,
                       (SELECT count(nps) FROM fact_survey_response) AS nps_persons,
                       (SELECT coalesce(sum(credits), 0) FROM fact_assessed_unit WHERE grade <> 'Hylätty'
                            AND year(assessment_date) = $year AND assessment_date <= $as_of
                            AND study_right_key NOT IN (SELECT study_right_key FROM fact_study_right
                                                        WHERE is_annulled)) AS credits_this_year,
                       (SELECT count(*) FROM mart_crm_student_admin_overlap WHERE students_hosted_12m > 0)
                            AS employers_hosting_12m,
                       (SELECT count(*) FROM mart_crm_student_admin_overlap WHERE students_hosted_12m > 0
                            AND overlap_category = 'both') AS employers_hosting_in_crm,
                       (SELECT 100.0 * (count(*) FILTER (WHERE nps_group = 'promoter')
                                        - count(*) FILTER (WHERE nps_group = 'detractor')) / nullif(count(nps), 0)
                            FROM fact_survey_response) AS nps""",
                **year,
            )[0],
        }
        for figure in ("graduations_this_year", "credits_this_year", "nps"):
            persons = headline.pop(f"{figure}_persons")
            if is_small(persons):
                headline[figure] = None
                headline.setdefault("suppressed", set()).add(figure)
        breakdown = """
            WITH persons AS (  -- the year's students of each member: whom its forecast is about
                SELECT CASE $breakdown WHEN 'campus' THEN c.campus_name
                                       ELSE coalesce(q.qualification_type, 'unknown') END AS label,
                       count(DISTINCT coalesce(m.student_key, m.study_right_key)) AS persons
                FROM fact_student_year_month m
                LEFT JOIN dim_campus c USING (campus_key) LEFT JOIN dim_qualification q USING (qualification_key)
                WHERE m.year = $year AND m.student_years_current > 0 GROUP BY 1)
            SELECT breakdown_value AS label, forecast_year_total AS value, forecast_year_low_80 AS low,
                   forecast_year_high_80 AS high, coalesce(persons, 0) AS persons
            FROM mart_student_year_forecast LEFT JOIN persons ON persons.label = breakdown_value
            WHERE year = $year AND funding_scope = 'all' AND breakdown = $breakdown AND month = 12
            ORDER BY value DESC, breakdown_value"""
        return Figures(
            as_of=as_of,
            version=version.resolve().name,
            released_at=manifest.get("released_at", ""),
            headline=headline,
            forecast_by_month=forecast,
            intake_by_month=[  # (a month's starters are persons: 1–4 of them are not shown)
                {**m, "started": None, "started_suppressed": True} if is_small(m["started"]) else m for m in forecast
            ],
            by_campus=suppressed(_rows(con, breakdown, year=as_of.year, breakdown="campus")),
            by_qualification_type=suppressed(_rows(con, breakdown, year=as_of.year, breakdown="qualification_type")),
            graduations_by_month=suppressed(
                _rows(
                    con,
                    """
                    SELECT month(start_date) AS label, count(*) AS value,
                           count(DISTINCT coalesce(student_key, study_right_key)) AS persons
                    FROM fact_status_period
                    WHERE status = 'valmistunut' AND year(start_date) = $year AND start_date <= $as_of
                    GROUP BY 1 ORDER BY 1""",
                    **year,
                )
            ),
            overlap=_rows(
                con,
                """
                SELECT overlap_category AS label, count(*) AS value,
                       count(*) FILTER (WHERE students_hosted_12m > 0) AS hosting_12m
                FROM mart_crm_student_admin_overlap GROUP BY 1 ORDER BY 1""",
            ),
            segments=_rows(
                con,
                "SELECT segment_label AS label, count(*) AS value FROM mart_customer_segments "
                "GROUP BY 1 ORDER BY 2 DESC, 1",
            ),
            partnerships=_rows(
                con,
                "SELECT level AS label, count(*) AS value FROM fact_partnership WHERE is_active GROUP BY 1 ORDER BY 1",
            ),
            nps_groups=suppressed(  # (each response is a person's, an employer's contact)
                _rows(
                    con,
                    "SELECT nps_group AS label, count(*) AS value, count(*) AS persons FROM fact_survey_response "
                    "WHERE nps_group IS NOT NULL GROUP BY 1 ORDER BY 1",
                )
            ),
            quality=_quality(manifest),
        )
    finally:
        con.close()


def _quality(manifest: dict) -> list[dict]:
    """Share of quarantined rows per source system, from the manifest of the version."""
    per_source: dict[str, dict] = {}
    for f in manifest["files"].values():
        s = per_source.setdefault(f.get("source_system", "student_admin"), {"read": 0, "quarantined": 0})
        s["read"] += f["rows_read"]
        s["quarantined"] += f["rows_rejected"]
    return [
        {
            "label": system,
            "read": s["read"],
            "quarantined": s["quarantined"],
            "value": round(100 * s["quarantined"] / s["read"], 2) if s["read"] else 0.0,
        }
        for system, s in per_source.items()
    ]
