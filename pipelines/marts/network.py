"""Benchlearning: each provider's figures beside the network's distribution (``mart_network_benchmark``).

Grain: one row per provider, calendar year, indicator and funding breakdown. The figures are counted with DuckDB
from each provider's published release (its pseudonymised tables: no person crosses provider lines, only the
figures do). Every provider gets a row for every indicator of every year from its first student-year to its as-of
year; a figure describing fewer than ``SUPPRESS_BELOW_PERSONS`` persons (none at all included) is suppressed: not
shown, and left out of the network's median, quartiles and ranks; and where a provider's ``all`` minus its
published funding codes would give the suppressed codes back, more codes are suppressed with them (complementary
suppression). The indicators and their direction are in ``schemas/reference/network_indicators.csv``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.files import sql_literal
from pipelines.publishing.labels import labelled
from schemas.codes import ANNULLED_STATUS, DROPOUT_STATUSES, ENDING_STATUSES, NETWORK_INDICATORS, SUPPRESS_BELOW_PERSONS
from schemas.network import BENCHMARK

#: the published tables the indicators are counted from
READS = (
    "fact_student_year_month",
    "fact_status_period",
    "fact_assessed_unit",
    "fact_workplace_period",
    "fact_survey_response",
    "mart_crm_student_admin_overlap",
)


@dataclass(frozen=True)
class Member:
    """A provider of the network, with the release its figures are read from."""

    provider_id: str
    name: str
    group: str | None
    release: Path
    as_of: dt.date
    is_stale: bool = False


def _in(values) -> str:
    return ", ".join(sql_literal(v) for v in sorted(values))


#: per provider, year and indicator: (funding breakdown, value, persons); every date is cut at the provider's as-of
#: each provider's figures per cell, suppressed under ``SUPPRESS_BELOW_PERSONS`` persons
FIGURES = f"""
WITH years AS (
    SELECT m.provider, unnest(range(min(s.year), year(any_value(m.as_of)) + 1)) AS year
    FROM members m JOIN fact_student_year_month s USING (provider) GROUP BY m.provider
),
months AS (
    SELECT s.* FROM fact_student_year_month s JOIN members m USING (provider)
    WHERE make_date(s.year, s.month, 1) <= m.as_of
),
student_years AS (
    SELECT provider, year, CASE WHEN grouping(funding_code) = 1 THEN 'all' ELSE funding_code END AS funding_breakdown,
           sum(student_years_current)::DOUBLE AS value,
           count(DISTINCT coalesce(student_key, study_right_key)) FILTER (WHERE student_years_current > 0) AS persons
    FROM months GROUP BY GROUPING SETS ((provider, year, funding_code), (provider, year))
    HAVING grouping(funding_code) = 1 OR funding_code IS NOT NULL
),
completed AS (
    SELECT s.provider, year(s.start_date) AS year, count(DISTINCT s.study_right_key)::DOUBLE AS value,
           count(DISTINCT coalesce(s.student_key, s.study_right_key)) AS persons
    FROM fact_status_period s JOIN members m USING (provider)
    WHERE s.status = 'valmistunut' AND s.start_date <= m.as_of GROUP BY ALL
),
credits AS (
    SELECT a.provider, year(a.assessment_date) AS year, sum(a.credits)::DOUBLE AS credits
    FROM fact_assessed_unit a JOIN members m USING (provider)
    WHERE a.assessment_date <= m.as_of AND a.grade IS DISTINCT FROM 'Hylätty' GROUP BY ALL
),
credits_per_student_year AS (
    SELECT y.provider, y.year, coalesce(c.credits, 0) / nullif(y.value, 0) AS value, y.persons
    FROM student_years y LEFT JOIN credits c USING (provider, year) WHERE y.funding_breakdown = 'all'
),
endings AS (
    SELECT s.provider, s.study_right_key, coalesce(s.student_key, s.study_right_key) AS person,
           arg_min(s.status, s.start_date) AS status, min(s.start_date) AS ended_on
    FROM fact_status_period s JOIN members m USING (provider)
    WHERE s.status IN ({_in(ENDING_STATUSES - {ANNULLED_STATUS})}) AND s.start_date <= m.as_of
      AND s.study_right_key NOT IN (SELECT study_right_key FROM fact_status_period a
                                    WHERE a.provider = s.provider AND a.status = '{ANNULLED_STATUS}')
    GROUP BY ALL
),
dropout AS (
    SELECT provider, year(ended_on) AS year,
           100.0 * count(*) FILTER (WHERE status IN ({_in(DROPOUT_STATUSES)})) / count(*) AS value,
           count(DISTINCT person) AS persons
    FROM endings GROUP BY ALL
),
lasna AS (
    SELECT s.provider, s.study_right_key, coalesce(s.student_key, s.study_right_key) AS person,
           s.start_date AS first_day, least(coalesce(s.end_date, m.as_of), m.as_of) AS last_day
    FROM fact_status_period s JOIN members m USING (provider)
    WHERE s.status = 'lasna' AND s.start_date <= m.as_of
),
lasna_days AS (
    SELECT l.provider, y.year, count(DISTINCT l.person) AS persons,
           sum(datediff('day', greatest(l.first_day, make_date(y.year, 1, 1)),
                               least(l.last_day, make_date(y.year, 12, 31))) + 1) AS days
    FROM lasna l JOIN years y ON l.provider = y.provider
     AND l.first_day <= make_date(y.year, 12, 31) AND l.last_day >= make_date(y.year, 1, 1)
    GROUP BY ALL
),
workplace_days AS (
    SELECT provider, year(day) AS year, count(DISTINCT (study_right_key, day)) AS days
    FROM (
        SELECT l.provider, l.study_right_key,
               unnest(generate_series(greatest(l.first_day, w.start_date),
                                      least(l.last_day, coalesce(w.end_date, l.last_day)), INTERVAL 1 DAY))::DATE
               AS day
        FROM lasna l JOIN fact_workplace_period w ON w.provider = l.provider
         AND w.study_right_key = l.study_right_key AND w.start_date <= l.last_day
         AND coalesce(w.end_date, l.last_day) >= l.first_day
    ) GROUP BY ALL
),
workplace_share AS (
    SELECT d.provider, d.year, 100.0 * coalesce(w.days, 0) / d.days AS value, d.persons
    FROM lasna_days d LEFT JOIN workplace_days w USING (provider, year)
),
hosting AS (
    SELECT DISTINCT w.provider, y.year, w.organization_key, coalesce(w.student_key, w.study_right_key) AS person
    FROM fact_workplace_period w JOIN members m USING (provider)
    JOIN years y ON y.provider = w.provider AND w.start_date <= make_date(y.year, 12, 31)
     AND coalesce(w.end_date, m.as_of) >= make_date(y.year, 1, 1)
    WHERE w.organization_key IS NOT NULL AND w.start_date <= m.as_of
),
employers AS (
    SELECT h.provider, h.year, count(DISTINCT h.organization_key)::DOUBLE AS value,
           100.0 * count(DISTINCT h.organization_key) FILTER (WHERE o.crm_account_count > 0)
                 / count(DISTINCT h.organization_key) AS crm_share,
           count(DISTINCT h.person) AS persons
    FROM hosting h LEFT JOIN mart_crm_student_admin_overlap o USING (provider, organization_key) GROUP BY ALL
),
nps AS (
    SELECT r.provider, r.submitted_date_key // 10000 AS year,
           100.0 * (count(*) FILTER (WHERE r.nps >= 9) - count(*) FILTER (WHERE r.nps <= 6)) / count(*) AS value,
           count(*) AS persons
    FROM fact_survey_response r JOIN members m USING (provider)
    WHERE r.nps IS NOT NULL AND r.submitted_date_key <= year(m.as_of) * 10000 + month(m.as_of) * 100 + day(m.as_of)
    GROUP BY ALL
),
figures AS (
    SELECT provider, year, 'student_years' AS indicator, funding_breakdown, value, persons FROM student_years
    UNION ALL SELECT provider, year, 'completed_qualifications', 'all', value, persons FROM completed
    UNION ALL SELECT provider, year, 'credits_per_student_year', 'all', value, persons FROM credits_per_student_year
    UNION ALL SELECT provider, year, 'dropout_share', 'all', value, persons FROM dropout
    UNION ALL SELECT provider, year, 'workplace_learning_day_share', 'all', value, persons FROM workplace_share
    UNION ALL SELECT provider, year, 'employers_hosting', 'all', value, persons FROM employers
    UNION ALL SELECT provider, year, 'employers_crm_managed_share', 'all', crm_share, persons FROM employers
    UNION ALL SELECT provider, year, 'nps', 'all', value, persons FROM nps
),
cells AS (  -- every indicator of every year of a provider, and each funding code any provider had that year
    SELECT y.provider, y.year, i.indicator, 'all' AS funding_breakdown FROM years y CROSS JOIN indicators i
    UNION
    SELECT y.provider, y.year, 'student_years', f.funding_breakdown FROM years y
    JOIN (SELECT DISTINCT year, funding_breakdown FROM student_years WHERE funding_breakdown <> 'all') f USING (year)
),
shown AS (
    SELECT c.*, i.higher_is_better, coalesce(f.persons, 0) < {SUPPRESS_BELOW_PERSONS} AS is_suppressed,
           round(f.value, 6) AS value, f.persons
    FROM cells c JOIN indicators i USING (indicator)
    LEFT JOIN figures f USING (provider, year, indicator, funding_breakdown)
)
SELECT * FROM shown
"""

#: the network's distribution beside each provider's figures (``shown``, once the complementary suppression is done)
NETWORK = """
WITH distribution AS (
    SELECT year, indicator, funding_breakdown, count(value) AS network_providers,
           round(quantile_cont(value, 0.25), 6) AS network_q1, round(median(value), 6) AS network_median,
           round(quantile_cont(value, 0.75), 6) AS network_q3
    FROM shown WHERE NOT is_suppressed GROUP BY ALL
)
SELECT s.provider, m.name AS provider_name, m.provider_group, m.as_of, m.is_stale, s.year,
       s.indicator, s.funding_breakdown, s.higher_is_better,
       CASE WHEN NOT s.is_suppressed THEN s.value END AS indicator_value,
       CASE WHEN NOT s.is_suppressed THEN s.persons END AS persons, s.is_suppressed,
       coalesce(d.network_providers, 0) AS network_providers, d.network_q1, d.network_median, d.network_q3,
       CASE WHEN NOT s.is_suppressed AND s.value IS NOT NULL THEN rank() OVER (
           PARTITION BY s.year, s.indicator, s.funding_breakdown, s.is_suppressed OR s.value IS NULL
           ORDER BY CASE WHEN s.higher_is_better THEN -s.value ELSE s.value END) END AS network_rank
FROM shown s JOIN members m USING (provider)
LEFT JOIN distribution d USING (year, indicator, funding_breakdown)
ORDER BY provider, year, indicator, funding_breakdown
"""


#: the cells that add up to a provider's ``all`` (its funding codes)
_GROUP = ["provider", "year", "indicator"]


def complementary_suppression(shown: pl.DataFrame) -> pl.DataFrame:
    """Suppress more funding-code cells where the suppressed ones could be worked back by subtraction: a provider's
    ``all`` minus its published codes gave 1.04 student-years for three persons. Where the suppressed codes of a
    provider's year describe some persons but fewer than ``SUPPRESS_BELOW_PERSONS``, its smallest published codes
    are suppressed too, until what ``all`` minus the published codes describes is that many persons or more."""
    code = pl.col("funding_breakdown") != "all"
    published = code & ~pl.col("is_suppressed")
    persons = pl.col("persons").fill_null(0)
    hidden = pl.when(code & pl.col("is_suppressed")).then(persons).otherwise(0).sum().over(_GROUP)
    before = pl.when(published).then(persons).otherwise(0).cum_sum() - pl.when(published).then(persons).otherwise(0)
    needed = (hidden > 0) & (hidden < SUPPRESS_BELOW_PERSONS)
    return shown.sort([*_GROUP, "persons", "funding_breakdown"], nulls_last=True).with_columns(
        (
            pl.col("is_suppressed") | (published & needed & (hidden + before.over(_GROUP) < SUPPRESS_BELOW_PERSONS))
        ).alias("is_suppressed")
    )


def mart_network_benchmark(members: list[Member]) -> pl.DataFrame:
    """Every member's figures per year and indicator beside the network's distribution (see the module's text)."""
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.register(
            "members",
            pl.DataFrame(
                {
                    "provider": [m.provider_id for m in members],
                    "name": [m.name for m in members],
                    "provider_group": [m.group for m in members],
                    "as_of": [m.as_of for m in members],
                    "is_stale": [m.is_stale for m in members],
                },
                schema={
                    "provider": pl.Utf8,
                    "name": pl.Utf8,
                    "provider_group": pl.Utf8,
                    "as_of": pl.Date,
                    "is_stale": pl.Boolean,
                },
            ).to_arrow(),
        )
        con.register(
            "indicators",
            pl.DataFrame(
                {
                    "indicator": list(NETWORK_INDICATORS),
                    "higher_is_better": [r["higher_is_better"] == "true" for r in NETWORK_INDICATORS.values()],
                }
            ).to_arrow(),
        )
        for table in READS:
            parts = [
                f"SELECT {sql_literal(m.provider_id)} AS provider, * "
                f"FROM read_parquet({sql_literal(m.release / f'{table}.parquet')}, hive_partitioning = false)"
                for m in members
            ]
            con.execute(f"CREATE VIEW {table} AS " + " UNION ALL BY NAME ".join(parts))
        con.register("shown", complementary_suppression(con.sql(FIGURES).pl()).to_arrow())
        figures = labelled(con.sql(NETWORK).pl(), BENCHMARK)
        return figures.select(pl.col(c.name).cast(c.dtype) for c in BENCHMARK.columns)
    finally:
        con.close()
