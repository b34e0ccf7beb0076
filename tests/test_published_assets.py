"""Published assets are derived from the table's declaration and its builder's signature (pipelines/assets)."""

from __future__ import annotations

import polars as pl
import pytest
from dagster import AssetKey

from pipelines.assets.published import DATED_FACTS, published_asset
from pipelines.definitions import defs
from schemas import published


def test_every_published_table_has_its_asset_described_by_its_declaration():
    graph = defs().resolve_asset_graph()
    for table in published.TABLES:
        node = graph.get(AssetKey(table.name))
        assert node.description == f"{table.description} Grain: {table.grain}"
        assert node.group_name == "published"


def test_a_builder_reads_what_its_parameters_name():
    graph = defs().resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(AssetKey("fact_workplace_period")).parent_keys}
    assert parents == {
        "student_records/workplace_periods",
        "student_records/study_rights",
        "organization_matches",
        "student_admin/pseudonyms",
    }
    forecast = {k.to_user_string() for k in graph.get(AssetKey("mart_student_year_forecast")).parent_keys}
    assert forecast == {
        "student_admin/student_year_calculation",
        "student_records/targets",
        "plans/intake_plan",
    }


def test_dim_date_spans_every_fact_that_declares_a_date_or_a_timestamp():
    assert "fact_crm_activity" in DATED_FACTS  # timestamps only
    assert "fact_study_right" in DATED_FACTS
    assert "fact_student_year_month" not in DATED_FACTS  # a month key, no date of its own
    assert "mart_student_year_forecast" not in DATED_FACTS
    parents = {k.to_user_string() for k in defs().resolve_asset_graph().get(AssetKey("dim_date")).parent_keys}
    assert parents == set(DATED_FACTS)


def test_a_parameter_that_names_nothing_is_refused_with_what_it_may_name():
    def dim_campus(study_rightz: pl.DataFrame) -> pl.DataFrame:
        return study_rightz

    with pytest.raises(ValueError, match="'study_rightz' is neither a published table, a source table nor one of"):
        published_asset(dim_campus)


def test_a_builder_must_be_named_for_a_published_table():
    def dim_campuses(study_rights: pl.DataFrame) -> pl.DataFrame:
        return study_rights

    with pytest.raises(KeyError, match="dim_campuses: a builder is named for the published table it builds"):
        published_asset(dim_campuses)


def test_rows_said_to_come_in_key_order_are_checked_not_sorted_and_refused_out_of_order():
    """The weighted and monthly facts hand ``conform`` rows already in their key's order (empty funding codes last,
    as the sort puts them); a frame out of that order is refused, not published in an order that could tell
    something."""
    from pipelines.publishing.star import conform

    rows = {
        "study_right_key": ["a", "a", "a", "b", "b"],
        "month_date_key": [20260101, 20260101, 20260201, 20260101, 20260101],
        "funding_code": ["1", None, "1", "1", "6"],
        "cost_group": ["A"] * 5,
        "weight": [1.0] * 5,
        "student_years_current": [0.1] * 5,
        "weighted_student_years_current": [0.1] * 5,
        "has_warnings": [False] * 5,
    }
    ordered = pl.DataFrame(rows)
    name = "fact_weighted_student_year_month"
    assert conform(ordered, name, in_key_order=True).equals(conform(ordered, name))
    for swapped in ((0, 1), (1, 2), (2, 3), (3, 4)):
        order = list(range(5))
        order[swapped[0]], order[swapped[1]] = order[swapped[1]], order[swapped[0]]
        with pytest.raises(ValueError, match="in the order of its key"):
            conform(ordered[order], name, in_key_order=True)


def test_the_weighted_fact_in_parts_is_the_weighted_fact_whole(monkeypatch):
    """Weighted part by part (the national run's peak memory was the whole table weighted at once), the fact has the
    same rows in the same order, and every part but the last is exactly PART_ROWS rows (whole row groups: the same
    Parquet file as one table written at once), however many monthly rows have no cost group."""
    from pipelines.marts import weighting
    from pipelines.site import Site

    site = Site.read(None)
    weighted, unweighted = sorted(site.cost_groups["qualifications"])[:2], "999999"
    qualifications = pl.DataFrame({"qualification_key": [1, 2, 3], "koulutus_code": [*weighted, unweighted]})
    monthly = pl.DataFrame(
        {
            "study_right_key": [f"{n:032x}" for n in range(50) for _ in range(3)],
            "qualification_key": [n % 3 + 1 for n in range(50) for _ in range(3)],
            "month_date_key": [20260101, 20260201, 20260201] * 50,
            "funding_code": ["1", "1", None] * 50,
            "student_years_current": [0.05] * 150,
            "has_warnings": [False] * 150,
        }
    )
    monkeypatch.setattr(weighting, "PART_ROWS", 1_000_000)
    whole = list(weighting.fact_weighted_student_year_month(monthly, qualifications, site))
    monkeypatch.setattr(weighting, "PART_ROWS", 7)
    parts = list(weighting.fact_weighted_student_year_month(monthly, qualifications, site))
    assert len(whole) == 1 and whole[0].height == 102  # (a third of the study rights has no cost group)
    assert pl.concat(parts).equals(whole[0])
    assert [p.height for p in parts] == [7] * 14 + [4]
    nothing = list(weighting.fact_weighted_student_year_month(monthly.head(0), qualifications, site))
    assert [p.height for p in nothing] == [0]
