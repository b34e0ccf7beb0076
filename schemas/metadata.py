"""The vocabulary the information architecture is written in.

Every table (a source file or a published table) is a :class:`Table` of :class:`Column`s; each column is a
:class:`Field` of the catalogue (``schemas/fields.py``) placed in that table, and its rules are :class:`Rule`s
with a pandera check attached. From one ``Table`` we derive the pandera schema that validates it, the
Parquet/Arrow schema we publish, the asset-check contract and the data dictionary in ``docs/architecture/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import pandera.polars as pa
import polars as pl

from schemas.personal_data import holds_expr, pair_holds_expr

Severity = Literal["error", "warning"]
#: What a failed rule does to the row (``docs/architecture/README.md``, "What a failed rule does"):
#: ``reject`` – the row is unusable (its key, or a value that defines it, is unreadable): it is not published;
#: ``clear`` – the value is unknown from here on: it is published as empty and the row flows on;
#: ``flag`` – the row flows on unchanged, marked ``has_warnings``.
Consequence = Literal["reject", "clear", "flag"]
CONSEQUENCES: tuple[Consequence, ...] = ("reject", "clear", "flag")
#: What kind of personal data a column holds; drives masking in quarantine.
Personal = Literal["hetu", "name", "email", "phone", "oid", "birth_date", "free_text"]

RAW_PREFIX = "__raw__"
LINE = "source_line"
#: a point in time; sources write it with an offset, we keep it in UTC
TIMESTAMP = pl.Datetime("us", "UTC")


def raw_name(column: str) -> str:
    """The column holding a typed column's text exactly as it stood in the file."""
    return RAW_PREFIX + column


@dataclass(frozen=True)
class Rule:
    """A named rule a data steward can read: ``id`` is stable across runs and releases."""

    id: str
    description: str
    #: None on a column's rule: the column's ``on_failure`` (resolved by :meth:`Table.all_rules`)
    consequence: Consequence | None = None
    #: vectorised polars predicate, True where a row passes; receives the whole frame
    passes: Callable[[], pl.Expr] | None = None
    #: the column a failure is reported against (whose value is shown masked)
    column: str | None = None
    #: what the rule says in declarative form, where it is one of these (Great Expectations suites are built from it)
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    between: tuple[float | None, float | None] | None = None
    #: the description in Finnish, for the Finnish steward report and correction lists
    description_fi: str = ""

    def words(self, language: str) -> str:
        """The description in ``language`` (fi or en)."""
        return self.description_fi if language == "fi" else self.description

    @property
    def severity(self) -> Severity:
        """``error`` when the failure takes something out (a row or a value), ``warning`` when it only flags."""
        return "warning" if self.consequence == "flag" else "error"

    def resolved(self, on_failure: Consequence) -> Rule:
        return self if self.consequence else replace(self, consequence=on_failure)


@dataclass(frozen=True)
class TextFormat:
    """How a source system writes dates, timestamps and numbers as text."""

    date: str  # strptime format
    date_words: str
    date_words_fi: str
    decimal_comma: bool
    timestamps: tuple[str, ...] = ()
    #: the time zone of a timestamp written without one (KOSKI's: Helsinki local time); None: every timestamp has one
    local_zone: str | None = None

    def parse(self, text: pl.Expr, dtype) -> pl.Expr:
        """Text → ``dtype``; null where the text does not read as one (a rule then reports it)."""
        if dtype == pl.Date:
            return text.str.strptime(pl.Date, self.date, strict=False)
        if dtype == TIMESTAMP and self.local_zone:
            local = pl.coalesce([text.str.strptime(pl.Datetime("us"), f, strict=False) for f in self.timestamps])
            return local.dt.replace_time_zone(
                self.local_zone, ambiguous="earliest", non_existent="null"
            ).dt.convert_time_zone("UTC")
        if dtype == TIMESTAMP:
            return pl.coalesce([text.str.strptime(TIMESTAMP, f, strict=False) for f in self.timestamps])
        if dtype == pl.Boolean:
            return pl.when(text == "true").then(True).when(text == "false").then(False)
        if dtype == pl.Float64 and self.decimal_comma:
            text = text.str.replace(",", ".", literal=True)
        return text.cast(dtype, strict=False)

    def words(self, dtype) -> str:
        return {
            pl.Date: f"a date written {self.date_words}",
            TIMESTAMP: f"an ISO-8601 timestamp in {self.local_zone} time"
            if self.local_zone
            else "an ISO-8601 timestamp with Z or an offset",
            pl.Boolean: "true or false",
            pl.Float64: "a number" + (" (decimal comma allowed)" if self.decimal_comma else ""),
            pl.Int64: "a whole number",
        }.get(dtype, str(dtype))

    def words_fi(self, dtype) -> str:
        return {
            pl.Date: f"päivämäärä muodossa {self.date_words_fi}",
            TIMESTAMP: "ISO-8601-aikaleima Suomen aikaa"
            if self.local_zone
            else "ISO-8601-aikaleima, jossa Z tai aikavyöhyke",
            pl.Boolean: "true tai false",
            pl.Float64: "luku" + (" (desimaalipilkku sallittu)" if self.decimal_comma else ""),
            pl.Int64: "kokonaisluku",
        }.get(dtype, str(dtype))


#: the student-administration convention: ``1.8.2025``, ``12,5``
FINNISH_TEXT = TextFormat(date="%d.%m.%Y", date_words="d.m.yyyy", date_words_fi="p.k.vvvv", decimal_comma=True)
#: the CRM convention: ISO-8601 dates and timestamps (``2026-03-04T11:30:00+02:00``), ``12.5``
ISO_TEXT = TextFormat(
    date="%Y-%m-%d",
    date_words="yyyy-mm-dd",
    date_words_fi="vvvv-kk-pp",
    decimal_comma=False,
    timestamps=("%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z"),
)
#: KOSKI's CSV writer (CsvFormatter): ISO dates, ``true``/``false``, ``5.0``, timestamps in Helsinki local time
#: without a zone and with as many fraction digits as needed (``2024-03-05T14:23:11.12``)
KOSKI_TEXT = TextFormat(
    date="%Y-%m-%d",
    date_words="yyyy-mm-dd",
    date_words_fi="vvvv-kk-pp",
    decimal_comma=False,
    timestamps=("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"),
    local_zone="Europe/Helsinki",
)


@dataclass(frozen=True)
class FileConvention:
    """How a source writes its files, beyond the CSV dialect and the text of its values."""

    #: a table with no rows has no file at all (KOSKI writes none): an absent file is an empty table
    empty_file_absent: bool = False
    #: a large file may come in parts, ``<file>.01``, ``.02`` … in number order, the header in the first only
    split_in_parts: bool = False
    #: the file carries more columns than are read here (and gains new ones): they are passed over in one notice
    other_columns: bool = False
    #: a column written as Scala's ``List(a, b)`` without quotes (its comma splits the field): joined back
    unquoted_list: str | None = None
    #: the delimiter where the source's writer fixes it (KOSKI's: a comma); None: the site configuration's
    delimiter: str | None = None
    #: every record ends with CR LF, and the writer quotes no value for a carriage return alone in it (KOSKI's): such a
    #: carriage return is inside a value, not a line break
    bare_returns_in_values: bool = False


#: an export a provider's system writes for us: every file there, every column known
EXPORT_FILES = FileConvention()


@dataclass(frozen=True)
class Field:
    """A field of the catalogue (``schemas/fields.py``): what a value is, in whichever table it stands."""

    name: str
    dtype: type[pl.DataType] | pl.DataType
    description: str
    personal: Personal | None = None
    code_list: str | None = None
    #: None for the field's one meaning; a table's name where that table's column of the same name is written
    #: differently (a source's labels or codes for ours) or means something else
    variant: str | None = None

    @property
    def is_text(self) -> bool:
        return self.dtype in (pl.Utf8, pl.String)


@dataclass(frozen=True)
class Column:
    """A field in one table: its header in the source file, whether it may be empty or must be unique, its rules."""

    field: Field
    source_header: str | None = None
    nullable: bool = True
    unique: bool = False
    rules: tuple[Rule, ...] = ()
    #: what a failed rule of this column does unless the rule says otherwise: ``reject`` for a value that
    #: identifies or defines the row, ``clear`` for one that only describes it
    on_failure: Consequence = "reject"
    #: what the field means in this table, where that is more particular than the field's own description
    meaning: str | None = None

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def dtype(self):
        return self.field.dtype

    @property
    def personal(self) -> Personal | None:
        return self.field.personal

    @property
    def code_list(self) -> str | None:
        return self.field.code_list

    @property
    def description(self) -> str:
        return self.meaning or self.field.description

    @property
    def is_text(self) -> bool:
        return self.field.is_text


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    grain: str
    columns: tuple[Column, ...]
    source_file: str | None = None
    source_system: str | None = None
    #: rules that look at several columns of one row (or several rows of the table)
    row_rules: tuple[Rule, ...] = ()
    #: columns that make a row unique (for published tables: the primary key)
    key: tuple[str, ...] = ()
    foreign_keys: tuple[tuple[str, str, str], ...] = field(default=())  # (column, table, column)
    text_format: TextFormat = FINNISH_TEXT
    files: FileConvention = EXPORT_FILES

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """Column name → polars type, in the table's column order."""
        return {c.name: c.dtype for c in self.columns}

    # ---- derived artefacts -------------------------------------------------------
    def type_rules(self) -> list[Rule]:
        """One generated rule per non-text column: the text must read as that type."""
        return [
            Rule(
                id=f"{self.name}.{c.name}.format",
                description=f"{c.source_header or c.name} must be {self.text_format.words(c.dtype)}",
                description_fi=f"Sarake {c.source_header or c.name}: oltava {self.text_format.words_fi(c.dtype)}",
                consequence=c.on_failure,
                passes=(lambda c=c: pl.col(raw_name(c.name)).is_null() | pl.col(c.name).is_not_null()),
                column=c.name,
            )
            for c in self.columns
            if not c.is_text and self.source_file
        ]

    def required_rules(self) -> list[Rule]:
        return [
            Rule(
                id=f"{self.name}.{c.name}.required",
                description=f"{c.source_header or c.name} must not be empty",
                description_fi=f"Sarake {c.source_header or c.name} ei saa olla tyhjä",
                consequence=c.on_failure,
                passes=(
                    lambda c=c: pl.col(raw_name(c.name) if not c.is_text and self.source_file else c.name).is_not_null()
                ),
                column=c.name,
            )
            for c in self.columns
            if not c.nullable
        ]

    def unique_rules(self) -> list[Rule]:
        return [
            Rule(
                id=f"{self.name}.{c.name}.unique",
                description=f"{c.source_header or c.name} must be unique in the file",
                description_fi=f"Sarake {c.source_header or c.name}: arvo saa esiintyä tiedostossa vain kerran",
                consequence=c.on_failure,
                passes=(lambda c=c: pl.col(c.name).is_null() | pl.col(c.name).is_unique()),
                column=c.name,
            )
            for c in self.columns
            if c.unique
        ]

    def free_text_columns(self) -> list[Column]:
        """The source's text columns a person types freely into (a campus, a workplace's or an account's name, a
        city): no personal-data class, no code list, no format, neither the row's key nor a reference."""
        references = {fk for fk, _, _ in self.foreign_keys}
        return [
            c
            for c in self.columns
            if self.source_file
            and c.is_text
            and c.personal is None
            and c.code_list is None
            and c.name not in self.key
            and c.name not in references
            and not any(r.pattern is not None or r.allowed is not None for r in c.rules)
        ]

    def personal_data_rules(self) -> list[Rule]:
        """No personal data in a free-text column (alone, or split with the text column beside it): the value is
        cleared, quarantined masked, and the row flows on (a required value cannot be cleared: its column's
        consequence)."""
        texts = [c.name for c in self.columns if c.is_text]

        def passes(name: str) -> pl.Expr:
            at = texts.index(name)
            pairs = [texts[i : i + 2] for i in (at - 1, at) if 0 <= i and i + 1 < len(texts)]  # (before, after)
            split = [pair_holds_expr(pl.col(a), pl.col(b)) for a, b in pairs]
            return ~pl.any_horizontal([holds_expr(pl.col(name)), *split]).fill_null(False)

        return [
            Rule(
                id=f"{self.name}.{c.name}.no_personal_data",
                description=f"{c.source_header or c.name} must hold no personal data (a henkilötunnus, an email "
                "address, a learner OID, a phone number or a person's name)",
                description_fi=f"Sarakkeessa {c.source_header or c.name} ei saa olla henkilötietoja "
                "(henkilötunnusta, sähköpostiosoitetta, oppijanumeroa, puhelinnumeroa tai henkilön nimeä)",
                consequence="clear" if c.nullable else c.on_failure,  # (a required value cannot be cleared)
                passes=(lambda name=c.name: passes(name)),
                column=c.name,
            )
            for c in self.free_text_columns()
        ]

    def all_rules(self) -> list[Rule]:
        """Every rule of this table, in a stable order."""
        column_rules = [r.resolved(c.on_failure) for c in self.columns for r in c.rules]
        row_rules = [r.resolved(self.column(r.column).on_failure if r.column else "reject") for r in self.row_rules]
        generated = self.required_rules() + self.type_rules() + self.unique_rules()
        return generated + column_rules + row_rules + self.personal_data_rules()

    def ingest_rules(self) -> list[Rule]:
        """Rules the reader applies before typing: they need the file, not the values."""
        if not self.source_file:
            return []
        return [
            # reported against the first field, the row's key where it is readable
            Rule(
                f"{self.name}.malformed_row",
                "The line could not be split into the header's fields (wrong number of fields, or an unclosed quote)",
                "reject",
                column=self.columns[0].name,
                description_fi="Riviä ei voitu jakaa otsikkorivin kenttiin (kenttiä on väärä määrä tai lainausmerkki "
                "jäi sulkematta)",
            ),
            Rule(
                f"{self.name}.duplicate_line",
                "Exact duplicate of an earlier line: the first one is kept",
                "reject",
                description_fi="Aiemman rivin tarkka kaksoiskappale: ensimmäinen rivi säilytetään",
            ),
            Rule(
                f"{self.name}.whitespace",
                "Leading, trailing or non-breaking spaces, or invisible characters "
                "(zero-width space, byte-order mark), were removed from a value",
                "flag",
                description_fi="Arvosta poistettiin alku- tai loppuvälilyöntejä, sitovia välilyöntejä tai näkymättömiä "
                "merkkejä (nollalevyinen väli, BOM-merkki)",
            ),
        ]

    def pandera_schema(self) -> pa.DataFrameSchema:
        """The pandera schema: column types, and every rule as a named dataframe check.

        Rules run as dataframe-level checks so that each reports one failure per row
        (with its row index) whatever the column's nullability; the rule id is the
        check name, which is how failures are mapped back to rules.
        """
        return pa.DataFrameSchema(
            columns={c.name: pa.Column(c.dtype, nullable=True, description=c.description) for c in self.columns},
            checks=[
                pa.Check(_as_check(rule.passes), name=rule.id, error=rule.id, description=rule.description)
                for rule in self.all_rules()
            ],
            name=self.name,
            strict=False,
        )

    def arrow_schema(self):
        """The Parquet schema, each column's description in its field's metadata and the table's description, grain
        and key in the schema's (a BI tool that reads Parquet metadata shows them)."""
        import pyarrow as pa_arrow

        described = {"description": self.description, "grain": self.grain, "key": ", ".join(self.key)}
        return pa_arrow.schema(
            [
                pa_arrow.field(c.name, _ARROW[c.dtype], c.nullable, metadata={"description": c.description})
                for c in self.columns
            ],
            metadata={k: v for k, v in described.items() if v},
        )


def _as_check(passes: Callable[[], pl.Expr]):
    def check(data) -> pl.LazyFrame:
        return data.lazyframe.select(passes().fill_null(False).alias("passes"))

    return check


def code_rule(
    table: str, column: str, header: str, codes, list_name: str, consequence: Consequence | None = None
) -> Rule:
    """Value must be one of a national or local code list."""
    return allowed_rule(
        f"{table}.{column}.code",
        f"{header} must be a code of {list_name}",
        column,
        codes,
        consequence,
        f"Sarake {header}: oltava koodiston {list_name} koodi",
    )


def allowed_rule(
    rule_id: str,
    description: str,
    column: str,
    values,
    consequence: Consequence | None = None,
    description_fi: str = "",
) -> Rule:
    """An empty value, or one of ``values``."""
    allowed = tuple(sorted(values))
    return Rule(
        rule_id,
        description,
        consequence,
        column=column,
        allowed=allowed,
        description_fi=description_fi,
        passes=lambda: pl.col(column).is_null() | pl.col(column).is_in(allowed),
    )


def pattern_rule(
    rule_id: str,
    description: str,
    column: str,
    regex: str,
    consequence: Consequence | None = None,
    description_fi: str = "",
) -> Rule:
    """An empty value, or text matching ``regex``."""
    return Rule(
        rule_id,
        description,
        consequence,
        column=column,
        pattern=regex,
        description_fi=description_fi,
        passes=lambda: pl.col(column).is_null() | pl.col(column).str.contains(regex),
    )


def range_rule(
    rule_id: str,
    description: str,
    column: str,
    low: float | None,
    high: float | None,
    consequence: Consequence | None = None,
    description_fi: str = "",
) -> Rule:
    """An empty value, or a number from ``low`` to ``high`` (inclusive; None = unbounded)."""

    def passes() -> pl.Expr:
        inside = pl.lit(True)
        if low is not None:
            inside = inside & (pl.col(column) >= low)
        if high is not None:
            inside = inside & (pl.col(column) <= high)
        return pl.col(column).is_null() | inside

    return Rule(
        rule_id,
        description,
        consequence,
        column=column,
        between=(low, high),
        passes=passes,
        description_fi=description_fi,
    )


def not_before(
    table: str, start: str, end: str, words: str, words_fi: str, consequence: Consequence | None = None
) -> Rule:
    """An end (date or time) must not come before its start."""
    return Rule(
        id=f"{table}.{end}_not_before_{start}",
        description=words,
        description_fi=words_fi,
        consequence=consequence,
        passes=lambda: pl.col(end).is_null() | pl.col(start).is_null() | (pl.col(end) >= pl.col(start)),
        column=end,
    )


import pyarrow as _pa_arrow  # noqa: E402  (only for the dtype map)

_ARROW = {
    pl.Utf8: _pa_arrow.string(),
    pl.String: _pa_arrow.string(),
    pl.Date: _pa_arrow.date32(),
    pl.Float64: _pa_arrow.float64(),
    pl.Int64: _pa_arrow.int64(),
    pl.Int32: _pa_arrow.int32(),
    pl.Boolean: _pa_arrow.bool_(),
    TIMESTAMP: _pa_arrow.timestamp("us", tz="UTC"),
}


# ---- a source system: its tables and the rules across them --------------------------
@dataclass(frozen=True)
class CrossFileRule:
    """A rule that needs more than one file. ``failing`` returns the failing rows' lines."""

    rule: Rule
    table: str
    failing: Callable[[dict[str, pl.DataFrame]], pl.Series]
    #: other tables it reads besides ``table`` and its parents (it is not judged when one is unreadable)
    needs: tuple[str, ...] = ()


#: what happens to a row whose parent is held back, in a steward's words
#: the end of the rule id of a row whose parent's whole file could not be read
PARENT_FILE_UNREADABLE = ".parent_file_unreadable"
_PARENT_WORDS = {
    "reject": ": fix that row first",
    "clear": "; this row is published without the reference until that row is fixed",
    "flag": "",
}
_PARENT_WORDS_FI = {
    "reject": ": korjaa ensin se rivi",
    "clear": "; tämä rivi julkaistaan ilman viittausta, kunnes se rivi on korjattu",
    "flag": "",
}


def missing_parent(child: str, column: str, parent: str, parent_column: str):
    """Rows of ``child`` whose ``column`` names no row of ``parent`` (an empty reference is the required rule's)."""

    def failing(t: dict[str, pl.DataFrame]) -> pl.Series:
        pointing = t[child].filter(pl.col(column).is_not_null())
        return pointing.join(t[parent].select(pl.col(parent_column).alias(column)), on=column, how="anti")[LINE]

    return failing


@dataclass(frozen=True)
class Source:
    """One source system's export: its tables (parents before children) and cross-file rules."""

    system: str
    tables: tuple[Table, ...]
    cross_file_rules: tuple[CrossFileRule, ...]
    #: what a steward reads when a row is held back because its parent row is in quarantine (English, Finnish)
    parent_words: str
    parent_words_fi: str
    #: the column that names the person a row is about (directly, or through a parent row), for ``forget``
    person_column: str | None = None
    #: a source a provider may not deliver at all (KOSKI's bulk data until it is fetched): no export folder is no
    #: rows, not a file that cannot be read
    optional: bool = False

    def __post_init__(self):
        """A cross-file rule without its own consequence takes that of the column it reports against."""
        object.__setattr__(
            self,
            "cross_file_rules",
            tuple(
                replace(x, rule=x.rule.resolved(self._on_failure(x.table, x.rule.column)))
                for x in self.cross_file_rules
            ),
        )

    def _on_failure(self, table: str, column: str | None) -> Consequence:
        return self.by_name[table].column(column).on_failure if column else "reject"

    @property
    def by_name(self) -> dict[str, Table]:
        return {t.name: t for t in self.tables}

    @property
    def parents(self) -> tuple[tuple[str, str, str], ...]:
        """(child table, its column, parent table) for every reference; parents come first."""
        return tuple((t.name, fk_col, parent) for t in self.tables for fk_col, parent, _ in t.foreign_keys)

    def parent_rule(self, table: str) -> Rule:
        """The row's parent was rejected: the row goes with it, or (where it can be used without its parent, as
        its reference column's ``on_failure`` says) flows on with the reference cleared."""
        column = next(col for child, col, _ in self.parents if child == table)
        consequence = self._on_failure(table, column)
        return Rule(
            f"{table}.parent_in_quarantine",
            self.parent_words + _PARENT_WORDS[consequence],
            consequence,
            column=column,
            description_fi=self.parent_words_fi + _PARENT_WORDS_FI[consequence],
        )

    def parent_file_rule(self, table: str) -> Rule:
        column, parent = next((col, par) for child, col, par in self.parents if child == table)
        consequence = self._on_failure(table, column)
        file = self.by_name[parent].source_file
        return Rule(
            f"{table}{PARENT_FILE_UNREADABLE}",
            f"{file} could not be read, so the rows that point at it cannot be checked"
            + {"reject": f": fix {file} first", "clear": " and are published without the reference"}.get(
                consequence, ""
            ),
            consequence,
            column=column,
            description_fi=f"Tiedostoa {file} ei voitu lukea, joten siihen viittaavia rivejä ei voi tarkistaa"
            + {"reject": f": korjaa ensin {file}", "clear": " ja ne julkaistaan ilman viittausta"}.get(consequence, ""),
        )

    def table_rules(self, table: str) -> list[Rule]:
        """Rules across files that report on ``table``, and its parent rules."""
        rules = [x.rule for x in self.cross_file_rules if x.table == table]
        if any(child == table for child, _, _ in self.parents):
            rules += [self.parent_rule(table), self.parent_file_rule(table)]
        return rules

    def rule_catalogue(self) -> dict[str, Rule]:
        """Every rule id of this source → its rule."""
        return {r.id: r for t in self.tables for r in t.ingest_rules() + t.all_rules() + self.table_rules(t.name)}
