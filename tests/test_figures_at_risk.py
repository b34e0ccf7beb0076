"""Stewards see what a failure costs: figures at risk first, and the Finnish report speaks Finnish."""

import datetime as dt
import html
import re

import polars as pl
import pytest

from pipelines.stewardship.impact import figures_at_risk, held_back_at_most
from schemas.sources import RULES

D = dt.date


def test_every_rule_has_its_own_finnish_words():
    english_only = [
        rule_id for rule_id, rule in RULES.items() if not rule.description_fi or rule.description_fi == rule.description
    ]
    assert not english_only


def test_held_back_at_most_counts_the_open_days_of_the_year():
    held = pl.DataFrame({"study_right_id": ["A", "B", "C"], "rule_id": ["r1", "r1", "r2"]})
    rights = pl.DataFrame(
        {
            "study_right_id": ["A", "B", "C"],
            "start_date": [D(2025, 8, 1), D(2026, 3, 1), None],
            "end_date": [None, D(2026, 3, 31), None],
        }
    )
    periods = pl.DataFrame(
        {
            "study_right_id": ["A", "C", "C"],
            "start_date": [D(2025, 8, 1), D(2024, 1, 1), D(2025, 6, 1)],
            "status": ["lasna", "lasna", "eronnut"],
        }
    )
    got = held_back_at_most(held, rights, periods, D(2026, 1, 1), D(2026, 11, 20))
    # A: the whole year so far; B: March; C: ended before the year
    assert dict(zip(got["study_right_id"], got["student_years"])) == {"A": 324 / 365, "B": 31 / 365, "C": 0.0}


def test_the_group_that_moves_the_figures_most_comes_first():
    failures = pl.DataFrame(
        {
            "source_system": ["student_admin"] * 4,
            "table": ["students", "status_periods", "status_periods", "assessed_units"],
            "rule_id": [
                "students.hetu.valid",
                "status_periods.status.code",
                "status_periods.status.code",
                "assessed_units.grade.code",
            ],
            "record_key": ["S1", "R2", "R3", "R1"],
            "occurrences": [1, 1, 1, 4],
        }
    )
    rights = pl.DataFrame({"study_right_id": ["R1", "R2", "R3", "R4"], "student_number": ["S1", "S2", "S3", "S1"]})
    years = pl.DataFrame({"study_right_id": ["R1", "R4"], "student_years": [0.5, 0.25]})
    held = pl.DataFrame(
        {"study_right_id": ["R2", "R3"], "rule_id": ["status_periods.status.code"] * 2, "student_years": [0.4, 0.3]}
    )
    employers = pl.DataFrame({"study_right_id": ["R1", "R1", "R2"], "organization_key": [7, 8, 8]})
    got = figures_at_risk(failures, rights, years, held, employers)
    assert got["rule_id"].to_list() == [
        "status_periods.status.code",
        "students.hetu.valid",
        "assessed_units.grade.code",
    ]
    first, hetu, grade = got.rows(named=True)
    assert (first["study_rights"], first["students"], first["employers"]) == (2, 2, 1)
    assert abs(first["student_years_held_back"] - 0.7) < 1e-9 and first["student_years_touched"] == 0
    # a student's failure touches every study right of the student
    assert (hetu["study_rights"], hetu["students"], hetu["employers"], hetu["student_years_touched"]) == (2, 1, 2, 0.75)
    assert grade["failing_rows"] == 4 and grade["student_years_touched"] == 0.5


def _rule_rows(page: str) -> dict[str, str]:
    """rule id → the description the report shows beside it."""
    return {
        m[1]: html.unescape(re.sub(r"\s+", " ", m[2]).strip())
        for m in re.finditer(r'<tr class="rule" data-rule="([^"]+)"[^>]*>\s*<td><code>[^<]+</code><br>([^<]+)', page)
    }


@pytest.mark.slow
def test_the_steward_report_opens_with_figures_at_risk_in_its_own_language(small_run):
    _, warehouse = small_run
    folder = warehouse / "reports" / "steward"
    fi, en = (folder / "index.html").read_text(encoding="utf-8"), (folder / "index.en.html").read_text(encoding="utf-8")
    assert fi.index("Luvut vaarassa") < fi.index('class="system"') and "Figures at risk" in en
    groups = [
        (m[1], float(m[2]), float(m[3]))
        for m in re.finditer(
            r'class="at-risk-group" data-rule="([^"]+)" data-held-back="([^"]+)" data-touched="([^"]+)"', fi
        )
    ]
    keys = [(-held, -touched) for _, held, touched in groups]
    assert len(groups) > 10 and keys == sorted(keys) and groups[0][1] > 0
    for page, language in ((fi, "fi"), (en, "en")):
        shown = _rule_rows(page)
        assert len(shown) > 10
        assert all(text == RULES[rule].words(language) for rule, text in shown.items()), language
    assert "virhe" in fi and "uusi" in fi and ">new<" not in fi
    lines = (folder / "corrections_student_admin.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith('"Tiedosto";"Rivi"') and any(';"uusi";' in line for line in lines[1:])
    assert any("Henkilötunnuksessa on oltava" in line for line in lines[1:])
    english = (folder / "corrections_student_admin.en.csv").read_text(encoding="utf-8-sig").splitlines()
    assert english[0].startswith('"File";"Line"') and any("Henkilötunnus must have" in line for line in english[1:])
