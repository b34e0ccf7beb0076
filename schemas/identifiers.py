"""Vectorised checks of Finnish identifiers, built on python-stdnum.

python-stdnum is called once per *distinct* value (a student's henkilötunnus is
distinct anyway; an employer's Y-tunnus repeats on thousands of rows), and the answer is
joined back as a polars expression, so a rule stays a vectorised column operation.
"""

from __future__ import annotations

import polars as pl
from stdnum import exceptions as stdnum_errors
from stdnum.fi import hetu as stdnum_hetu
from stdnum.fi import ytunnus as stdnum_ytunnus

CENTURY = {
    "+": 1800,
    "-": 1900,
    "Y": 1900,
    "X": 1900,
    "W": 1900,
    "V": 1900,
    "U": 1900,
    "A": 2000,
    "B": 2000,
    "C": 2000,
    "D": 2000,
    "E": 2000,
    "F": 2000,
}


def _per_distinct(expr: pl.Expr, fn, return_dtype) -> pl.Expr:
    return expr.map_batches(
        lambda s: s.replace_strict(
            (u := s.unique().drop_nulls()),
            pl.Series([fn(v) for v in u], dtype=return_dtype),
            default=None,
            return_dtype=return_dtype,
        ),
        return_dtype=return_dtype,
    )


def _hetu_ok(value: str) -> bool:
    try:
        stdnum_hetu.validate(value, allow_temporary=True)
        return True
    except stdnum_errors.ValidationError:
        return False


def hetu_is_valid(column: str) -> pl.Expr:
    """Henkilötunnus has a real date, a known century sign and the right check character."""
    return _per_distinct(pl.col(column), _hetu_ok, pl.Boolean)


def hetu_birth_date(column: str) -> pl.Expr:
    """The birth date a henkilötunnus states (null where it cannot be read)."""
    c = pl.col(column)
    year = c.str.slice(4, 2).cast(pl.Int32, strict=False) + c.str.slice(6, 1).replace_strict(
        CENTURY, default=None, return_dtype=pl.Int32
    )
    text = pl.concat_str([year.cast(pl.Utf8), c.str.slice(2, 2), c.str.slice(0, 2)], separator="-")
    return text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def hetu_sex(column: str) -> pl.Expr:
    """'1' (male) for an odd individual number, '2' (female) for an even one."""
    number = pl.col(column).str.slice(7, 3).cast(pl.Int32, strict=False)
    return pl.when(number % 2 == 1).then(pl.lit("1")).when(number.is_not_null()).then(pl.lit("2"))


def _ytunnus_compact(value: str) -> str | None:
    """Y-tunnus in its standard ``1234567-8`` form, or None when it is not valid.

    python-stdnum accepts what staff type: spaces, a missing hyphen, the ``FI12345678`` VAT form in either case
    (around it, any white space).
    """
    try:
        return stdnum_ytunnus.format(stdnum_ytunnus.validate(value.strip()))
    except stdnum_errors.ValidationError:
        return None


def business_id_normalised(column: str) -> pl.Expr:
    return _per_distinct(pl.col(column), _ytunnus_compact, pl.Utf8)


def oid_matches(column: str, prefix: str) -> pl.Expr:
    """A national OID: the given node prefix and 11 digits."""
    return pl.col(column).str.contains("^" + prefix.replace(".", r"\.") + r"\d{11}$")
