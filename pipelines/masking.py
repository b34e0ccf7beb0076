"""Masked values for quarantine: enough for a steward to find the row, never the person."""
from __future__ import annotations

import polars as pl

from schemas.metadata import Personal

MAX_SHOWN = 120


def masked(value: pl.Expr, personal: Personal | None) -> pl.Expr:
    """The value as a steward may see it: a henkilötunnus keeps its date part only."""
    if personal == "hetu":
        return pl.when(value.str.len_chars() >= 8).then(value.str.slice(0, 8) + pl.lit("***")).otherwise(pl.lit("***"))
    if personal == "name":
        return value.str.slice(0, 1) + pl.lit("***")
    if personal == "email":
        return pl.lit("***@") + value.str.split("@").list.last()
    if personal == "phone":
        return pl.lit("***") + value.str.slice(-2)
    if personal == "oid":
        return value.str.slice(0, 15) + pl.lit("***")
    if personal == "free_text":
        return pl.lit("***")
    return value.str.slice(0, MAX_SHOWN)
