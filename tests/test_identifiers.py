"""The identifier checks the rules are built on (``schemas/identifiers.py``), value by value (quick).

The rules' tests judge whole rows; these pin each helper's own answer, so a mutation pass sees every branch
(docs/architecture/testing.md). Henkilötunnus values are synthetic, in the temporary range 900–999."""

import datetime as dt

import polars as pl
import pytest

from schemas.identifiers import business_id_normalised, hetu_birth_date, hetu_is_valid, hetu_sex, oid_matches

D = dt.date


def _one(expr: pl.Expr, values: list, dtype=pl.Utf8) -> list:
    return pl.DataFrame({"v": values}, schema={"v": dtype}).select(expr.alias("answer"))["answer"].to_list()


@pytest.mark.parametrize(
    "hetu, born",
    [
        ("311299+9019", D(1899, 12, 31)),
        ("010190-900P", D(1990, 1, 1)),
        *(
            (f"010101{sign}{body}", D(1901, 1, 1))
            for sign, body in (("Y", "903U"), ("X", "905W"), ("W", "907Y"), ("V", "9080"), ("U", "9091"))
        ),
        ("290224A912X", D(2024, 2, 29)),
        ("150505B9344", D(2005, 5, 15)),
        *(
            (f"010101{sign}{body}", D(2001, 1, 1))
            for sign, body in (("C", "9113"), ("D", "9135"), ("E", "9157"), ("F", "9179"))
        ),
    ],
)
def test_every_century_sign_gives_its_birth_date(hetu, born):
    assert _one(hetu_birth_date("v"), [hetu]) == [born]
    assert _one(hetu_is_valid("v"), [hetu]) == [True]


@pytest.mark.parametrize(
    "hetu",
    [
        "290223A912X",  # no 29 February in 2023
        "010101G9179",  # not a century sign
        "0101x1A9179",  # letters in the date
        "",
        None,
    ],
)
def test_a_birth_date_that_cannot_be_read_is_null(hetu):
    assert _one(hetu_birth_date("v"), [hetu]) == [None]


def test_sex_is_read_from_the_individual_number():
    # odd: male ('1'); even: female ('2'); unreadable or missing: unknown (null)
    values = ["010190-901X", "010190-900P", "010190-903X", "010190-904X", "010190-9x0P", None]
    assert _one(hetu_sex("v"), values) == ["1", "2", "1", "2", None, None]


def test_validity_is_answered_per_value_in_row_order_with_missing_values_left_missing():
    values = ["010190-900P", "010190-900A", None, "010190-900P", "010190-900Q"]
    assert _one(hetu_is_valid("v"), values) == [True, False, None, True, False]


@pytest.mark.parametrize(
    "typed, standard",
    [
        ("0112038-9", "0112038-9"),
        ("01120389", "0112038-9"),  # no hyphen
        (" 0112 038-9 ", "0112038-9"),  # spaces
        ("FI01120389", "0112038-9"),  # the VAT form
        ("fi01120389", "0112038-9"),  # … typed in lower case
        ("fi 0112 0389", "0112038-9"),  # … with spaces
        ("\t0112038-9\n", "0112038-9"),  # white space around it
        ("0112038-8", None),  # wrong check digit
        ("FX01120389", None),  # another country's prefix
        ("", None),
    ],
)
def test_a_business_id_is_read_as_staff_type_it(typed, standard):
    assert _one(business_id_normalised("v"), [typed]) == [standard]


def test_a_repeated_business_id_is_answered_on_every_row():
    assert _one(business_id_normalised("v"), ["01120389", None, "0112038-9", "01120389"]) == [
        "0112038-9",
        None,
        "0112038-9",
        "0112038-9",
    ]


@pytest.mark.parametrize(
    "oid, matches",
    [
        ("1.2.246.562.24.12345678901", True),
        ("1.2.246.562.24.1234567890", False),  # 10 digits
        ("1.2.246.562.24.123456789012", False),  # 12 digits
        ("x1.2.246.562.24.12345678901", False),  # something before the prefix
        ("1x2.246.562.24.12345678901", False),  # the prefix's dots are dots, not any character
        ("1.2.246.562.15.12345678901", False),  # another node
    ],
)
def test_an_oid_is_its_node_prefix_and_eleven_digits(oid, matches):
    assert _one(oid_matches("v", "1.2.246.562.24."), [oid]) == [matches]


def test_a_column_with_no_value_keeps_its_type():
    """No value to look up still gives the column's own type (a Y-tunnus joins organisations as text)."""
    empty = pl.DataFrame({"v": [None, None]}, schema={"v": pl.Utf8})
    answers = empty.select(
        business_id_normalised("v").alias("business_id"),
        hetu_is_valid("v").alias("valid"),
        hetu_birth_date("v").alias("born"),
    )
    assert answers.schema == {"business_id": pl.Utf8, "valid": pl.Boolean, "born": pl.Date}
