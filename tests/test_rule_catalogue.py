"""Every rule of every source, CRM included, has a failing example; none is exempt.

The student-administration value rules have hand-made examples in ``test_rules.py``; here are the CRM
ones and, for every table of both sources, the rules every table has: a required value left empty, an
exact duplicate line, a malformed line, untidy whitespace, a row whose parent is rejected and a row
whose parent file cannot be read. Each example changes the clean export minimally and must add its
rule on its line (and, where the example is about one value, nothing else there).
"""

import copy

import polars as pl
import pytest

from pipelines.ingestion.reading import CsvDialect, read_export_file
from pipelines.validation import validate_export
from schemas import crm, koski_bulk, student_admin
from schemas.metadata import Source
from tests import test_rules
from tests.landing import ACCOUNT, KOSKI_OID, valid_crm_rows, valid_koski_rows, valid_rows, write_source

SOURCES = {
    "student_admin": (student_admin.SOURCE, valid_rows, ";"),
    "crm": (crm.SOURCE, valid_crm_rows, ","),
    "koski_bulk": (koski_bulk.SOURCE, valid_koski_rows, ","),
}
OTHER = "6f1c1d52-1b7e-4c55-9a43-0d1f7d0c0099"  # a well-formed account id that is in no file

# CRM rule id -> (table, row index, {column: new text})
CRM_CASES = {
    "accounts.account_id.format": ("accounts", 2, {"account_id": "kaupunki-1"}),
    "accounts.account_id.unique": ("accounts", 2, {"account_id": ACCOUNT["korjaamo_old"]}),
    "accounts.business_id.standard_form": ("accounts", 2, {"business_id": "12345671"}),
    "accounts.business_id.valid": ("accounts", 2, {"business_id": "1234567-2"}),
    "accounts.created_on.format": ("accounts", 2, {"created_on": "15.1.2024 9:30"}),
    "accounts.customer_type.code": ("accounts", 2, {"customer_type": "Asiakas"}),
    "accounts.employees.format": ("accounts", 2, {"employees": "noin 5000"}),
    "accounts.employees.range": ("accounts", 2, {"employees": "-3"}),
    "accounts.industry_code.format": ("accounts", 2, {"industry_code": "4"}),
    "accounts.modified_on.format": ("accounts", 2, {"modified_on": "eilen"}),
    "accounts.modified_on_not_before_created_on": ("accounts", 2, {"modified_on": "2023-01-01T00:00:00Z"}),
    "accounts.postal_code.format": ("accounts", 2, {"postal_code": "451"}),
    "accounts.state.code": ("accounts", 2, {"state": "Deleted"}),
    "activities.account_exists": ("activities", 0, {"account_id": OTHER}),
    "activities.account_id.format": ("activities", 0, {"account_id": "korjaamo"}),
    "activities.activity_id.format": ("activities", 0, {"activity_id": "1"}),
    "activities.activity_id.unique": ("activities", 1, {"subject": "Toinen"}),  # a second row with the same id
    "activities.activity_type.code": ("activities", 0, {"activity_type": "fax"}),
    "activities.actual_end.format": ("activities", 0, {"actual_end": "1.10.2026 10:00"}),
    "activities.scheduled_start.format": ("activities", 0, {"scheduled_start": "huomenna"}),
    "activities.state.code": ("activities", 0, {"state": "Done"}),
    "contacts.account_exists": ("contacts", 0, {"account_id": OTHER}),
    "contacts.account_id.format": ("contacts", 0, {"account_id": "x"}),
    "contacts.contact_id.format": ("contacts", 0, {"contact_id": "ville"}),
    "contacts.contact_id.unique": ("contacts", 1, {"job_title": "Toimitusjohtaja"}),
    "contacts.created_on.format": ("contacts", 0, {"created_on": "2025-05-05"}),
    "partnerships.account_exists": ("partnerships", 0, {"account_id": OTHER}),
    "partnerships.account_id.format": ("partnerships", 0, {"account_id": "kaupunki"}),
    "partnerships.end_date.format": ("partnerships", 0, {"end_date": "31.12.2026"}),
    "partnerships.end_date_not_before_start_date": ("partnerships", 0, {"end_date": "2023-12-31"}),
    "partnerships.level.code": ("partnerships", 0, {"level": "Kaveri"}),
    "partnerships.partnership_id.format": ("partnerships", 0, {"partnership_id": "p1"}),
    "partnerships.partnership_id.unique": ("partnerships", 1, {"scope": "rekrytointi"}),
    "partnerships.scope.code": ("partnerships", 0, {"scope": "rekrytointi;grillaus"}),
    "partnerships.start_date.format": ("partnerships", 0, {"start_date": "1.1.2024"}),
    "survey_responses.account_exists": ("survey_responses", 0, {"account_id": OTHER}),
    "survey_responses.account_id.format": ("survey_responses", 0, {"account_id": "?"}),
    "survey_responses.nps.format": ("survey_responses", 0, {"nps": "hyvä"}),
    "survey_responses.nps.range": ("survey_responses", 0, {"nps": "11"}),
    "survey_responses.response_id.format": ("survey_responses", 0, {"response_id": "r1"}),
    "survey_responses.response_id.unique": ("survey_responses", 1, {"nps": "8"}),
    "survey_responses.satisfaction.format": ("survey_responses", 0, {"satisfaction": "5/5"}),
    "survey_responses.satisfaction.range": ("survey_responses", 0, {"satisfaction": "0"}),
    "survey_responses.submitted_on.format": ("survey_responses", 0, {"submitted_on": "kesäkuu"}),
}


def _validate(
    tmp_path,
    source: Source,
    rows: dict,
    delimiter: str,
    appended: dict[str, str] | None = None,
    unreadable: str | None = None,
) -> dict:
    folder = write_source(tmp_path, source.tables, rows, delimiter)
    for table_name, line in (appended or {}).items():
        path = folder / source.by_name[table_name].source_file
        path.write_bytes(path.read_bytes() + line.encode("utf-8") + b"\r\n")
    if unreadable:
        (folder / source.by_name[unreadable].source_file).write_bytes(b"\x00\x01 not a CSV file \xff")
    raws = {
        t.name: read_export_file(folder / t.source_file, t, dialect=CsvDialect(delimiter=delimiter))
        for t in source.tables
    }
    assert all(raws[t].problem is None for t in raws if t != unreadable), {t: r.problem for t, r in raws.items()}
    return validate_export(source, raws, "test")


def _rules_on(outcomes: dict, table: str, line: int) -> set[str]:
    failures = outcomes[table].failures
    return set(failures.filter(pl.col("source_line") == line)["rule_id"])


_CLEAN: dict[str, dict] = {}


def _added(tmp_path, system: str, table: str, line: int, rows: dict, **kwargs) -> set[str]:
    """The rules on ``line`` of ``table`` that the changed export has and the clean one has not."""
    source, clean_rows, delimiter = SOURCES[system]
    if system not in _CLEAN:  # (the clean export validates the same every time)
        _CLEAN[system] = _validate(tmp_path / "clean", source, clean_rows(), delimiter)
    changed = _validate(tmp_path / "changed", source, rows, delimiter, **kwargs)
    return _rules_on(changed, table, line) - _rules_on(_CLEAN[system], table, line)


@pytest.mark.parametrize("rule_id", sorted(CRM_CASES))
def test_crm_rule_fails_on_its_example(tmp_path, rule_id):
    table, index, changes = CRM_CASES[rule_id]
    rows = copy.deepcopy(valid_crm_rows())
    if index == len(rows[table]):  # a second row with the same id
        rows[table].append({**rows[table][0], **changes})
    else:
        rows[table][index].update(changes)
    added = _added(tmp_path, "crm", table, index + 2, rows)
    # (an account id that is no GUID is also no account of accounts.csv: both say so)
    also = {f"{table}.account_exists"} if rule_id.endswith("account_id.format") else set()
    assert rule_id in added and added - also == {rule_id}, added


ELSEWHERE = "1.2.246.562.15.99999999999"  # a well-formed study-right OID that is in no file
# KOSKI bulk rule id -> (table, row index (a new row when it is the table's length: a copy of row 0), changes)
KOSKI_CASES = {
    "koski_annulled.learner_oid.format": ("koski_annulled", 0, {"learner_oid": "1.2.246.562.10.1"}),
    "koski_annulled.study_right_oid.format": ("koski_annulled", 0, {"study_right_oid": "OO-3"}),
    "koski_qualifications.campus_oid.format": ("koski_qualifications", 0, {"campus_oid": "Kouvola"}),
    "koski_qualifications.delivered_twice": ("koski_qualifications", 2, {"suoritus_id": f"{KOSKI_OID[1]}.7"}),
    "koski_qualifications.study_right_exists": ("koski_qualifications", 0, {"study_right_oid": ELSEWHERE}),
    "koski_qualifications.study_right_oid.format": ("koski_qualifications", 0, {"study_right_oid": "OO-1"}),
    "koski_study_rights.delivered_twice": ("koski_study_rights", 2, {"koski_version": "2"}),
    "koski_study_rights.education_form.code": ("koski_study_rights", 0, {"education_form": "ammatillinen"}),
    "koski_study_rights.end_date_not_before_start_date": ("koski_study_rights", 0, {"end_date": "2023-07-01"}),
    "koski_study_rights.learner_oid.format": ("koski_study_rights", 0, {"learner_oid": "1.2.246.562.10.1"}),
    "koski_study_rights.oppilaitos_oid.format": ("koski_study_rights", 0, {"oppilaitos_oid": "Testiopisto"}),
    "koski_study_rights.status.code": ("koski_study_rights", 0, {"status": "lasnaolo"}),
    "koski_study_rights.study_right_oid.format": ("koski_study_rights", 0, {"study_right_oid": "OO-1"}),
    "koski_time_slices.end_date_not_before_start_date": ("koski_time_slices", 0, {"end_date": "2023-07-31"}),
    "koski_time_slices.funding_code.code": ("koski_time_slices", 0, {"funding_code": "99"}),
    "koski_time_slices.part_time_percent.range": ("koski_time_slices", 0, {"part_time_percent": "150"}),
    "koski_time_slices.status.code": ("koski_time_slices", 0, {"status": "poissa"}),
    "koski_time_slices.study_right_exists": ("koski_time_slices", 0, {"study_right_oid": ELSEWHERE}),
    "koski_time_slices.study_right_oid.format": ("koski_time_slices", 0, {"study_right_oid": "OO-1"}),
    "koski_units.delivered_twice": ("koski_units", 2, {"suoritus_id": f"{KOSKI_OID[1]}.1.7"}),
    "koski_units.study_right_exists": ("koski_units", 0, {"study_right_oid": ELSEWHERE}),
    "koski_units.study_right_oid.format": ("koski_units", 0, {"study_right_oid": "OO-1"}),
    "koski_units.suoritus_exists": ("koski_units", 0, {"parent_suoritus_id": f"{KOSKI_OID[1]}.9"}),
}


@pytest.mark.parametrize("rule_id", sorted(KOSKI_CASES))
def test_koski_bulk_rule_fails_on_its_example(tmp_path, rule_id):
    table, index, changes = KOSKI_CASES[rule_id]
    rows = copy.deepcopy(valid_koski_rows())
    if index == len(rows[table]):  # a copy of the first row
        rows[table].append({**rows[table][0], **changes})
    else:
        rows[table][index].update(changes)
    added = _added(tmp_path, "koski_bulk", table, index + 2, rows)
    # (an OID that is no study right's OID is also in no study right's file: both say so)
    also = {f"{table}.study_right_exists"} if rule_id.endswith("study_right_oid.format") else set()
    assert rule_id in added and added - also == {rule_id}, added


def _koski_types() -> list[tuple[str, str]]:
    return [(t.name, r.id) for t in koski_bulk.SOURCE.tables for r in t.type_rules()]


@pytest.mark.parametrize("table, rule_id", _koski_types())
def test_a_koski_value_that_does_not_read_as_its_type_fails_its_rule(tmp_path, table, rule_id):
    """KOSKI's writer gives ISO dates, Helsinki timestamps, true/false and Java's numbers; anything else fails."""
    rows = copy.deepcopy(valid_koski_rows())
    rows[table][0][rule_id.split(".")[1]] = "x"
    assert rule_id in _added(tmp_path, "koski_bulk", table, 2, rows)


def _tables(kind: str) -> list[tuple[str, str]]:
    return [
        (system, t.name)
        for system, (source, _, _) in SOURCES.items()
        for t in source.tables
        if kind != "child" or any(c == t.name for c, _, _ in source.parents)
    ]


def _required(system: str) -> list[tuple[str, str, str]]:
    source = SOURCES[system][0]
    return [(system, t.name, r.id) for t in source.tables for r in t.all_rules() if r.id.endswith(".required")]


@pytest.mark.parametrize("system, table, rule_id", [r for system in SOURCES for r in _required(system)])
def test_a_required_value_left_empty_fails_its_rule(tmp_path, system, table, rule_id):
    source, clean_rows, _ = SOURCES[system]
    rows = copy.deepcopy(clean_rows())
    column = source.by_name[table].column(rule_id.split(".")[1]).name
    rows[table][0][column] = ""
    assert rule_id in _added(tmp_path, system, table, 2, rows)


@pytest.mark.parametrize("system, table", _tables("all"))
def test_an_exact_duplicate_line_fails_its_rule(tmp_path, system, table):
    rows = copy.deepcopy(SOURCES[system][1]())
    rows[table].append(dict(rows[table][0]))
    assert _added(tmp_path, system, table, len(rows[table]) + 1, rows) == {f"{table}.duplicate_line"}


@pytest.mark.parametrize("system, table", _tables("all"))
def test_a_malformed_line_fails_its_rule(tmp_path, system, table):
    source, clean_rows, delimiter = SOURCES[system]
    rows = clean_rows()
    line = delimiter.join(["x"] * (len(source.by_name[table].columns) + 2))  # two fields too many
    added = _added(tmp_path, system, table, len(rows[table]) + 2, rows, appended={table: line})
    assert added == {f"{table}.malformed_row"}


@pytest.mark.parametrize("system, table", _tables("all"))
def test_untidy_whitespace_fails_its_rule(tmp_path, system, table):
    source, clean_rows, _ = SOURCES[system]
    rows = copy.deepcopy(clean_rows())
    column = next(c.name for c in source.by_name[table].columns if rows[table][0].get(c.name))
    rows[table][0][column] = "\u00a0" + rows[table][0][column] + " "
    assert f"{table}.whitespace" in _added(tmp_path, system, table, 2, rows)


@pytest.mark.parametrize("system, child", _tables("child"))
def test_a_row_whose_parent_is_rejected_fails_its_rule(tmp_path, system, child):
    """The parent row a child row points at is rejected (it loses a value it must have; where it has none but its
    key, two parent rows claim the key, and neither can be told apart): the child goes with it."""
    source, clean_rows, _ = SOURCES[system]
    rows = copy.deepcopy(clean_rows())
    column, parent = next((col, par) for c, col, par in source.parents if c == child)
    table = source.by_name[parent]
    key = next(fk_key for c, fk_key, p in table_refs(source, child) if c == column and p == parent)
    value = next(r[column] for r in rows[child] if r.get(column))
    needed = [c.name for c in table.columns if not c.nullable and c.on_failure == "reject" and c.name != key]
    if needed:
        next(r for r in rows[parent] if r[key] == value)[needed[0]] = ""
    else:
        next(r for r in rows[parent] if r[key] != value)[key] = value
    line = next(i for i, r in enumerate(rows[child]) if r.get(column) == value) + 2
    assert f"{child}.parent_in_quarantine" in _added(tmp_path, system, child, line, rows)


def table_refs(source: Source, child: str) -> list[tuple[str, str, str]]:
    """(column, parent's column, parent) of each reference of ``child``."""
    return [(col, parent_col, parent) for col, parent, parent_col in source.by_name[child].foreign_keys]


@pytest.mark.parametrize("system, child", _tables("child"))
def test_a_row_whose_parent_file_is_unreadable_fails_its_rule(tmp_path, system, child):
    source, clean_rows, _ = SOURCES[system]
    parent = next(par for c, _, par in source.parents if c == child)
    assert f"{child}.parent_file_unreadable" in _added(tmp_path, system, child, 2, clean_rows(), unreadable=parent)


def _free_text() -> list[tuple[str, str, str]]:
    return [
        (system, t.name, c.name)
        for system, (source, _, _) in SOURCES.items()
        for t in source.tables
        for c in t.free_text_columns()
    ]


#: personal data as people type it into a free-text field, and what a steward is shown of it
PLANTED = (
    "Soita Matti 131052–9085",
    "henrik.kari(at)example.fi",
    "puh.0409254404",
    "1.2.246.562.24.10000000001",
    "Yhteyshenkilö Matti Virtanen",
)


@pytest.mark.parametrize("system, table, column", _free_text())
@pytest.mark.parametrize("planted", PLANTED)
def test_personal_data_typed_into_a_free_text_column_fails_its_rule(tmp_path, system, table, column, planted):
    """The value is taken out (cleared where the column may be empty), the row flows on, and the quarantine shows it
    masked."""
    source, clean_rows, _ = SOURCES[system]
    rows = copy.deepcopy(clean_rows())
    rows[table][0][column] = planted
    assert f"{table}.{column}.no_personal_data" in _added(tmp_path, system, table, 2, rows)
    outcome = _validate(tmp_path / "again", source, rows, SOURCES[system][2])[table]
    shown = outcome.failures.filter(pl.col("rule_id") == f"{table}.{column}.no_personal_data")["masked_value"][0]
    assert "***" in shown and not [n for n in ("131052", "kari", "9254404", "Virtanen") if n in shown]
    assert "Matti" not in shown or not planted.endswith("Virtanen")  # (a first name alone is no one's name)
    if source.by_name[table].column(column).nullable:
        assert outcome.rows_rejected == 0 and outcome.valid.filter(pl.col(column) == planted).height == 0


def test_a_henkilotunnus_split_over_two_free_text_fields_is_found():
    rows = copy.deepcopy(valid_rows())
    rows["assessed_units"][0]["unit_code"], rows["assessed_units"][0]["unit_name"] = "131052", "-9085 Asennus"
    found = _validate_rows("student_admin", rows)["assessed_units"].failures
    assert "assessed_units.unit_name.no_personal_data" in set(found["rule_id"])


def _validate_rows(system: str, rows: dict) -> dict:
    import tempfile
    from pathlib import Path

    source, _, delimiter = SOURCES[system]
    with tempfile.TemporaryDirectory() as folder:
        return _validate(Path(folder), source, rows, delimiter)


def test_no_rule_of_any_source_is_without_a_failing_example():
    covered = (
        set(test_rules.CASES)
        | set(CRM_CASES)
        | set(KOSKI_CASES)
        | {rule_id for _, rule_id in _koski_types()}
        | {rule_id for _, _, rule_id in [r for system in SOURCES for r in _required(system)]}
    )
    for _, table in _tables("all"):
        covered |= {f"{table}.{kind}" for kind in ("duplicate_line", "malformed_row", "whitespace")}
    for _, child in _tables("child"):
        covered |= {f"{child}.parent_in_quarantine", f"{child}.parent_file_unreadable"}
    covered |= {f"{table}.{column}.no_personal_data" for _, table, column in _free_text()}
    every = {rule_id for source, _, _ in SOURCES.values() for rule_id in source.rule_catalogue()}
    assert every - covered == set(), sorted(every - covered)


def test_every_rule_reads_as_a_finnish_sentence_on_the_finnish_pages():
    """A steward's Finnish page says "Sarake businessid: …", never a bare column name of the CRM as the first word."""
    from schemas.sources import SOURCES

    texts = {rule_id: r.description_fi for s in SOURCES for rule_id, r in s.rule_catalogue().items()}
    assert texts and not {rule_id: t for rule_id, t in texts.items() if not t or not t[0].isupper()}
    assert texts["accounts.business_id.valid"].startswith("Sarake businessid: oltava kelvollinen Y-tunnus")
