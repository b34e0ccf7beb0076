"""Complementary suppression in the network's benchlearning: no suppressed cell comes back by subtraction."""

import polars as pl

from pipelines.marts.network import complementary_suppression
from schemas.codes import SUPPRESS_BELOW_PERSONS


def _cells(codes: dict[str, int | None], everyone: int) -> pl.DataFrame:
    rows = [("p", 2026, "student_years", "all", everyone)] + [
        ("p", 2026, "student_years", code, persons) for code, persons in codes.items()
    ]
    frame = pl.DataFrame(rows, schema=["provider", "year", "indicator", "funding_breakdown", "persons"], orient="row")
    return frame.with_columns((pl.col("persons").fill_null(0) < SUPPRESS_BELOW_PERSONS).alias("is_suppressed"))


def _suppressed(frame: pl.DataFrame) -> set[str]:
    return set(frame.filter("is_suppressed")["funding_breakdown"])


def test_all_minus_the_published_codes_never_describes_fewer_than_five_persons():
    """Code 2 describes three persons: with codes 1 and 6 published, all − 1 − 6 gave code 2's student-years."""
    out = complementary_suppression(_cells({"1": 40, "2": 3, "6": 9}, 52))
    assert _suppressed(out) == {"2", "6"}  # the smallest published code goes with it: 3 + 9 persons are hidden
    hidden = out.filter(pl.col("is_suppressed") & (pl.col("funding_breakdown") != "all"))["persons"].sum()
    assert hidden >= SUPPRESS_BELOW_PERSONS and "all" not in _suppressed(out)


def test_nothing_more_is_suppressed_where_nothing_could_be_worked_back():
    assert _suppressed(complementary_suppression(_cells({"1": 40, "6": 9}, 49))) == set()
    assert _suppressed(complementary_suppression(_cells({"1": 40, "2": None, "6": 9}, 49))) == {"2"}  # nobody there
    assert _suppressed(complementary_suppression(_cells({"1": 40, "2": 3, "6": 4}, 47))) == {"2", "6"}  # 7 hidden


def test_a_dashboard_chart_hides_small_figures_and_enough_others_that_the_total_gives_none_back():
    from pipelines.dashboard.small_cells import suppressed

    rows = [{"label": m, "value": n, "persons": n} for m, n in (("1", 7), ("2", 5), ("3", 6), ("4", 3), ("6", 1))]
    shown = {r["label"]: r["value"] for r in suppressed(rows)}
    assert shown == {"1": 7, "2": None, "3": 6, "4": None, "6": None}  # hidden: 4 persons, then 2's 5 more
    assert {r["label"]: r["value"] for r in suppressed(rows[:3] + rows[4:])} == {"1": 7, "2": None, "3": 6, "6": None}
    assert [r["value"] for r in suppressed(rows, adds_up=False)] == [7, 5, 6, None, None]
    assert [r["value"] for r in suppressed(rows[:3])] == [7, 5, 6]  # nothing small: nothing hidden
