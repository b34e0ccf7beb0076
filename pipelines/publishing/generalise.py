"""Quasi-identifiers published so that no combination of them singles anyone out (k-anonymity by local suppression).

Birth year, sex, mother tongue and municipality together singled out 137 of 300 students. Here each combination
held by fewer than ``k`` rows loses its most telling value first (the municipality, then the mother tongue, then the
age band, then sex: each becomes ``muu``, or unknown for sex) until every combination is held by ``k`` rows or
more; if the rows with everything suppressed are still fewer than ``k``, the smallest remaining groups join them.
"""

from __future__ import annotations

import polars as pl

#: what a suppressed value reads as (sex: unknown)
OTHER = "muu"


def _small(columns: list[str], k: int) -> pl.Expr:
    return pl.len().over([pl.col(c).fill_null("∅") for c in columns]) < k


def _suppressed(frame: pl.DataFrame, column: str) -> pl.Expr:
    return pl.lit(OTHER) if frame.schema[column] == pl.Utf8 and column != "sex" else pl.lit(None, frame.schema[column])


def k_anonymous(frame: pl.DataFrame, columns: list[str], k: int) -> pl.DataFrame:
    """``frame`` with the ``columns`` (most telling first) suppressed where needed, so that every combination of
    them is held by at least ``k`` rows (a frame of fewer than ``k`` rows is suppressed whole)."""
    if frame.height == 0:
        return frame
    for column in columns:
        small = _small(columns, k)
        frame = frame.with_columns(
            pl.when(small).then(_suppressed(frame, column)).otherwise(pl.col(column)).alias(column)
        )
    suppressed = pl.all_horizontal([(pl.col(c).is_null() | (pl.col(c) == OTHER)).fill_null(True) for c in columns])
    while True:
        gone = frame.filter(suppressed).height
        if gone == 0 or gone >= k or gone == frame.height:
            return frame
        sizes = frame.filter(~suppressed).group_by(columns).len().sort("len", *columns, nulls_last=True)
        smallest = sizes.head(1).drop("len")
        hit = frame.join(smallest.with_columns(pl.lit(True).alias("__hit")), on=columns, how="left", nulls_equal=True)
        frame = frame.with_columns(
            [
                pl.when(hit["__hit"].fill_null(False)).then(_suppressed(frame, c)).otherwise(pl.col(c)).alias(c)
                for c in columns
            ]
        )
