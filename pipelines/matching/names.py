"""Organisation names as they are compared: case, punctuation and company form removed.

Staff type the same employer as ``Virtanen Rakennus Oy``, ``VIRTANEN RAKENNUS OY AB``,
``Virtanen Rakennus`` or ``Virtanen Rakennus Oy, Kouvola``. The comparable name of all
four is ``virtanen rakennus``; a place after a comma is kept apart as a city hint. Letter
marks are folded (``Sähkö`` and ``Sahko`` compare equal).
"""

from __future__ import annotations

import polars as pl

#: company-form words (osakeyhtiö, avoin yhtiö, kommandiittiyhtiö, toiminimi, …) that do not tell employers apart
DEFAULT_COMPANY_FORMS = ("oy", "oyj", "ab", "abp", "ltd", "ky", "tmi", "ay", "ry", "osk", "inc", "gmbh", "as", "oü")


#: letters staff often type without their marks (``Sahko`` for ``Sähkö``)
_FOLDED = {"ä": "a", "ö": "o", "å": "a", "é": "e", "ü": "u", "š": "s", "ž": "z"}


def comparable_name(name: pl.Expr, company_forms: tuple[str, ...] = DEFAULT_COMPANY_FORMS) -> pl.Expr:
    """Lower case, no letter marks, no punctuation, no company form, no place after a comma."""
    forms = "|".join(company_forms)
    text = name.str.split(",").list.first().str.to_lowercase().str.replace_many(_FOLDED)
    text = text.str.replace_all(r"[^\w\s&]", " ").str.replace_all(rf"\b(?:{forms})\b", " ")
    return text.str.replace_all(r"\s+", " ").str.strip_chars()


def city_hint(name: pl.Expr) -> pl.Expr:
    """The place staff wrote after a comma (``…, Kouvola`` → ``kouvola``), if any."""
    after = name.str.extract(r",\s*([^\d,]{2,40})$", 1).str.strip_chars().str.to_lowercase()
    return pl.when(after.str.len_chars() > 1).then(after)
