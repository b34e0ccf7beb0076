"""Organisation names as they are compared: the name itself, apart from its company form and its unit.

Staff type the same employer as ``Virtanen Rakennus Oy``, ``VIRTANEN RAKENNUS OY AB``,
``Virtanen Rakennus``, ``Virtanen Rakennus Oy, Kouvola`` or ``Virtanen Rakennus Oy Kotkan
toimipiste``. Each is split into

- the **core name** (``virtanen rakennus``): lower case, letter marks folded (``Sähkö`` is
  ``sahko``), punctuation gone, single letters joined (``J & K`` is ``jk``), company forms in
  Finnish, Swedish and English removed (``Oy``, ``Ab``, ``T:mi``, ``toiminimi``, ``Limited``…);
- the **unit** it names, if any: a place after a comma (``…, Kotka``), the words before a
  branch word (``Kotkan toimipiste``), or what follows a slash (``Kouvolan kaupunki /
  ruokapalvelut``). A record with a unit is a unit of its parent organisation: its place may
  differ from the head office's without making it another organisation;
- its **places** as four-letter stems (``kotk``), so ``Kotka`` and ``Kotkan`` agree.
"""

from __future__ import annotations

import polars as pl

#: company-form words and abbreviations that do not tell organisations apart (Finnish, Swedish, English, Estonian…)
DEFAULT_COMPANY_FORMS = (
    "oy", "oyj", "ab", "abp", "ky", "ay", "tmi", "toiminimi", "ry", "osk", "osuuskunta", "osakeyhtiö",
    "kommandiittiyhtiö", "avoin yhtiö", "aktiebolag", "kb", "hb", "ltd", "limited", "plc", "llc", "inc", "co",
    "gmbh", "ag", "as", "asa", "oü", "sia", "uab",
)  # fmt: skip
#: words that make a name a unit of its parent (a branch, an office, a department)
BRANCH_WORDS = ("toimipiste", "toimipaikka", "yksikkö", "konttori", "sivuliike", "filial", "branch", "office")

#: letters staff often type without their marks (``Sahko`` for ``Sähkö``)
_FOLDED = {"ä": "a", "ö": "o", "å": "a", "é": "e", "ü": "u", "õ": "o", "š": "s", "ž": "z"}


def _fold(text: pl.Expr) -> pl.Expr:
    return text.str.replace_all("\u00a0", " ", literal=True).str.to_lowercase().str.replace_many(_FOLDED)


def _words(text: pl.Expr) -> pl.Expr:
    """Punctuation to spaces (``T:mi`` to ``tmi`` first), single letters joined (``j & k`` → ``jk``)."""
    text = text.str.replace_all(r"\bt\s*:\s*mi\b", "tmi").str.replace_all(r"[^\w\s]", " ")
    for _ in range(3):  # (each pass joins one more letter of a run like ``a b c``)
        text = text.str.replace_all(r"\b(\w)\s+(\w)\b", "$1$2")
    return text.str.replace_all(r"\s+", " ").str.strip_chars()


def _without(text: pl.Expr, words: tuple[str, ...]) -> pl.Expr:
    folded = sorted({_folded_word(w) for w in words}, key=len, reverse=True)
    return text.str.replace_all(rf"\b(?:{'|'.join(folded)})\b", " ").str.replace_all(r"\s+", " ").str.strip_chars()


def _folded_word(word: str) -> str:
    return "".join(_FOLDED.get(c, c) for c in word.lower())


def name_parts(
    names: pl.Series,
    company_forms: tuple[str, ...] = DEFAULT_COMPANY_FORMS,
    branch_words: tuple[str, ...] = BRANCH_WORDS,
) -> pl.DataFrame:
    """Per name: ``core`` (the comparable name), ``unit`` (the unit's words, or null) and ``place`` (the unit's place
    stem when the unit names one, or null). In steps, each computed once (an expression used twice in one select
    would be evaluated twice)."""
    branch = "|".join(_folded_word(w) for w in branch_words)
    c = pl.col
    frame = (
        pl.DataFrame({"name": names})
        .with_columns(_fold(c("name")).str.split("/").alias("slash"))
        .with_columns(
            c("slash").list.first().str.split(",").alias("comma"),
            c("slash").list.slice(1).list.join(" ").str.strip_chars().alias("after_slash"),
        )
        .with_columns(
            _without(_words(c("comma").list.first()), company_forms).alias("head"),
            c("comma").list.slice(1).list.join(" ").str.strip_chars().alias("after_comma"),
        )
        # ``… Kotkan toimipiste`` (a place in the genitive) / ``… toimipiste Kotka``: the place beside the branch word
        .with_columns(
            c("head").str.extract(rf"(\w+n)\s+(?:{branch})\b", 1).alias("before"),
            c("head").str.extract(rf"\b(?:{branch})\s+(\w+)", 1).alias("after"),
        )
        .with_columns(
            c("head")
            .str.replace_all(rf"\w+n\s+(?:{branch})\b", " ")
            .str.replace_all(rf"\b(?:{branch})\b(?:\s+\w+)?", " ")
            .str.replace_all(r"\s+", " ")
            .str.strip_chars()
            .alias("core"),
            _without(
                _words(
                    pl.concat_str(["after_comma", "after_slash", "before", "after"], separator=" ", ignore_nulls=True)
                ),
                company_forms,
            ).alias("unit_text"),
            pl.coalesce(
                pl.when(c("after_comma").str.contains(r"^[^\d]{2,40}$")).then(
                    c("after_comma").str.split(" ").list.first()
                ),
                _nominative(c("before")),
                c("after"),
            ).alias("place_word"),
        )
    )
    has_branch = c("before").is_not_null() | c("after").is_not_null()
    return frame.select(
        "name",
        "core",
        pl.when(c("unit_text") != "").then(c("unit_text")).when(has_branch).then(pl.lit("branch")).alias("unit"),
        place_stem(c("place_word")).alias("place"),
    )


#: genitive endings of Finnish place names and their nominative (``Lahden`` → ``Lahti``, ``Helsingin`` → ``Helsinki``)
_GENITIVE = ((r"den$", "ti"), (r"ngin$", "nki"), (r"nnan$", "nta"), (r"nnin$", "nti"), (r"een$", "e"), (r"n$", ""))


def _nominative(word: pl.Expr) -> pl.Expr:
    """A place name in the genitive (``Kotkan toimipiste``) in its basic form, by its ending."""
    out = word
    for ending, basic in reversed(_GENITIVE):  # (the first ending that fits wins)
        out = pl.when(word.str.contains(ending)).then(word.str.replace(ending, basic)).otherwise(out)
    return out


def place_stem(place: pl.Expr) -> pl.Expr:
    """The first four letters of a place name, marks folded: ``Kotka``, ``Kotkan`` → ``kotk``."""
    stem = _fold(place).str.replace_all(r"[^\w]", "").str.slice(0, 4)
    return pl.when(stem.str.len_chars() >= 3).then(stem)
