"""The field catalogue (schemas/fields.py): every column of every table is one of its fields, defined once."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.docs import documented_tables, render
from schemas.fields import FIELDS, column

TABLES = [t for t, _ in documented_tables()]


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_every_column_is_a_field_of_the_catalogue(table):
    for c in table.columns:
        assert c.field is FIELDS[(c.name, c.field.variant)], f"{table.name}.{c.name} is not the catalogue's field"


def test_every_field_of_the_catalogue_is_in_a_table():
    used = {id(c.field) for t in TABLES for c in t.columns}
    unused = [key for key, f in FIELDS.items() if id(f) not in used]
    assert not unused, f"fields no table uses: {unused}"


def test_a_variant_is_named_for_the_table_that_writes_it():
    for (name, variant), f in FIELDS.items():
        if variant:
            owner = next(t for t in TABLES if t.name == variant)
            assert owner.column(name).field is f
            assert (name, None) in FIELDS, f"{name} has a variant but no field of its own"


def test_one_name_has_one_type_personal_class_and_code_list_in_every_table_without_a_variant():
    """What the catalogue exists for: study_right_key is text wherever it stands, a henkilötunnus is personal
    data in every file, the study-right type has one code list."""
    seen: dict[str, tuple] = {}
    for t in TABLES:
        for c in t.columns:
            if c.field.variant:
                continue
            facts = (c.dtype, c.personal, c.code_list)
            assert seen.setdefault(c.name, facts) == facts, f"{t.name}.{c.name}"
    assert seen["hetu"][1] == "hetu" and seen["study_right_key"][0] == pl.Utf8


def test_a_table_refines_the_description_but_keeps_the_field():
    start = next(t for t in TABLES if t.name == "fact_status_period").column("start_date")
    assert start.description == "First day of the status." != start.field.description
    assert start.dtype == pl.Date and start.field is FIELDS[("start_date", None)]


def test_a_name_missing_from_the_catalogue_is_refused_with_where_to_add_it():
    with pytest.raises(KeyError, match="not in the field catalogue, schemas/fields.py"):
        column("student_numbr")
    with pytest.raises(KeyError, match="variant 'students'"):
        column("student_number", variant="students")


def test_the_catalogue_page_lists_every_field_with_its_tables():
    page = render()["fields.md"]
    for name, _ in FIELDS:
        assert f"`{name}`" in page
    assert "(variant: students)" in page
    row = next(line for line in page.splitlines() if line.startswith("| `study_right_key` |"))
    assert "[fact_study_right](published_fact_study_right.md)" in row
    assert "[student_year_report]" not in row  # the report carries the local id, never the pseudonym
