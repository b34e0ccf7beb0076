"""The one detector of personal data (schemas/personal_data.py): every form people type, and no id of a thing."""

import re
import unicodedata

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from schemas.personal_data import DASHES, FIRST_NAMES, SURNAMES, found, holds, holds_expr, may_hold
from schemas.published_base import GX_PATTERNS, GX_SEARCHED

FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


@given(
    born=st.dates(),
    number=st.integers(2, 899),
    check=st.sampled_from("0123456789ABCDEFHJKLMNPRSTUVWXY"),
    dash=st.sampled_from("-" + DASHES),
    spaced=st.booleans(),
    lower=st.booleans(),
    wide=st.booleans(),
    before=st.sampled_from(["", "kampus", "Kotikunta: ", "x", "(", "Soita Matille "]),
    after=st.sampled_from(["", "x", " kiitos", ")", ", puh."]),
)
def test_a_henkilotunnus_is_found_in_every_form_it_is_typed(
    born, number, check, dash, spaced, lower, wide, before, after
):
    sign = dash if born.year < 2000 else "A"
    gap = " " if spaced else ""
    hetu = f"{born:%d%m%y}{gap}{sign}{gap}{number:03d}{check}"
    hetu = hetu.lower() if lower else hetu
    hetu = hetu.translate(FULL_WIDTH) if wide else hetu
    text = before + hetu + after
    assert holds(text), text
    assert pl.select(holds_expr(pl.lit(text))).item() is True


@pytest.mark.parametrize(
    "text",
    [
        "henrik.kari@example.fi",
        "henrik.kari(at)example.fi",
        "HENRIK.KARI [at] EXAMPLE.FI",
        "puh.0409254404",
        "040.691.2109",
        "040/6912109",
        "040-691 2109",
        "+358 40 691 2109",
        "0046 8 123 456 78",
        "1.2.246.562.24.10000000001",
        "Matti Virtanen",
        "Kampus Matti Virtanen",
        "KORHONEN, ANNA-LIISA",
        "yhteyshenkilö Åsa Öberg",
    ],
)
def test_emails_phones_learner_oids_and_names_are_found(text):
    assert holds(text) and pl.select(holds_expr(pl.lit(text))).item() is True


@pytest.mark.parametrize(
    "text",
    [
        "Kouvolan kampus",
        "0112038-9",  # a Y-tunnus
        "FI01120389",
        "2026-11-20",
        "2026-11-20T08:15:00Z",
        "20.11.2026",
        "02.03.2024 14.00",
        "1.2.246.562.10.0412345678",  # an organisation's OID
        "1.2.246.562.15.10012345678",  # a study right's OID
        "3f2a0412-3456-7890-abcd-0412345678ab",  # a CRM id
        "9f86d081884c7d659a2feaa0c55ad015",  # a pseudonym
        "OO-100000-1",
        "Opiskelijavuodet 1 234 567",
        "45100 Kouvola",
        unicodedata.normalize("NFD", "Sähkö-Äänekoski Oy"),
        "Tmi Anna Korhonen",  # a sole trader: a business's name, in the trade register
        "T:mi Matti Virtanen",
        "Korjaamo Virtanen Oy",  # a surname alone names no one
        "Lehtinen Metalli",
        "Salon toimipiste",
    ],
)
def test_ids_of_things_dates_and_amounts_are_no_personal_data(text):
    assert not holds(text) and pl.select(holds_expr(pl.lit(text))).item() is False


@given(
    shape=st.one_of(
        st.text("0123456789abcdefABCDEF", min_size=16, max_size=64),  # a hex digest
        st.tuples(*(st.text("0123456789abcdefABCDEF", min_size=n, max_size=n) for n in (8, 4, 4, 4, 12))).map(
            "-".join  # a GUID
        ),
        st.tuples(st.text("0123456789", min_size=7, max_size=7), st.text("0123456789", min_size=1, max_size=1)).map(
            "-".join  # a business id
        ),
    )
)
@example("0012345-6")  # (a phone number's 00 and a country code)
@example("0401234-5")  # (a mobile number's start)
@example("ada00000-0000-0000-0000-0000000000be")  # (two words of a GUID: a first name and a surname?)
def test_a_value_of_a_shape_passed_over_unread_holds_nothing_the_detector_would_find(shape):
    """The shapes a column's values skip the detector by (``NO_PERSON_SHAPES``): the detector itself finds nothing in
    any of them, so skipping them changes no verdict, only its cost."""
    assert found(shape) == []
    assert pl.select(holds_expr(pl.lit(shape))).item() is False


@given(
    parts=st.lists(
        st.one_of(
            st.sampled_from(sorted(FIRST_NAMES)),
            st.sampled_from(sorted(SURNAMES)),
            st.sampled_from([" ", ", ", "-", "\u00a0", "\u203f", "_", " Oy ", "\u00b2", "\u0301", "040 123 4567"]),
            st.sampled_from(["m.v@esim.fi", "m.v (at) esim.fi", "m.v [AT] esim.fi", "m.v at esim.fi", "(at)", " at "]),
            st.text(max_size=3),
        ),
        max_size=6,
    ),
    title=st.booleans(),
)
def test_the_vectorised_pass_lets_through_every_text_the_detector_finds_something_in(parts, title):
    """``may_hold`` decides which texts the detector reads at all: a text it leaves out must be one the detector finds
    nothing in, or skipping it would let personal data through."""
    text = "".join(parts).title() if title else "".join(parts)
    assert may_hold(pl.Series([text])).item() or not holds(text)


@given(
    text=st.one_of(
        st.text("0123456789abcdefABCDEF", min_size=10, max_size=40),  # keys, and hex runs around the 16 that pass over
        st.lists(
            st.one_of(
                st.text("0123456789abcdefABCDEF", min_size=1, max_size=20),
                st.sampled_from(["-", "+", "A", "U", " ", ".", "@", "(at)", "[AT]", "{at}", " at ", "(at]", "\n", "x"]),
                st.sampled_from(["010190A123B", "311299-999X", "m.v@esim.fi", "m.v [at] esim.fi", "1.2.246.562.24."]),
                st.sampled_from(["1.2.246.562.24.12345678901", "ada00000-0000-0000-0000-0000000000be", "Läsnä"]),
            ),
            max_size=6,
        ).map("".join),
    )
)
@example("010190A123B")  # (a henkilötunnus of the 2000s is itself hex, but shorter than any digest)
@example("010190a123b\n")
@example("0123456789abcdef 010190A123B")
@example("0123456789abcdef010190A123B")
@example("matti.v (AT) esim.fi")
@example("oid 1.2.246.562.24.123456")
def test_great_expectations_patterns_pass_over_only_what_none_of_them_finds_anything_in(text):
    """GX's patterns pass over a value that is one hex digest or lacks what a pattern needs (``GX_PATTERNS``): each
    gives the verdict the pattern it guards gives, searched anywhere in the text as GX searches."""
    for guarded, searched in zip(GX_PATTERNS, GX_SEARCHED, strict=True):
        assert bool(re.search(guarded, text)) == bool(re.search(f"(?i){searched}", text)), (searched, text)
