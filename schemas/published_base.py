"""How every published table is modelled: surrogate and date keys, warning flags, no personal data.

The published areas (``schemas/published.py`` for the student-administration star,
``schemas/organizations.py`` for the organisation master and CRM) build their tables
with :func:`published_table`, so every table gets the same conventions and checks.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from schemas.code_labels import LABELS, label_column
from schemas.fields import column
from schemas.metadata import Column, Rule, Table, range_rule
from schemas.personal_data import AT, EMAIL, HETU, HEX_DIGEST, LEARNER_OID, LEARNER_OID_PREFIX, holds_expr

#: what Great Expectations looks for in every published text (on the text as it is: GX cannot normalise it, nor blank
#: our hex pseudonyms first, so a henkilötunnus must stand apart from letters and digits, or a key's
#: ``…123456b789c…`` would read as one), each with what a text must hold for it to be found at all
GX_SEARCHED = {
    f"(?<![0-9a-z]){HETU}(?![0-9a-z])": r"\d{6}",
    EMAIL: AT,
    LEARNER_OID: LEARNER_OID_PREFIX,
}
#: the patterns as GX runs them: each first passes over a text that is one hex digest and nothing else (a pseudonym:
#: a henkilötunnus needs a boundary that is no letter or digit, an e-mail an at, an OID dots) or lacks what it needs,
#: so the verdicts are the same without trying a pattern at every position of every key and id (an e-mail's at
#: every position of a 36-character GUID was most of the Data Docs' time)
GX_PATTERNS = tuple(
    f"(?i)^(?!{HEX_DIGEST}\\Z)(?=[\\s\\S]*?(?:{needs}))[\\s\\S]*?(?:{pattern})"
    for pattern, needs in GX_SEARCHED.items()
)


def surrogate_key(name: str, meaning: str | None = None) -> Column:
    return column(name, nullable=False, unique=True, meaning=meaning)


def no_personal_data(table: str, columns: tuple[Column, ...]) -> Rule:
    """No text value may hold personal data, in any form the one detector knows (``schemas/personal_data.py``):
    the release guard behind the sources' rules, which clear such a value before it gets here."""
    text = [c.name for c in columns if c.is_text]

    def passes() -> pl.Expr:
        if not text:
            return pl.lit(True)
        return ~pl.any_horizontal([holds_expr(pl.col(n)).fill_null(False) for n in text])

    return Rule(
        f"{table}.no_personal_data",
        "No value may hold personal data (a henkilötunnus, an email address, a learner OID, a phone number or a "
        "person's name)",
        passes=passes,
    )


def date_key_column(name: str, nullable: bool = True, meaning: str | None = None) -> Column:
    """A ``*_date_key`` column: a yyyymmdd key to dim_date (:func:`references` adds the foreign key)."""
    return column(
        name,
        nullable=nullable,
        meaning=meaning,
        rules=(range_rule(f"{{table}}.{name}.range", "A date key is a yyyymmdd number", name, 19000101, 21001231),),
    )


def published_table(
    name: str, description: str, grain: str, key: tuple[str, ...], columns: tuple[Column, ...], foreign_keys=()
) -> Table:
    columns = (
        columns + (column("has_warnings", nullable=False),)
        if name.startswith("fact_") or name == "dim_student"
        else columns
    )
    columns = _with_labels(columns)
    fixed = tuple(replace(c, rules=tuple(replace(r, id=r.id.format(table=name)) for r in c.rules)) for c in columns)
    return Table(
        name=name,
        description=description,
        grain=grain,
        key=key,
        columns=fixed,
        foreign_keys=foreign_keys,
        row_rules=(no_personal_data(name, fixed),),
    )


def _with_labels(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """Each code column with Finnish labels gets its ``<name>_label`` column right after it (a BI user reads the
    name, not the code; publishing fills it from schemas/code_labels.py)."""
    names = {c.name for c in columns}
    out: list[Column] = []
    for c in columns:
        out.append(c)
        if c.name in LABELS and label_column(c.name) not in names:
            out.append(column(label_column(c.name)))
    return tuple(out)


DATE_DIMENSION = ("dim_date", "date_key")


def references(table: Table) -> tuple[tuple[str, str, str], ...]:
    """Every foreign key of ``table``: the declared ones, and each date key (a ``*_date_key`` column) to dim_date."""
    declared = {fk[0] for fk in table.foreign_keys}
    dates = tuple(
        (c.name, *DATE_DIMENSION)
        for c in table.columns
        if c.name.endswith("date_key") and table.name != DATE_DIMENSION[0] and c.name not in declared
    )
    return tuple(table.foreign_keys) + dates
