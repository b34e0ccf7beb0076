"""Masked values for quarantine, history, reports and logs: enough for a steward to find the row, never the person.

Two layers: the column's personal-data class masks what the column is for (a name, a free text), and every value,
whatever column it came in, is masked by its shape: anything that looks like a henkilötunnus, an email address, a
phone number or a learner OID (a henkilötunnus typed into Kotikunta, an email in Äidinkieli, full-width digits
included). No mask keeps a birth date.
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl

from schemas.metadata import Personal

MAX_SHOWN = 120
HIDDEN = "***"

#: shapes of personal data, matched on the NFKC form of a text (full-width digits and letters read as ASCII)
HETU = re.compile(r"(?<![0-9A-Za-z])\d{6}[-+A-FU-Ya-fu-y]\d{3}[0-9A-Ya-y](?![0-9A-Za-z])")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LEARNER_OID = re.compile(r"1\.2\.246\.562\.24\.\d{8,}")
PHONE = re.compile(r"(?<![\w.])(?:\+|00)?\d[\d ()-]{5,16}\d(?![\w.])")
BUSINESS_ID = re.compile(r"\d{7}-\d")
DATE = re.compile(r"\d{1,4}[.-]\d{1,2}[.-]\d{1,4}")


def mask_hetu(hetu: str) -> str:
    """The individual number and check character only: a steward can compare them with the source system."""
    return "*******" + hetu[-4:] if len(hetu) >= 4 else HIDDEN


def _phone(match: re.Match) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if BUSINESS_ID.fullmatch(text) or DATE.fullmatch(text) or not 7 <= len(digits) <= 13:
        return text  # a Y-tunnus, a date or a short number: not a phone number
    if not (text.startswith(("+", "00", "0"))):
        return text  # a Finnish number starts with 0 or a country code; other long numbers are ids of things
    return HIDDEN + digits[-2:]


def mask_text(text: str | None) -> str | None:
    """``text`` with every henkilötunnus, email address, learner OID and phone number in it masked."""
    if text is None:
        return None
    if text.isascii() and not any(ch.isdigit() or ch == "@" for ch in text):
        return text  # (most values: nothing to look for)
    normal = unicodedata.normalize("NFKC", text)
    normal = HETU.sub(lambda m: mask_hetu(m.group(0)), normal)
    normal = EMAIL.sub(lambda m: HIDDEN + "@" + m.group(0).rsplit("@", 1)[1], normal)
    normal = LEARNER_OID.sub(lambda m: "1.2.246.562.24." + HIDDEN + m.group(0)[-2:], normal)
    normal = PHONE.sub(_phone, normal)
    return normal if normal != unicodedata.normalize("NFKC", text) else text


def mask_shapes(value: pl.Expr) -> pl.Expr:
    """:func:`mask_text` over a text column."""
    return value.map_batches(
        lambda s: pl.Series(s.name, [mask_text(v) for v in s], dtype=pl.Utf8), return_dtype=pl.Utf8, is_elementwise=True
    )


def masked(value: pl.Expr, personal: Personal | None) -> pl.Expr:
    """The value as a steward may see it: masked by what its column holds, then by its shape."""
    if personal == "hetu":
        return value.map_batches(
            lambda s: pl.Series(s.name, [None if v is None else mask_hetu(v) for v in s], dtype=pl.Utf8),
            return_dtype=pl.Utf8,
            is_elementwise=True,
        )
    if personal == "name":
        return value.str.slice(0, 1) + pl.lit(HIDDEN)
    if personal == "email":
        return pl.lit(HIDDEN + "@") + value.str.split("@").list.last()
    if personal == "phone":
        return pl.lit(HIDDEN) + value.str.slice(-2)
    if personal == "oid":
        return value.str.slice(0, 15) + pl.lit(HIDDEN)
    if personal == "free_text":
        return pl.lit(HIDDEN)
    return mask_shapes(value.str.slice(0, MAX_SHOWN))
