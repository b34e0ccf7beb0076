"""The student-year calculation in process (quick): the spec's worked examples and the hand-worked KOSKI case (the
same figures ``test_student_years.py`` checks through the command), month ends, the additional-period day measures
and the current formula's value of one day. In process, so a mutation pass sees them (docs/architecture/testing.md)."""

import datetime as dt

import polars as pl
import pytest

from pipelines.marts.student_year_report import as_text
from pipelines.marts.student_years import (
    ADDITIONAL_PERIODS,
    Calculation,
    StudyRightHistory,
    current_day_weights,
    month_end,
    per_study_right,
)
from schemas.koski_report import MEASURE_OF_TYPE, PERIOD_MEASURES
from tests.student_year_cases import KOSKI_CASE, KOSKI_EXPECTED, WORKED_EXAMPLES

D = dt.date


def _day(text: str) -> dt.date | None:
    return dt.datetime.strptime(text, "%d.%m.%Y").date() if text else None


def _history(periods, kind, extras=(), workplaces=()) -> StudyRightHistory:
    """OO-1 of the shared cases, built in memory as validation would hand it on."""
    return StudyRightHistory(
        pl.DataFrame(
            {"study_right_id": ["OO-1"], "study_right_type": [kind], "study_right_oid": ["1.2.246.562.15.10000000001"]}
        ),
        pl.DataFrame(
            [
                {"study_right_id": "OO-1", "start_date": _day(d), "status": s, "funding_code": f or None}
                for d, s, f in periods
            ],
            schema={"study_right_id": pl.Utf8, "start_date": pl.Date, "status": pl.Utf8, "funding_code": pl.Utf8},
        ),
        pl.DataFrame(
            [
                {
                    "study_right_id": "OO-1",
                    "period_type": t,
                    "start_date": _day(a),
                    "end_date": _day(b),
                    "value": float(v) if v else None,
                }
                for t, a, b, v in extras
            ],
            schema=ADDITIONAL_PERIODS,
        ),
        pl.DataFrame(
            [
                {"study_right_id": "OO-1", "agreement_type": k, "start_date": _day(a), "end_date": _day(b)}
                for k, a, b in workplaces
            ],
            schema={"study_right_id": pl.Utf8, "agreement_type": pl.Utf8, "start_date": pl.Date, "end_date": pl.Date},
        ),
    )


def _report_text(history: StudyRightHistory, first: str, last: str) -> list[dict]:
    return as_text(per_study_right(history, D.fromisoformat(first), D.fromisoformat(last))).to_dicts()


@pytest.mark.parametrize("periods, kind, extras, first, last, expected", WORKED_EXAMPLES)
def test_worked_examples_in_process(periods, kind, extras, first, last, expected):
    (row,) = _report_text(_history(periods, kind, extras), first, last)
    assert {k: row[k] or "" for k in expected} == expected


def test_every_koski_column_of_the_hand_worked_case_in_process():
    (row,) = _report_text(_history(kind="ammatillinentutkinto", **KOSKI_CASE), "2024-08-01", "2024-12-31")
    assert {k: v or "" for k, v in row.items()} == KOSKI_EXPECTED


@pytest.mark.parametrize(
    "day, last",
    [
        (D(2025, 1, 1), D(2025, 1, 31)),
        (D(2025, 2, 14), D(2025, 2, 28)),
        (D(2024, 2, 29), D(2024, 2, 29)),
        (D(2026, 4, 30), D(2026, 4, 30)),
        (D(2026, 12, 5), D(2026, 12, 31)),
    ],
)
def test_month_end_is_the_last_day_of_the_month(day, last):
    assert month_end(day) == last


def test_an_additional_period_counts_its_days_inside_the_period_and_the_other_types_count_zero():
    history = StudyRightHistory(
        pl.DataFrame(
            {"study_right_id": ["R"], "study_right_type": ["ammatillinentutkinto"], "study_right_oid": [None]},
            schema_overrides={"study_right_oid": pl.Utf8},
        ),
        pl.DataFrame(
            {"study_right_id": ["R"], "start_date": [D(2026, 1, 1)], "status": ["lasna"], "funding_code": ["1"]}
        ),
        pl.DataFrame(
            {
                "study_right_id": ["R", "R", "R"],
                "period_type": ["majoitus", "erityinen tuki", "hojks"],
                "start_date": [D(2026, 1, 10), D(2026, 1, 15), D(2026, 1, 31)],
                "end_date": [D(2026, 1, 19), None, None],
                "value": [None, None, None],
            },
            schema_overrides={"value": pl.Float64},
        ),
    )
    row = per_study_right(history, D(2026, 1, 1), D(2026, 1, 31)).row(0, named=True)
    accommodation, support, hojks = (MEASURE_OF_TYPE[t] for t in ("majoitus", "erityinen tuki", "hojks"))
    assert row[accommodation] == 10 and row[support] == 17  # 10.–19.1. and 15.–31.1.
    assert row[hojks] == 1  # from the report period's last day: that day alone
    others = {m for m in PERIOD_MEASURES if m.endswith("_days")} - {accommodation, support, hojks}
    assert others and all(row[m] == 0.0 for m in others if m in row)
    assert row["student_year_days_current"] == 31


def test_one_days_value_by_the_current_formula():
    cases = [  # study-right type, status, day, part-time %, value
        ("ammatillinentutkinto", "lasna", D(2026, 7, 15), 100.0, 0.0),  # July does not count for a qualification
        ("muuammatillinenkoulutus", "lasna", D(2026, 7, 15), 100.0, 1.0),  # … for other training it does
        ("muuammatillinenkoulutus", "lasna", D(2023, 7, 1), 100.0, 1.0),  # the current formula's first day
        ("ammatillinentutkinto", "lasna", D(2026, 8, 3), 50.0, 0.5),  # part-time weighs the day
        ("ammatillinentutkinto", "loma", D(2025, 12, 31), 100.0, 1.0),  # loma counts up to 31.12.2025
        ("ammatillinentutkinto", "loma", D(2026, 1, 1), 100.0, 0.0),  # … and not after
        ("ammatillinentutkinto", "valmistunut", D(2026, 5, 29), 50.0, 1.0),  # the graduation day counts whole
        ("ammatillinentutkinto", "lasna", D(2023, 6, 30), 100.0, 0.0),  # before the current formula
        ("ammatillinentutkinto", "eronnut", D(2026, 3, 2), 100.0, 0.0),
        ("valma", "lasna", D(2026, 3, 2), 100.0, 0.0),  # the formula gives valma no value
    ]
    combos = pl.DataFrame(
        [c[:4] for c in cases], orient="row", schema=["study_right_type", "status", "day", "part_time_percent"]
    )
    valued = current_day_weights(combos)
    assert valued.select(combos.columns).equals(combos)  # row for row, in order
    assert valued["weight"].to_list() == [c[4] for c in cases]


def test_study_rights_are_counted_apart_whatever_order_their_rows_come_in():
    """Two study rights whose status periods arrive mixed and newest first: each counts exactly what it counts
    alone (status runs, holiday allowances and pieces are per study right, and come out in study-right order)."""
    a = [("1.1.2022", "lasna", "1"), ("1.6.2022", "loma", "1"), ("1.9.2022", "lasna", "1")]
    b = [("1.1.2023", "lasna", "1"), ("1.6.2023", "loma", "1"), ("1.9.2023", "valmistunut", "1")]
    alone = [per_study_right(_history(p, "ammatillinentutkinto"), D(2022, 1, 1), D(2023, 12, 31)) for p in (a, b)]
    both = _history(a, "ammatillinentutkinto")
    other = _history(b, "ammatillinentutkinto")
    mixed = StudyRightHistory(
        pl.concat([other.study_rights.with_columns(study_right_id=pl.lit("OO-0")), both.study_rights]),
        pl.concat([other.status_periods.with_columns(study_right_id=pl.lit("OO-0")), both.status_periods])
        .reverse()
        .sort("start_date", descending=True, maintain_order=True),
        both.additional_periods,
    )
    together = per_study_right(mixed, D(2022, 1, 1), D(2023, 12, 31))
    assert together["study_right_id"].to_list() == ["OO-0", "OO-1"]
    assert together.drop("study_right_id", "study_right_oid").equals(
        pl.concat([alone[1], alone[0]]).drop("study_right_id", "study_right_oid")
    )
    assert together["holiday_days_counted"].to_list() == [28.0, 28.0]  # each holiday its own allowance


def test_funding_and_part_time_columns_of_a_study_right():
    """KOSKI's per-study-right columns beside the days: the part-time % of each stretch in order (empty for full
    time), rounded to two decimals; of overlapping part-time periods the first listed that contains the day wins."""
    full_time = _history(
        [("1.1.2024", "lasna", "1"), ("1.6.2024", "loma", "1"), ("1.8.2024", "valmistunut", "1")],
        "ammatillinentutkinto",
    )
    (row,) = per_study_right(full_time, D(2024, 1, 1), D(2024, 12, 31)).to_dicts()
    assert row["funding_codes"] == "1"
    assert row["part_time_percentages"] is None and row["part_time_average_percent"] == 100
    calculation = Calculation.of(full_time, D(2024, 1, 1), D(2024, 12, 31))
    assert (calculation.first, calculation.last) == (D(2024, 1, 1), D(2024, 12, 31))
    part_time = _history(
        [("1.1.2024", "lasna", "1")],
        "ammatillinentutkinto",
        # the 1 % period is listed first: it is in force where the two overlap (March)
        extras=(("osa-aikaisuus", "1.3.2024", "31.3.2024", "1"), ("osa-aikaisuus", "1.2.2024", "", "33.3333")),
    )
    (row,) = per_study_right(part_time, D(2024, 1, 1), D(2024, 4, 30)).to_dicts()
    assert row["part_time_percentages"] == "100,33.33,1,33.33"
    one_percent = _history(
        [("1.1.2024", "lasna", "1")], "ammatillinentutkinto", extras=(("osa-aikaisuus", "1.1.2024", "", "1"),)
    )
    assert per_study_right(one_percent, D(2024, 1, 1), D(2024, 1, 31))["part_time_percentages"].to_list() == ["1"]


def test_a_part_time_students_holiday_counts_at_the_part_time_share():
    """The old formula weighs the first 28 holiday days by the part-time % in force, like present days."""
    history = _history(
        [("1.1.2024", "loma", "1"), ("1.3.2024", "lasna", "1")],
        "ammatillinentutkinto",
        extras=(("osa-aikaisuus", "1.1.2024", "", "50"),),
    )
    (row,) = per_study_right(history, D(2024, 1, 1), D(2024, 1, 31)).to_dicts()
    assert row["holiday_days_counted"] == 28 and row["student_year_days_old"] == 14


def test_two_study_rights_with_the_same_timeline_each_count():
    """Their pieces begin on the same day, one after the other in the cut list: neither start may be taken for the
    other's duplicate."""
    one = _history([("1.1.2024", "lasna", "1")], "ammatillinentutkinto")
    two = StudyRightHistory(
        pl.concat([one.study_rights, one.study_rights.with_columns(study_right_id=pl.lit("OO-2"))]),
        pl.concat([one.status_periods, one.status_periods.with_columns(study_right_id=pl.lit("OO-2"))]),
        one.additional_periods,
    )
    report = per_study_right(two, D(2024, 1, 1), D(2024, 1, 31))
    assert report["study_right_id"].to_list() == ["OO-1", "OO-2"]
    assert report["student_year_days_old"].to_list() == [31.0, 31.0]


def test_overlapping_part_time_periods_take_the_first_listed_as_koski_does():
    """KOSKI takes, day by day, the first listed part-time period that contains the day (its AikajaksoRowBuilder:
    ``osaAikaisuusjaksot.find(_.contains(päivä))``), not the one that began last: lasna all 2025, 50 % for the year
    listed first and 80 % for June–August listed second is 365 × 50 % = 182.5 days."""
    history = _history(
        [("1.1.2025", "lasna", "1")],
        "ammatillinentutkinto",
        extras=(("osa-aikaisuus", "1.1.2025", "31.12.2025", "50"), ("osa-aikaisuus", "1.6.2025", "31.8.2025", "80")),
    )
    (row,) = per_study_right(history, D(2025, 1, 1), D(2025, 12, 31)).to_dicts()
    assert row["student_year_days_old"] == 182.5 and row["part_time_average_percent"] == 50
    assert row["part_time_percentages"] == "50"
    listed_the_other_way = _history(
        [("1.1.2025", "lasna", "1")],
        "ammatillinentutkinto",
        extras=(("osa-aikaisuus", "1.6.2025", "31.8.2025", "80"), ("osa-aikaisuus", "1.1.2025", "31.12.2025", "50")),
    )
    (row,) = per_study_right(listed_the_other_way, D(2025, 1, 1), D(2025, 12, 31)).to_dicts()
    assert row["student_year_days_old"] == pytest.approx(151 * 0.5 + 92 * 0.8 + 122 * 0.5)
    assert row["part_time_percentages"] == "50,80,50"
