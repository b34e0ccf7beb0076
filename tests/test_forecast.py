"""Forecast against the target, the backtest on generated data with a known future, and weighting."""
import hashlib

import duckdb
import polars as pl
import pytest
import yaml

from pipelines.marts.backtest import backtest, mean_absolute_percentage_error, month_ends
from pipelines.resources import DEFAULT_SITE_CONFIG, LandingArea
from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # runs the pipeline (or a browser): not in the quick subset


def test_backtest_forecasts_each_month_from_the_export_known_then(small_landing):
    results = backtest(LandingArea(path=str(small_landing)), 2025)
    assert [r.month_end for r in results] == month_ends(2025)
    # the generator writes an export at every month end: each forecast must read that one, not a later one
    assert [r.export for r in results] == [m.isoformat() for m in month_ends(2025)]
    assert all(r.low - 1e-9 <= r.forecast <= r.high + 1e-9 for r in results)
    # the generated future is known: the forecasts must land near it, better as the year goes on
    assert mean_absolute_percentage_error(results) < 10
    assert abs(results[-2].error) < abs(results[0].error) or abs(results[-2].error) < 0.02


def test_backtest_command_prints_each_month_and_the_mape(small_landing):
    result = run_cli("backtest", "--landing", str(small_landing), "--year", "2025")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.startswith("2025-") for line in lines) == 12
    assert lines[-1].startswith("mean absolute percentage error:")


def test_backtest_refuses_a_year_that_is_not_over(small_landing):
    result = run_cli("backtest", "--landing", str(small_landing), "--year", "2026")
    assert result.returncode == 1
    assert "not after 2026" in result.stderr


def _published(warehouse, sql):
    con = duckdb.connect(str(warehouse / "tiedolla.duckdb"), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def test_forecast_mart_agrees_with_the_fact_and_carries_the_target(small_run):
    _, warehouse = small_run
    mart = _published(warehouse, "SELECT * FROM mart_student_year_forecast WHERE breakdown = 'total' ORDER BY funding_scope, month")
    fact = _published(warehouse, """
        SELECT month, sum(sum(coalesce(student_years_current, 0))) OVER (ORDER BY month) AS cumulative
        FROM fact_student_year_month WHERE year = 2026 GROUP BY month ORDER BY month""")
    actual = mart.filter((pl.col("funding_scope") == "all") & pl.col("actual_cumulative_student_years").is_not_null())
    assert actual["month"].to_list() == list(range(1, 12))  # as of 20.11.2026
    assert ((actual["actual_cumulative_student_years"] - fact["cumulative"][:11]).abs() < 1e-9).all()
    target = _published(warehouse, "SELECT target_student_years FROM fact_student_year_target WHERE year = 2026").item()
    assert (mart["target_student_years"] == target).all()
    for row in mart.iter_rows(named=True):
        assert row["forecast_year_low_80"] - 1e-9 <= row["forecast_year_total"] <= row["forecast_year_high_80"] + 1e-9
        assert row["forecast_cumulative_low_80"] - 1e-9 <= row["forecast_cumulative_student_years"] \
            <= row["forecast_cumulative_high_80"] + 1e-9
    # funding code 1 is part of all funding; the breakdowns add up to the total
    december = _published(warehouse, """SELECT funding_scope, breakdown, sum(forecast_cumulative_student_years) AS s
        FROM mart_student_year_forecast WHERE month = 12 GROUP BY ALL""")
    for scope in ("1", "all"):
        sums = december.filter(pl.col("funding_scope") == scope)
        assert sums["s"].max() - sums["s"].min() < 1e-6
    assert december.filter(pl.col("funding_scope") == "1")["s"][0] < december.filter(pl.col("funding_scope") == "all")["s"][0]


def _digest(path):
    return hashlib.sha256(pl.read_parquet(path).write_csv().encode()).hexdigest()


def test_weighting_is_separate_and_never_changes_the_unweighted_fact(small_run, small_landing, tmp_path):
    _, warehouse = small_run
    weighted = _published(warehouse, "SELECT * FROM fact_weighted_student_year_month")
    assert weighted.height > 0
    assert ((weighted["weighted_student_years_current"] - weighted["student_years_current"] * weighted["weight"])
            .abs().fill_null(0) < 1e-12).all()
    site = yaml.safe_load(DEFAULT_SITE_CONFIG.read_text(encoding="utf-8"))
    site.pop("student_years")  # no cost groups configured
    site.pop("customer_segments")  # the shipped rules
    config = tmp_path / "site.yaml"
    config.write_text(yaml.safe_dump(site), encoding="utf-8")
    other = tmp_path / "warehouse"
    result = run_cli("run", "--landing", str(small_landing), "--warehouse", str(other), "--site-config", str(config))
    assert result.returncode == 0, result.stderr
    assert pl.read_parquet(other / "published" / "fact_weighted_student_year_month.parquet").height == 0
    assert _digest(other / "published" / "fact_student_year_month.parquet") == \
        _digest(warehouse / "published" / "fact_student_year_month.parquet")
