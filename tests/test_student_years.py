"""Student-years as KOSKI counts them: the spec's worked examples through the command, and properties."""
import csv
import datetime as dt

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.marts.history import history_from_folder
from pipelines.marts.report import write_report
from pipelines.marts.student_years import NUMBER, Calculation, StudyRightHistory, per_study_right
from pipelines.resources import LandingArea
from tests.conftest import run_cli
from tests.landing import valid_rows, write_landing

D = dt.date


def _landing(tmp_path, periods, study_right_type="ammatillinentutkinto", extras=()):
    """One study right (OO-1) with ``periods`` = [(d.m.yyyy, status, funding)], in an otherwise valid export."""
    rows = valid_rows()
    ending = [p[0] for p in periods if p[1] in ("valmistunut", "eronnut")]
    right = {**rows["study_rights"][0], "study_right_type": study_right_type, "start_date": periods[0][0], "planned_end_date": "",
             "end_date": ending[0] if ending else ""}
    rows.update(
        study_rights=[right],
        status_periods=[{"study_right_id": "OO-1", "start_date": d, "status": s, "funding_code": f} for d, s, f in periods],
        additional_periods=[{"study_right_id": "OO-1", "period_type": t, "start_date": a, "end_date": b, "value": v}
                            for t, a, b, v in extras],
        assessed_units=[], workplace_periods=[])
    write_landing(tmp_path / "landing", rows)
    return tmp_path / "landing"


def _report(tmp_path, landing, first, last):
    out = tmp_path / "report.csv"
    result = run_cli("student-years", "--landing", str(landing), "--from", first, "--to", last, "--out", str(out))
    assert result.returncode == 0, result.stderr
    with open(out, encoding="utf-8") as f:
        return list(csv.DictReader(f)), result.stderr


WORKED_EXAMPLES = [
    # (status periods, type, additional periods, from, to, expected columns)
    ([("1.1.2022", "lasna", "1")], "ammatillinentutkinto", (), "2022-01-01", "2022-01-31",
     {"student_year_days_old": "31", "present_or_graduated_days": "31"}),
    ([("1.1.2022", "lasna", "1")], "ammatillinentutkinto", (("osa-aikaisuus", "1.1.2021", "", "50"),),
     "2022-01-01", "2022-01-31", {"student_year_days_old": "15.5", "present_or_graduated_days": "31"}),
    ([("1.1.2022", "lasna", "1"), ("1.2.2022", "valmistunut", "1")], "ammatillinentutkinto", (),
     "2022-01-01", "2022-12-31", {"student_year_days_old": "32"}),
    ([("1.1.2022", "lasna", "1"), ("1.2.2022", "eronnut", "")], "ammatillinentutkinto", (),
     "2022-01-01", "2022-12-31", {"student_year_days_old": "31"}),
    ([("1.1.2016", "loma", "1")], "ammatillinentutkinto", (), "2016-01-01", "2016-12-31",
     {"holiday_days_counted": "28", "holiday_days_other": "338", "student_year_days_old": "28"}),
    ([("1.6.2026", "lasna", "1")], "ammatillinentutkinto", (), "2026-06-01", "2026-08-31",
     {"student_year_days_current": "61"}),
    ([("1.6.2026", "lasna", "1")], "ammatillinentutkintoosittainen", (), "2026-06-01", "2026-08-31",
     {"student_year_days_current": "92"}),
    ([("1.6.2026", "lasna", "1")], "valma", (), "2026-06-01", "2026-08-31",
     {"student_year_days_current": "", "present_or_graduated_days": "92"}),
]


@pytest.mark.parametrize("periods, kind, extras, first, last, expected", WORKED_EXAMPLES)
def test_worked_examples_through_the_command(tmp_path, periods, kind, extras, first, last, expected):
    rows, _ = _report(tmp_path, _landing(tmp_path, periods, kind, extras), first, last)
    assert len(rows) == 1 and rows[0]["study_right_id"] == "OO-1"
    assert {k: rows[0][k] for k in expected} == expected


def test_report_columns_funding_codes_and_additional_period_days(tmp_path):
    periods = [("1.8.2024", "lasna", "1"), ("1.10.2024", "lasna", "14"), ("1.12.2024", "valiaikaisestikeskeytynyt", "")]
    extras = (("majoitus", "1.7.2024", "15.8.2024", ""), ("vaativa erityinen tuki", "1.9.2024", "", ""))
    rows, _ = _report(tmp_path, _landing(tmp_path, periods, extras=extras), "2024-08-01", "2024-12-31")
    assert list(rows[0]) == ["study_right_id", "present_or_graduated_days", "holiday_days_counted", "holiday_days_other",
                             "student_year_days_old", "student_year_days_current", "funding_codes",
                             "accommodation_days", "special_support_days"]
    # accommodation only where it overlaps the study right (1.8.–15.8.); support on every day, whatever the status
    assert rows[0]["funding_codes"] == "1,14"
    assert rows[0]["accommodation_days"] == "15"
    assert rows[0]["special_support_days"] == str((D(2024, 12, 31) - D(2024, 9, 1)).days + 1)


def test_quarantined_study_rights_are_left_out_and_counted(tmp_path):
    rows = valid_rows()
    rows["study_rights"][1]["koulutus_code"] = "999999"  # OO-2: not a known qualification
    write_landing(tmp_path / "landing", rows)
    report, stderr = _report(tmp_path, tmp_path / "landing", "2025-01-01", "2025-12-31")
    assert [r["study_right_id"] for r in report] == ["OO-1"]
    assert "1 study rights in quarantine were left out" in stderr


def _one_right(periods, kind="ammatillinentutkinto"):
    return StudyRightHistory(
        pl.DataFrame({"study_right_id": ["A"], "study_right_type": [kind]}),
        pl.DataFrame([{"study_right_id": "A", "start_date": d, "status": s, "funding_code": f} for d, s, f in periods]),
        pl.DataFrame(schema={"study_right_id": pl.Utf8, "period_type": pl.Utf8, "start_date": pl.Date,
                             "end_date": pl.Date, "value": pl.Float64}))


days_2024_2026 = st.dates(min_value=D(2023, 7, 1), max_value=D(2026, 12, 31))


@given(start=days_2024_2026, length=st.integers(0, 500),
       kind=st.sampled_from(["ammatillinentutkinto", "telma", "tuvakoulutuksensuoritus", "ammatillinentutkintoosittainen",
                             "muuammatillinenkoulutus", "tutkinnonosaapienemmistäkokonaisuuksistakoostuvasuoritus"]))
def test_july_days_count_only_for_the_right_types(start, length, kind):
    end = start + dt.timedelta(days=length)
    row = per_study_right(_one_right([(start, "lasna", "1")], kind), start, end).row(0, named=True)
    july = sum(1 for i in range(length + 1) if (start + dt.timedelta(days=i)).month == 7)
    counted = kind in ("ammatillinentutkintoosittainen", "muuammatillinenkoulutus",
                       "tutkinnonosaapienemmistäkokonaisuuksistakoostuvasuoritus")
    assert row["present_or_graduated_days"] == length + 1
    assert row["student_year_days_current"] == length + 1 - (0 if counted else july)


@given(began=st.dates(min_value=D(2015, 1, 1), max_value=D(2022, 12, 31)), length=st.integers(1, 120),
       cuts=st.lists(st.integers(1, 119), max_size=4, unique=True))
def test_a_holidays_28_days_are_counted_once_across_period_boundaries(began, length, cuts):
    history = _one_right([(began, "loma", "1"), (began + dt.timedelta(days=length), "lasna", "1")])
    bounds = [began] + [began + dt.timedelta(days=c) for c in sorted(cuts) if c < length] + [began + dt.timedelta(days=length)]
    counted = sum(per_study_right(history, a, b - dt.timedelta(days=1))["holiday_days_counted"].sum()
                  for a, b in zip(bounds, bounds[1:]))
    assert counted == min(28, length)
    whole = per_study_right(history, began, began + dt.timedelta(days=length - 1)).row(0, named=True)
    assert whole["holiday_days_counted"] + whole["holiday_days_other"] == length


@pytest.fixture(scope="module")
def small_history(small_landing):
    landing = LandingArea(path=str(small_landing))
    return history_from_folder(landing, landing.export_folder("student_admin"))[0]


def test_pieces_come_in_study_right_and_day_order(small_history):
    """``Calculation.by_study_right`` tells polars the pieces are sorted by study right: they must be."""
    pieces = Calculation.up_to(small_history, D(2026, 11, 20)).pieces
    assert pieces[NUMBER].n_unique() > 200
    assert pieces.equals(pieces.sort(NUMBER, "piece_start", maintain_order=True))
    ends = pieces.select((pl.col("piece_end") < pl.col("piece_start").shift(-1)).over(NUMBER).drop_nulls().all())
    assert ends.item()  # and they do not overlap


def _month_start(year, month):
    return D(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.integers(0, 70), span=st.integers(0, 30))
def test_whole_month_sums_of_the_published_fact_equal_the_command(small_run, small_history, tmp_path, first, span):
    _, warehouse = small_run
    start = _month_start(2020, 1 + first)
    end = _month_start(2020, 2 + first + span) - dt.timedelta(days=1)
    end = min(end, D(2026, 11, 20))  # the as-of date: the fact knows nothing later
    out = tmp_path / f"report-{first}-{span}.csv"
    write_report(small_history, start, end, out)
    con = duckdb.connect()
    fact = con.sql(f"""
        SELECT study_right_id, sum(present_or_graduated_days) p, sum(holiday_days_counted) hc,
               sum(holiday_days_other) ho, sum(student_year_days_old) o, sum(student_year_days_current) c,
               sum(accommodation_days) a, sum(special_support_days) s,
               string_agg(DISTINCT funding_code, ',' ORDER BY funding_code) f
        FROM '{warehouse}/published/fact_student_year_month.parquet'
        WHERE month_date_key BETWEEN {start:%Y%m%d} AND {end:%Y%m%d} GROUP BY ALL""").pl()
    report = con.sql(f"SELECT * FROM read_csv('{out}', all_varchar=true)").pl()
    joined = report.join(fact, on="study_right_id", how="full", coalesce=True)
    assert joined.height == report.height == fact.height
    for column, summed in [("present_or_graduated_days", "p"), ("holiday_days_counted", "hc"),
                           ("holiday_days_other", "ho"), ("student_year_days_old", "o"),
                           ("student_year_days_current", "c"), ("accommodation_days", "a"),
                           ("special_support_days", "s")]:
        mine = joined[column].cast(pl.Float64)
        assert ((mine - joined[summed]).abs().fill_null(0) < 1e-9).all(), column
        assert (mine.is_null() == joined[summed].is_null()).all(), column
    assert (joined["funding_codes"].fill_null("") == joined["f"].fill_null("")).all()
