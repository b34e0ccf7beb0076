"""Masked values for quarantine, history, reports and logs: enough for a steward to find the row, never the person.

Two layers: the column's personal-data class masks what the column is for (a name, a birth date, a free text), and
every value, whatever column it came in, is masked by its shape with the one detector of ``schemas.personal_data``
(a henkilötunnus typed into Kotikunta in lower case or with a dash, an email written with (at) in Äidinkieli, a
phone number in a campus name). A mask keeps a few characters a steward can find the row by (a henkilötunnus's
last four, a phone number's last two, an email's domain), never the whole value, never a birth date; values are
masked before they are cut to ``MAX_SHOWN`` characters, so a cut never leaves half a henkilötunnus unmasked.
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl

from schemas.metadata import Personal
from schemas.personal_data import found, normal_form

MAX_SHOWN = 120
HIDDEN = "***"
_OID = re.compile(r"1\.2\.246\.562\.\d+\.")
_OID_WHOLE = re.compile(r"1\.2\.246\.562\.\d+\.\d+")


def mask_hetu(hetu: str) -> str:
    """The individual number and check character only: a steward can compare them with the source system."""
    kept = re.sub(r"\s", "", hetu)[-4:]
    return "*******" + kept if len(kept) == 4 else HIDDEN


def _masked(kind: str, text: str) -> str:
    if kind == "hetu":
        return mask_hetu(text)
    if kind == "email":
        domain = re.split(r"@|\(at\)|\[at\]|\{at\}| at ", text, flags=re.IGNORECASE)[-1].strip()
        return HIDDEN + "@" + domain
    if kind == "learner_oid":
        return "1.2.246.562.24." + HIDDEN + text[-2:]
    if kind == "name":  # (the initials)
        return " ".join(word[0] + HIDDEN for word in re.split(r"[ ,]+", text) if word)
    return _mask_phone(text)


def _mask_phone(text: str) -> str:
    return HIDDEN + re.sub(r"\D", "", text)[-2:]


def mask_text(text: str | None) -> str | None:
    """``text`` with every henkilötunnus, email address, learner OID, phone number and person's name in it masked."""
    if text is None:
        return None
    spans = found(text)
    if not spans:
        return text
    shown = unicodedata.normalize("NFKC", text)
    if len(shown) != len(normal_form(text)):  # (a letter whose lower case is longer: mask the normal form instead)
        shown = normal_form(text)
    out, at = [], 0
    for kind, start, end in spans:
        if start < at:  # (inside what an earlier span masked)
            continue
        out += [shown[at:start], _masked(kind, shown[start:end])]
        at = end
    return "".join(out) + shown[at:]


def mask_key(text: str | None) -> str | None:
    """A record's key as a steward sees it: whole when it is an id, and when personal data was typed into it only
    the masks of that (the rest may be a name: ``Matti Virtanen 131052-9085`` shows ``*******9085``)."""
    if text is None:
        return None
    spans = found(text)
    if not spans:
        return text
    shown = mask_text(text)
    return " ".join(part for part in re.findall(r"\S*\*\*\*\S*", shown)) or HIDDEN


def _each(value: pl.Expr, mask) -> pl.Expr:
    return value.map_batches(
        lambda s: pl.Series(s.name, [None if v is None else mask(v) for v in s], dtype=pl.Utf8),
        return_dtype=pl.Utf8,
        is_elementwise=True,
    )


def mask_shapes(value: pl.Expr) -> pl.Expr:
    """:func:`mask_text` over a text column."""
    return _each(value, mask_text)


def mask_keys(value: pl.Expr) -> pl.Expr:
    """:func:`mask_key` over a text column."""
    return _each(value, mask_key)


def _mask_oid(value: str) -> str:
    """An OID keeps its class (whose OID it is) and last two digits; anything else typed there is hidden."""
    known = _OID.match(value)
    return known.group(0) + HIDDEN + value[-2:] if known and _OID_WHOLE.fullmatch(value) else HIDDEN


def _mask_email(value: str) -> str:
    return HIDDEN + "@" + value.rsplit("@", 1)[1] if "@" in value else HIDDEN


CLASS_MASKS = {
    "hetu": mask_hetu,
    "name": lambda v: v[:1] + HIDDEN,
    "email": _mask_email,
    "phone": _mask_phone,
    "oid": _mask_oid,
    "birth_date": lambda v: HIDDEN,
    "free_text": lambda v: HIDDEN,
}


def masked(value: pl.Expr, personal: Personal | None) -> pl.Expr:
    """The value as a steward may see it: masked by what its column holds, else by its shape (then cut short)."""
    if personal is not None:
        return _each(value, CLASS_MASKS[personal])
    return mask_shapes(value).str.slice(0, MAX_SHOWN)
