"""Every rule of the student-administration export: a passing and a failing example.

The passing example is the clean export of ``tests/landing.py`` (no failures at all);
each failing example changes that export minimally and must trip exactly its rule on
the expected line (rows whose parent is quarantined may follow as cascades).
"""

import copy
import datetime as dt

import pytest

from pipelines.demo_data.people import hetu as hetu_of
from pipelines.ingestion.reading import read_export_file
from pipelines.validation import validate_export
from schemas import student_admin
from tests.landing import valid_rows, write_landing

# rule id -> (table, row index, {column: new text}); a row index equal to the row count appends a row
CASES = {
    "students.student_number.required": ("students", 1, {"student_number": ""}),
    "students.student_number.unique": ("students", 1, {"student_number": "1001"}),
    "students.birth_date.format": ("students", 1, {"birth_date": "31.2.2006"}),
    "students.hetu.valid": ("students", 0, {"hetu": "010305A901X"}),
    "students.learner_oid.format": ("students", 1, {"learner_oid": "1.2.246.562.24.123"}),
    "students.sex.code": ("students", 1, {"sex": "3"}),
    "students.mother_tongue.code": ("students", 1, {"mother_tongue": "xx"}),
    "students.home_municipality.format": ("students", 1, {"home_municipality": "91"}),
    "students.hetu_or_learner_oid": ("students", 1, {"learner_oid": ""}),
    "students.hetu_matches_birth_date": ("students", 0, {"birth_date": "2.3.2005"}),
    "students.hetu_matches_sex": ("students", 0, {"sex": "2"}),
    "students.whitespace": ("students", 1, {"first_names": " Åsa\u00a0"}),
    "study_rights.study_right_id.unique": ("study_rights", 1, {"study_right_id": "OO-1"}),
    "study_rights.study_right_oid.format": ("study_rights", 1, {"study_right_oid": "1.2.246.562.15.1"}),
    "study_rights.student_number.required": ("study_rights", 1, {"student_number": ""}),
    "study_rights.study_right_type.code": ("study_rights", 1, {"study_right_type": "lukio"}),
    "study_rights.koulutus_code.code": ("study_rights", 1, {"koulutus_code": "999999"}),
    "study_rights.osaamisala_code.format": ("study_rights", 1, {"osaamisala_code": "15"}),
    "study_rights.campus.required": ("study_rights", 1, {"campus": ""}),
    "study_rights.start_date.required": ("study_rights", 1, {"start_date": ""}),
    "study_rights.start_date.format": ("study_rights", 1, {"start_date": "1.13.2025"}),
    "study_rights.end_date_not_before_start_date": ("study_rights", 1, {"end_date": "1.1.2025"}),
    "study_rights.planned_end_date_not_before_start_date": ("study_rights", 1, {"planned_end_date": "1.1.2024"}),
    "study_rights.student_exists": ("study_rights", 1, {"student_number": "4040"}),
    "study_rights.has_status_periods": (
        "study_rights",
        2,
        {
            "study_right_id": "OO-3",
            "student_number": "1002",
            "study_right_type": "telma",
            "koulutus_code": "999903",
            "campus": "Haminan kampus",
            "start_date": "1.8.2025",
        },
    ),
    "status_periods.status.code": ("status_periods", 4, {"status": "opiskelee"}),
    "status_periods.funding_code.code": ("status_periods", 4, {"funding_code": "5"}),
    "status_periods.funding_required": ("status_periods", 4, {"funding_code": ""}),
    "status_periods.annulled": (
        "status_periods",
        5,
        {"study_right_id": "OO-2", "start_date": "1.3.2025", "status": "mitatoity", "funding_code": ""},
    ),
    "status_periods.start_date.format": ("status_periods", 4, {"start_date": "2025-01-08"}),
    "status_periods.study_right_exists": ("status_periods", 4, {"study_right_id": "OO-9"}),
    "status_periods.in_date_order": ("status_periods", 2, {"start_date": "1.5.2024"}),
    "status_periods.one_per_date": ("status_periods", 2, {"start_date": "1.6.2024"}),
    "status_periods.ending_status_last": (
        "status_periods",
        5,
        {"study_right_id": "OO-1", "start_date": "1.6.2026", "status": "lasna", "funding_code": "1"},
    ),
    "additional_periods.period_type.code": ("additional_periods", 1, {"period_type": "asuntola"}),
    "additional_periods.value.format": ("additional_periods", 1, {"value": "puolet"}),
    "additional_periods.part_time_percent": ("additional_periods", 0, {"value": "150"}),
    "additional_periods.end_date_not_before_start_date": ("additional_periods", 1, {"end_date": "1.1.2023"}),
    "additional_periods.study_right_exists": ("additional_periods", 1, {"study_right_id": "OO-9"}),
    "assessed_units.unit_code.format": ("assessed_units", 0, {"unit_code": "ABC"}),
    "assessed_units.credits.format": ("assessed_units", 0, {"credits": "paljon"}),
    "assessed_units.credits.range": ("assessed_units", 0, {"credits": "-5"}),
    "assessed_units.grade.code": ("assessed_units", 0, {"grade": "6"}),
    "assessed_units.assessment_date.format": ("assessed_units", 0, {"assessment_date": "31.2.2025"}),
    "assessed_units.recognised.code": ("assessed_units", 0, {"recognised": "X"}),
    "assessed_units.study_right_exists": ("assessed_units", 0, {"study_right_id": "OO-9"}),
    "workplace_periods.study_right_exists": ("workplace_periods", 1, {"study_right_id": "OO-9"}),
    "workplace_periods.agreement_type.code": ("workplace_periods", 0, {"agreement_type": "harjoittelu"}),
    "workplace_periods.business_id.valid": ("workplace_periods", 0, {"business_id": "0112038-8"}),
    "workplace_periods.end_date_not_before_start_date": ("workplace_periods", 0, {"end_date": "1.1.2024"}),
    "workplace_periods.within_study_right": ("workplace_periods", 0, {"end_date": "30.6.2026"}),
    "targets.year.range": ("targets", 0, {"year": "1925"}),
    "targets.year.unique": ("targets", 1, {"year": "2025"}),
    "targets.target_student_years.range": ("targets", 0, {"target_student_years": "-1"}),
    "targets.target_student_years.format": ("targets", 0, {"target_student_years": "4 500 ov"}),
}

# every "must read as its type" rule: an unreadable value in the first row
CASES.update(
    {
        rule.id: (table.name, 0, {rule.column: "not-a-value"})
        for table in student_admin.TABLES
        for rule in table.type_rules()
        if rule.id not in CASES
    }
)


def _validate(tmp_path, rows):
    folder = write_landing(tmp_path, rows)
    raws = {t.name: read_export_file(folder / t.source_file, t) for t in student_admin.TABLES}
    return validate_export(student_admin.SOURCE, raws, "test")


def test_the_clean_export_passes_every_rule(tmp_path):
    outcomes = _validate(tmp_path, None)
    for outcome in outcomes.values():
        assert outcome.failures.height == 0, outcome.failures
        assert outcome.rows_read == outcome.rows_published > 0


def test_a_workplace_period_filling_its_study_right_to_the_day_is_inside_it(tmp_path):
    """Both ends count: from the study right's first day to its last (31.5.2026) is inside; a day more is not."""
    rows = valid_rows()
    rows["workplace_periods"][0].update(start_date="1.8.2023", end_date="31.5.2026")
    assert _validate(tmp_path / "exact", rows)["workplace_periods"].failures.height == 0
    rows["workplace_periods"][0].update(end_date="1.6.2026")
    assert _validate(tmp_path / "over", rows)["workplace_periods"].failures["rule_id"].to_list() == [
        "workplace_periods.within_study_right"
    ]


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fails_on_its_example(tmp_path, rule_id):
    table, index, changes = CASES[rule_id]
    rows = copy.deepcopy(valid_rows())
    if index == len(rows[table]):
        rows[table].append({})
    rows[table][index].update(changes)
    outcomes = _validate(tmp_path, rows)
    failures = outcomes[table].failures
    line = index + 2
    hits = failures.filter(failures["source_line"] == line)
    own = set(hits["rule_id"]) - {f"{table}.parent_in_quarantine"}
    assert own == {rule_id}, hits.select("rule_id", "message", "masked_value")
    rule = student_admin.SOURCE.rule_catalogue()[rule_id]
    published = outcomes[table].valid.filter(outcomes[table].valid["source_line"] == line)
    assert published.height == (0 if rule.consequence == "reject" else 1)
    if rule.consequence == "clear":  # the value is unknown from here on; the rest of the row flows on
        assert published[rule.column].is_null().all() and published["has_warnings"].all()
    if rule.consequence == "flag":  # unchanged (a tidied value is reported against the column it was in)
        column = hits.filter(hits["rule_id"] == rule_id)["column"][0]
        assert published[column].to_list() == _typed_value(tmp_path, rows, table, line, column)
        assert published["has_warnings"].all()


def _typed_value(tmp_path, rows, table, line, column):
    """The column's value on ``line`` as the clean export's reader types it (nothing cleared)."""
    from pipelines.validation import clean_text, type_columns

    folder = write_landing(tmp_path / "again", rows)
    t = student_admin.BY_NAME[table]
    frame = type_columns(clean_text(read_export_file(folder / t.source_file, t).frame, t), t)
    return frame.filter(frame["source_line"] == line)[column].to_list()


def test_every_value_rule_has_a_failing_example():
    ingest_only = {r.id for t in student_admin.TABLES for r in t.ingest_rules()} - {"students.whitespace"}
    parents = {
        rule(c).id
        for c, _, _ in student_admin.SOURCE.parents
        for rule in (student_admin.SOURCE.parent_rule, student_admin.SOURCE.parent_file_rule)
    }
    # the free-text columns' personal-data rules have theirs in test_rule_catalogue (every column, every form)
    personal = {r.id for t in student_admin.TABLES for r in t.personal_data_rules()}
    untested = set(student_admin.SOURCE.rule_catalogue()) - set(CASES) - ingest_only - parents - personal
    # required rules of columns whose emptiness another rule already reports are covered by the generic mechanism
    untested = {r for r in untested if not r.endswith(".required")}
    assert not untested, sorted(untested)


def test_a_rejected_study_right_takes_its_children_with_it(tmp_path):
    rows = copy.deepcopy(valid_rows())
    rows["study_rights"][1]["study_right_id"] = "OO-1"  # two rows claim OO-1: neither can be told apart
    outcomes = _validate(tmp_path, rows)
    assert outcomes["study_rights"].rows_published == 0
    for child in ("status_periods", "additional_periods", "assessed_units", "workplace_periods"):
        failures = outcomes[child].failures
        # OO-1's rows go with it; OO-2's now point at a study right that is not there
        on_oo1 = failures.filter((failures["record_key"] == "OO-1") & (failures["consequence"] == "reject"))
        assert set(on_oo1["rule_id"]) == {f"{child}.parent_in_quarantine"}, child
        assert outcomes[child].rows_published == 0, child


def test_a_study_right_stands_without_its_rejected_student(tmp_path):
    rows = copy.deepcopy(valid_rows())
    rows["students"][1]["student_number"] = "1001"  # both student rows are rejected (the number is not unique)
    outcomes = _validate(tmp_path, rows)
    assert outcomes["students"].rows_published == 0
    rights = outcomes["study_rights"]
    assert rights.rows_published == rights.rows_read == 2 and rights.rows_cleared == 2
    assert set(rights.failures["rule_id"]) == {"study_rights.parent_in_quarantine", "study_rights.student_exists"}
    assert rights.valid["student_number"].is_null().all()
    for child in ("status_periods", "additional_periods", "assessed_units", "workplace_periods"):
        assert outcomes[child].failures.height == 0 and outcomes[child].rows_published == outcomes[child].rows_read


def test_a_bad_henkilotunnus_clears_it_and_holds_nothing_back(tmp_path):
    rows = copy.deepcopy(valid_rows())
    rows["students"][0]["hetu"] = rows["students"][0]["hetu"][:-1] + "X"  # wrong check character
    outcomes = _validate(tmp_path, rows)
    students = outcomes["students"]
    assert students.rows_published == 2 and students.rows_cleared == 1 and students.rows_rejected == 0
    assert students.valid.filter(students.valid["student_number"] == "1001")["hetu"].to_list() == [None]
    for table in student_admin.TABLES[1:]:
        assert outcomes[table.name].failures.height == 0, table.name


@pytest.mark.parametrize("hetu", ["01AB05A901X", "0103xxA901X", "01-305A901X"])
def test_a_henkilotunnus_whose_date_is_not_digits_is_only_invalid_and_the_other_rows_are_still_judged(tmp_path, hetu):
    """Its birth date and sex cannot be read, so they disagree with nothing: the hetu rule alone reports it; and the
    rules that read its date still judge every other row (the other student's birth date is wrong)."""
    rows = copy.deepcopy(valid_rows())
    rows["students"][0]["hetu"] = hetu
    rows["students"][1].update(hetu=hetu_of(dt.date(2006, 4, 2), 902), birth_date="3.4.2006")
    students = _validate(tmp_path, rows)["students"]
    assert sorted(zip(students.failures["record_key"], students.failures["rule_id"])) == [
        ("1001", "students.hetu.valid"),
        ("1002", "students.hetu_matches_birth_date"),
    ]


def test_rows_under_an_unreadable_parent_file_are_held_back(tmp_path):
    folder = write_landing(tmp_path)
    (folder / "opiskelijat.csv").write_bytes(b"\x00\x01binary garbage\xff\xfe")
    raws = {t.name: read_export_file(folder / t.source_file, t) for t in student_admin.TABLES}
    outcomes = validate_export(student_admin.SOURCE, raws, "test")
    assert outcomes["students"].problem and outcomes["students"].rows_read == 0
    rights = outcomes["study_rights"]  # a study right counts without its student: only the reference is unknown
    assert set(rights.failures["rule_id"]) == {"study_rights.parent_file_unreadable"}
    assert rights.rows_published == rights.rows_read == rights.rows_cleared == 2 and rights.rows_rejected == 0
    assert rights.valid["student_number"].is_null().all()
    assert "opiskelijat.csv could not be read" in rights.failures["message"][0]
    assert outcomes["status_periods"].failures.height == 0


def test_rows_under_an_unreadable_study_right_file_are_held_back(tmp_path):
    folder = write_landing(tmp_path)
    (folder / "opiskeluoikeudet.csv").write_bytes(b"\x00\x01binary garbage\xff\xfe")
    raws = {t.name: read_export_file(folder / t.source_file, t) for t in student_admin.TABLES}
    outcomes = validate_export(student_admin.SOURCE, raws, "test")
    periods = outcomes["status_periods"]
    assert set(periods.failures["rule_id"]) == {"status_periods.parent_file_unreadable"}
    assert periods.rows_published == 0 and periods.rows_rejected == periods.rows_read
