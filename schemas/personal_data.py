"""One detector of personal data typed where it does not belong: a henkilötunnus, an email address, a learner OID,
a phone number or a person's name, in the forms people type them.

The same patterns serve the rule on every free-text column (the value is cleared and quarantined, masked), masking
(everything a steward sees) and the release guard (nothing published holds one). A text is first brought to one
form: NFKC (full-width digits and letters read as ASCII), lower case, every dash, minus and soft or non-breaking
hyphen as ``-``, every kind of space as a space. A column is looked at once per distinct value, and in Python
only where vectorised passes leave it possible: an id of a shape that holds nothing, or a text with no digit, no
at and no first name's and surname's letters, is passed over unread.

A person's name is a first name beside a surname (either first, a comma between allowed), both among the names the
Population Register Centre's statistics count most common in Finland (Faker's Finnish and Swedish lists, which are
drawn from them). A value that carries a company form is a business's name (a sole trader's ``Tmi Anna Korhonen`` is
in the trade register), not a person typed where they do not belong. A rare name, or a surname alone, is not found.
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl
from faker.providers.person.fi_FI import Provider as FinnishNames
from faker.providers.person.sv_SE import Provider as SwedishNames

#: characters typed for the henkilötunnus's hyphen: hyphens, dashes, minus signs, soft and non-breaking hyphens
DASHES = "\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
SPACES = "\u00a0\u2007\u202f\u2009\u200a\u3000"

#: a henkilötunnus: birth date, century sign (any letter KOSKI allows, in either case), individual number and check
#: character; a space may stand on either side of the sign, and nothing needs to separate it from a word
HETU = r"\d{6} ?[-+a-fu-y] ?\d{3}[0-9a-y]"
#: the at of an email address, also written (at), [at] or " at "
AT = r"@|\(at\)|\[at\]|\{at\}| at "
#: an email address
EMAIL = rf"[\w.+-]+ ?(?:{AT}) ?[\w-]+(?:\.[\w-]+)*\.[a-z]{{2,}}"
#: what every learner's OID (oppijanumero) starts with: OPH's persons are 1.2.246.562.24.*
LEARNER_OID_PREFIX = r"1\.2\.246\.562\.24\."
LEARNER_OID = rf"{LEARNER_OID_PREFIX}\d{{6,}}"
#: a Finnish phone number (0 and 8 to 12 more digits) or one with a country code, whatever separates the digits
PHONE = r"(?:^|[^\d])(?:\+|00)\d{1,3}(?:[ .\-/()]{0,2}\d){6,12}|(?:^|[^\d])0\d(?:[ .\-/()]{0,2}\d){7,11}(?:[^\d]|$)"
#: a hex digest (our pseudonyms)
HEX_DIGEST = r"[0-9a-f]{16,}"
#: a GUID (the CRM's ids)
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: long numbers that are no person's: GUIDs (the CRM's ids), hex digests (our pseudonyms), OIDs (a learner's is
#: found before these go), dates with or without a time; they are blanked before the other patterns look, so that
#: their digits read as no phone
NOT_PERSONAL = (
    rf"{GUID}|{HEX_DIGEST}"
    r"|1\.2\.246\.562\.\d+\.\d+"
    r"|\d{1,2}\.\d{1,2}\.\d{2,4}(?: (?:klo )?\d{1,2}[.:]\d{2})?"
    r"|\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2})?)?"
)

KINDS = {"hetu": HETU, "email": EMAIL, "learner_oid": LEARNER_OID, "phone": PHONE}

#: the first names and surnames a name is made of (lower case)
FIRST_NAMES = frozenset(
    n.lower()
    for provider in (FinnishNames, SwedishNames)
    for n in (*provider.first_names_male, *provider.first_names_female)
)
SURNAMES = frozenset(n.lower() for provider in (FinnishNames, SwedishNames) for n in provider.last_names)
#: words that make a value a business's name: company forms in Finnish, Swedish and English
BUSINESS_WORDS = r"(?:^|[^\w])(?:oy|oyj|ab|abp|ky|ay|tmi|t:mi|toiminimi|ltd|limited|inc|gmbh|oü|osk|ry)(?:[^\w]|$)"
_BUSINESS = re.compile(BUSINESS_WORDS)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)?")
_COMPILED = {kind: re.compile(pattern) for kind, pattern in KINDS.items()}
_NOT_PERSONAL = re.compile(NOT_PERSONAL)
_DASH = re.compile(f"[{DASHES}]")
#: the shapes of a whole value that can hold nothing, told apart in one vectorised pass, so that a column of keys needs
#: no look per value: a hex digest (our pseudonyms) and a GUID (the CRM's ids), which NOT_PERSONAL blanks whole, and
#: a business id (Y-tunnus, seven digits, a hyphen and one), too few digits after its hyphen for a henkilötunnus and
#: too few in all for a phone number (``tests/test_personal_data.py`` holds :func:`found` to each)
NO_PERSON_SHAPES = (
    HEX_DIGEST,
    GUID,
    r"[0-9]{7}-[0-9]",
)
_NO_PERSON_SHAPE = f"(?i)^(?:{'|'.join(NO_PERSON_SHAPES)})$"
_SPACE = re.compile(f"[{SPACES}]")


def normal_form(text: str) -> str:
    """``text`` in the one form the patterns read."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _SPACE.sub(" ", _DASH.sub("-", text))


def found(text: str | None) -> list[tuple[str, int, int]]:
    """Each personal datum in ``text``: (kind, start, end) in :func:`normal_form` of it."""
    if not text:
        return []
    normal = normal_form(text)
    blanked = _NOT_PERSONAL.sub(lambda m: "#" * len(m.group(0)), normal)  # (the same length: spans stay put)
    spans = []
    for kind, pattern in _COMPILED.items():
        for m in pattern.finditer(normal if kind == "learner_oid" else blanked):
            start, end = m.span()
            if kind == "phone":  # (the pattern takes the characters around the digits too)
                start += not (normal[start].isdigit() or normal[start] == "+")
                end -= not normal[end - 1].isdigit()
            spans.append((kind, start, end))
    return sorted(spans + _names(normal), key=lambda s: s[1])


def _names(normal: str) -> list[tuple[str, int, int]]:
    """A first name and a surname side by side (``matti virtanen``, ``virtanen, matti``), outside a business's name."""
    if _BUSINESS.search(normal):
        return []
    words = list(_WORD.finditer(normal))
    spans = []
    for a, b in zip(words, words[1:]):
        if normal[a.end() : b.start()].strip(" ,") or len(normal[a.end() : b.start()]) > 2:
            continue
        first, second = a.group(), b.group()
        if (first in FIRST_NAMES and second in SURNAMES) or (first in SURNAMES and second in FIRST_NAMES):
            spans.append(("name", a.start(), b.end()))
    return spans


def holds(text: str | None) -> bool:
    return bool(found(text))


#: what a henkilötunnus, a phone number, a learner OID or an email address cannot be typed without: a digit, an at
_NUMBER_OR_AT = r"\d|@|(?:^|[^\p{L}\d])at(?:[^\p{L}\d]|$)"
#: the letters of each first name and surname between its hyphens (a word of a name is one run of letters)
_FIRST_NAME_PARTS = pl.Series(sorted({part for name in FIRST_NAMES for part in name.split("-")}))
_SURNAME_PARTS = pl.Series(sorted({part for name in SURNAMES for part in name.split("-")}))


def may_hold(values: pl.Series) -> pl.Series:
    """Whether :func:`found` could find anything in each text, in vectorised passes: every value it finds something
    in passes (a number or an email address has a digit or an at; a name has a run of letters that is a first name's
    and one that is a surname's), and most of a column of names, places and subjects does not, so it need not be
    looked at in Python. The same normal form as :func:`normal_form`'s (NFKC, lower case)."""
    normal = values.str.normalize("NFKC").str.to_lowercase()
    runs = normal.str.extract_all(r"\p{L}+")
    return normal.str.contains(_NUMBER_OR_AT) | (
        runs.list.eval(pl.element().is_in(_FIRST_NAME_PARTS.implode())).list.any()
        & runs.list.eval(pl.element().is_in(_SURNAME_PARTS.implode())).list.any()
    )


def _holds_each(values: pl.Series) -> pl.Series:
    """:func:`holds` of each value, looked at once per distinct value (a column of millions has a few thousand), and
    only where a vectorised pass leaves it possible (neither a shape that holds nothing nor ruled out by
    :func:`may_hold`)."""
    distinct = values.cast(pl.Utf8).unique().drop_nulls()  # (a column of nulls only is of no type: no text)
    distinct = distinct.filter(~distinct.str.contains(_NO_PERSON_SHAPE))
    return values.is_in(_distinct_where(distinct.filter(may_hold(distinct)), holds).implode())


def holds_expr(value: pl.Expr) -> pl.Expr:
    """Whether each text of a column holds personal data (null for null)."""
    return value.map_batches(_holds_each, return_dtype=pl.Boolean, is_elementwise=True)


#: a henkilötunnus split over two fields: the first ends with its six birth digits (and perhaps the sign), the
#: second begins with the rest, so two ids side by side (``OO-100000-1``, ``100042``) are no henkilötunnus
_SPLIT_FIRST = re.compile(r"(?:^|\D)\d{6} ?[-+a-fu-y]? ?$")
_SPLIT_SECOND = re.compile(r"^ ?[-+a-fu-y]? ?\d{3}[0-9a-y](?:[^0-9a-z]|$)")
#: the characters a henkilötunnus split over two fields ends the first with and begins the second with
_SPLIT_END, _SPLIT_START = set("0123456789-+ " + DASHES + SPACES), set("0123456789-+ abcdefuvwxyABCDEFUVWXY" + DASHES)


def _split_each(pairs: pl.Series) -> pl.Series:
    first, second = (pairs.struct.field(n).fill_null("") for n in pairs.struct.fields)
    both = pl.DataFrame({"a": first, "b": second})
    maybe = first.str.slice(-1).is_in(list(_SPLIT_END)) & second.str.slice(0, 1).is_in(list(_SPLIT_START))
    near = both.filter(maybe)
    # each side's pattern once per distinct value of its column, the pair only where both sides fit: an id column
    # beside a code column (``OO-100000-1``, ``100287``) passes the first look on every row, millions of pairs
    ends = _distinct_where(near["a"], lambda v: bool(_SPLIT_FIRST.search(normal_form(v))))
    starts = _distinct_where(near["b"], lambda v: bool(_SPLIT_SECOND.match(normal_form(v))))
    candidates = near.filter(pl.col("a").is_in(ends.implode()) & pl.col("b").is_in(starts.implode())).unique()
    flagged = {(a, b) for a, b in candidates.iter_rows() if holds(a + b)}
    if not flagged:
        return pl.repeat(False, pairs.len(), dtype=pl.Boolean, eager=True).alias(pairs.name)
    hits = pl.DataFrame(sorted(flagged), schema={"a": pl.Utf8, "b": pl.Utf8}, orient="row").with_columns(
        pl.lit(True).alias("split")
    )
    found_in = both.join(hits, on=["a", "b"], how="left", maintain_order="left")
    return found_in["split"].fill_null(False).alias(pairs.name)


def _distinct_where(values: pl.Series, test) -> pl.Series:
    """The distinct values of ``values`` that pass ``test``."""
    distinct = values.unique()
    return distinct.filter(pl.Series([test(v) for v in distinct], dtype=pl.Boolean))


def pair_holds_expr(first: pl.Expr, second: pl.Expr) -> pl.Expr:
    """Whether two adjacent columns hold a henkilötunnus split between them: the first ends with its birth digits,
    the second begins with the rest."""
    return pl.struct(first.alias("first"), second.alias("second")).map_batches(
        _split_each, return_dtype=pl.Boolean, is_elementwise=True
    )
