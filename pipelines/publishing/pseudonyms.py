"""Keyed pseudonyms: HMAC-SHA256 with a secret that is never stored with the data."""
from __future__ import annotations

import hashlib
import hmac

import polars as pl

PSEUDONYM_LENGTH = 32


def pseudonymise(values: pl.Series, key: bytes, domain: str) -> pl.Series:
    """The same value and key give the same pseudonym; without the key they cannot be linked back."""
    unique = values.unique().drop_nulls()
    digests = [hmac.new(key, f"{domain}:{v}".encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH] for v in unique]
    return values.replace_strict(unique, pl.Series(digests, dtype=pl.Utf8), default=None, return_dtype=pl.Utf8)
