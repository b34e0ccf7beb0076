"""The demo's defects behave as a real system's do across its monthly exports: a wrong record stays wrong, and the
defects that leave a study right out of the figures are corrected within months instead of gathering on old
records (which would make a past year's figures fall from export to export)."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from pipelines.demo_data.defects import CORRECTED_WITHIN, DEFECT, inject
from pipelines.demo_data.snapshots import known_on, with_recording_dates
from pipelines.demo_data.world import build_world

AS_OF = dt.date(2026, 11, 20)
SEED = 4
#: the defects that leave a study right out of the figures, and the date each one's record was written on
TIMELINE = {
    "unknown_tila": ("status_periods", "start_date"),
    "period_after_ending": ("status_periods", "start_date"),
    "study_right_without_periods": ("study_rights", "start_date"),
}


@pytest.fixture(scope="module")
def exports():
    world = build_world("small", SEED, AS_OF)
    tables = {
        **world.tables,
        "status_periods": with_recording_dates(np.random.default_rng(SEED + 2), world.tables["status_periods"]),
    }
    days = (dt.date(2026, 4, 30), dt.date(2026, 5, 31), dt.date(2026, 10, 31))
    return {day: inject(SEED, known_on(tables, day), day) for day in days}


def _victims(tables: dict[str, pl.DataFrame], defect: str, table: str) -> set[str]:
    return set(tables[table].filter(pl.col(DEFECT) == defect)["study_right_id"].to_list())


def test_a_wrong_record_is_wrong_in_the_next_export_too(exports):
    april, may = exports[dt.date(2026, 4, 30)], exports[dt.date(2026, 5, 31)]
    for defect, table in (("campus_trailing_space", "study_rights"), ("lasna_without_funding", "status_periods")):
        before, after = _victims(april, defect, table), _victims(may, defect, table)
        still_there = before & set(may[table]["study_right_id"].to_list())
        assert len(before) >= 2 and len(before & after) >= 0.8 * len(still_there), defect


def test_a_defect_that_leaves_a_study_right_out_stands_only_on_a_recently_written_record(exports):
    for day, tables in exports.items():
        found = 0
        for defect, (table, written) in TIMELINE.items():
            rows = tables[table].filter(pl.col(DEFECT) == defect)
            if defect == "period_after_ending":  # the defective line follows the ending: the ending is 14 days older
                rows = rows.with_columns(pl.col(written) - pl.duration(days=14))
            found += rows.height
            assert (rows[written] >= day - CORRECTED_WITHIN).all(), (day, defect)
        assert found, day
    # so a study right held back in spring for such a defect is counted again in the autumn
    spring, autumn = exports[dt.date(2026, 4, 30)], exports[dt.date(2026, 10, 31)]
    old = _victims(spring, "unknown_tila", "status_periods") - _victims(autumn, "unknown_tila", "status_periods")
    assert old


def test_an_annulment_is_for_good_and_nothing_follows_it(exports):
    april, october = exports[dt.date(2026, 4, 30)], exports[dt.date(2026, 10, 31)]
    annulled = _victims(april, "annulled_study_right", "status_periods")
    assert annulled and annulled <= _victims(october, "annulled_study_right", "status_periods")
    last = october["status_periods"].group_by("study_right_id", maintain_order=True).last()
    assert set(last.filter(pl.col("study_right_id").is_in(list(annulled)))["status"].to_list()) == {"mitatoity"}


def test_a_row_the_world_made_twice_by_chance_is_in_the_truth_as_the_reader_holds_it_back(exports, tmp_path):
    """At the national size the world makes a few dozen rows twice (a unit assessed twice on one day with one grade):
    no defect was injected, but the file holds an exact duplicate line, which the reader rejects; the truth lists it,
    on the line of its second copy, and an injected duplicate only once."""
    from pipelines.demo_data.defects import DEFECTS
    from pipelines.demo_data.export import write_export
    from schemas import student_admin

    tables = dict(exports[dt.date(2026, 10, 31)])
    units = tables["assessed_units"]
    twice = units.filter(pl.col(DEFECT).is_null()).head(1)
    tables["assessed_units"] = pl.concat([units, twice])
    write_export(student_admin.SOURCE, tables, DEFECTS, tmp_path, AS_OF)
    truth = pl.read_csv(tmp_path / "truth" / "student_admin" / AS_OF.isoformat() / "defects.csv", infer_schema=False)
    chance = truth.filter(pl.col("defect_class") == "duplicate_by_chance")
    assert chance.select("source_file", "source_line", "rule_id").rows() == [
        ("tutkinnon_osat.csv", str(units.height + 2), "assessed_units.duplicate_line")
    ]
    assert truth.select("source_file", "source_line").is_unique().all()
