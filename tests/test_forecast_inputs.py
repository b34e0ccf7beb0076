"""The forecast's inputs on their own: the intake plan as read and validated, late recording as measured."""

import datetime as dt

import polars as pl
import pytest

from pipelines.ingestion.landing import Landing
from pipelines.marts.intake_plan import plan_in_force
from pipelines.marts.late_recording import measure
from pipelines.marts.student_years import ADDITIONAL_PERIODS, StudyRightHistory

HEADER = "Vuosi;Kuukausi;Suorituksen tyyppi;Koulutus;Toimipiste;Aloittajat"


def _plan(landing, day: str, lines: list[str], encoding: str = "utf-8"):
    folder = landing / "plans" / day
    folder.mkdir(parents=True)
    (folder / "aloitukset.csv").write_bytes("\r\n".join([HEADER, *lines, ""]).encode(encoding))


def test_the_newest_plan_on_or_before_the_day_is_in_force_and_a_bad_row_is_left_out_with_its_line(tmp_path):
    _plan(tmp_path, "2025-12-01", ["2026;8;ammatillinentutkinto;;;120"])
    _plan(
        tmp_path,
        "2026-06-01",
        [
            "2026;8;ammatillinentutkinto;351301;Haminan kampus;40",
            "2026;13;ammatillinentutkinto;;;5",  # line 3: no month 13
            "2026;9;tutkinto;;;5",  # line 4: not a suorituksen tyyppi
            "2026;10;telma;;;-2",  # line 5: negative
            "2026;1;valma;;Verkko-opetus;7",
        ],
    )
    landing = Landing.at(tmp_path)
    plan = plan_in_force(landing, dt.date(2026, 7, 1))
    assert plan.folder == "2026-06-01"
    assert plan.rows.select("month", "study_right_type", "koulutus_code", "campus", "planned_starters").rows() == [
        (8, "ammatillinentutkinto", "351301", "Haminan kampus", 40),
        (1, "valma", None, "Verkko-opetus", 7),
    ]
    assert [p.split(":")[0] for p in plan.problems] == [f"aloitukset.csv line {n}" for n in (3, 4, 5)]
    assert "Kuukausi" in plan.problems[0] and "Aloittajat" in plan.problems[2]
    # a day before the newer plan: the older one; before any plan: none, and new starts follow history
    assert plan_in_force(landing, dt.date(2026, 5, 31)).rows["planned_starters"].to_list() == [120]
    none = plan_in_force(landing, dt.date(2025, 11, 30))
    assert none.folder is None and none.for_year(2026) is None
    assert plan.for_year(2027) is None


def test_each_year_keeps_the_newest_plan_that_gives_it_so_last_years_plan_stays_beside_this_years(tmp_path):
    _plan(tmp_path, "2024-12-01", ["2025;8;ammatillinentutkinto;;;100", "2025;13;ammatillinentutkinto;;;5"])
    _plan(tmp_path, "2025-12-01", ["2026;8;ammatillinentutkinto;;;120"])
    _plan(tmp_path, "2026-12-01", ["2027;8;ammatillinentutkinto;;;130"])  # next year's, made in December
    plan = plan_in_force(Landing.at(tmp_path), dt.date(2026, 12, 15))
    assert plan.folder == "2026-12-01"
    assert {y: plan.for_year(y)["planned_starters"].to_list() for y in (2025, 2026, 2027)} == {
        2025: [100],
        2026: [120],
        2027: [130],
    }
    # an older plan's problem names its plan
    assert plan.problems == [plan.problems[0]] and plan.problems[0].startswith(
        "(plan 2024-12-01) aloitukset.csv line 3"
    )


def test_a_plan_in_windows_1252_reads_and_an_unreadable_one_is_said_in_words(tmp_path):
    _plan(tmp_path, "2026-01-01", ["2026;8;ammatillinentutkinto;;Kuusankosken toimipiste;12"], encoding="cp1252")
    plan = plan_in_force(Landing.at(tmp_path), dt.date(2026, 2, 1))
    assert plan.rows["campus"].to_list() == ["Kuusankosken toimipiste"] and plan.problems == []
    bad = tmp_path / "other"
    (bad / "plans" / "2026-01-01").mkdir(parents=True)
    (bad / "plans" / "2026-01-01" / "aloitukset.csv").write_text("Year,Month\n2026,8\n", encoding="utf-8")
    unread = plan_in_force(Landing.at(bad), dt.date(2026, 2, 1))
    assert unread.rows is None and len(unread.problems) == 1
    assert unread.problems[0].startswith("aloitukset.csv could not be read") and "history" in unread.problems[0]


def _history(statuses: list[tuple[str, str, str]]) -> StudyRightHistory:
    rights = sorted({r for r, _, _ in statuses})
    return StudyRightHistory(
        pl.DataFrame({"study_right_id": rights, "study_right_type": ["ammatillinentutkinto"] * len(rights)}),
        pl.DataFrame(
            [
                {"study_right_id": r, "start_date": dt.date.fromisoformat(d), "status": s, "funding_code": "1"}
                for r, d, s in statuses
            ]
        ),
        pl.DataFrame(schema=ADDITIONAL_PERIODS),
    )


def test_late_recording_counts_the_lasna_that_had_ended_and_revises_the_months_they_inflated():
    """On 31 March the export shows A and B lasna; a later export records that A left on 10 March: of two lasna,
    one had ended (share 1/2). March had 31 + 31 days then, 9 + 31 now (the day of eronnut counts none)."""
    then = _history([("A", "2026-01-01", "lasna"), ("B", "2026-01-01", "lasna")])
    now = _history(
        [
            ("A", "2026-01-01", "lasna"),
            ("A", "2026-03-10", "eronnut"),
            ("B", "2026-01-01", "lasna"),
            ("B", "2026-04-20", "loma"),
        ]
    )
    late = measure(now, then, dt.date(2026, 3, 31))
    assert (late.lasna, late.phantoms) == (2, 1)
    assert late.revision[0] == pytest.approx(40 / 62)
    assert late.revision[1] == pytest.approx(1.0) and late.revision[2] == pytest.approx(1.0)
    assert late.factor(0) == late.revision[0] and late.factor(7) == 1.0  # older months do not move


def test_study_rights_only_one_export_counts_are_measured_apart_from_late_recording():
    """C is counted on 31 March and held back since; D was held back then and counted now. Their student-years of
    the twelve months to 31 March, as shares of what the March export counted; phantoms and revisions stay those of
    A and B, which both count."""
    then = _history([("A", "2025-09-01", "lasna"), ("B", "2026-01-01", "lasna"), ("C", "2026-03-01", "lasna")])
    now = _history([("A", "2025-09-01", "lasna"), ("B", "2026-01-01", "lasna"), ("D", "2026-02-01", "lasna")])
    late = measure(now, then, dt.date(2026, 3, 31))
    counted_then = 212 + 90 + 31  # A from 1 September (within the twelve months from 1 April), B and C
    assert late.lost == pytest.approx(31 / counted_then)
    assert late.gained == pytest.approx(59 / counted_then)  # D's February and March
    assert late.turnover == pytest.approx(90 / counted_then)
    assert (late.lasna, late.phantoms) == (2, 0) and late.revision[0] == pytest.approx(1.0)
