"""The vocabulary the information architecture is written in.

Every table (a source file or a published table) is a :class:`Table` of :class:`Column`s,
each column's rules are :class:`Rule`s with a pandera check attached. From one
``Table`` we derive the pandera schema that validates it, the Parquet/Arrow schema we
publish, the asset-check contract and the data dictionary in ``docs/architecture/``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

import pandera.polars as pa
import polars as pl

Severity = Literal["error", "warning"]
#: What kind of personal data a column holds; drives masking in quarantine.
Personal = Literal["hetu", "name", "email", "phone", "oid", "free_text"]

RAW_PREFIX = "__raw__"
LINE = "source_line"


def raw_name(column: str) -> str:
    """The column holding a typed column's text exactly as it stood in the file."""
    return RAW_PREFIX + column


@dataclass(frozen=True)
class Rule:
    """A named rule a data steward can read: ``id`` is stable across runs and releases."""

    id: str
    description: str
    severity: Severity = "error"
    #: vectorised polars predicate, True where a row passes; receives the whole frame
    passes: Callable[[], pl.Expr] | None = None
    #: the column a failure is reported against (whose value is shown masked)
    column: str | None = None


@dataclass(frozen=True)
class Column:
    name: str
    dtype: type[pl.DataType] | pl.DataType
    description: str
    source_header: str | None = None
    nullable: bool = True
    unique: bool = False
    personal: Personal | None = None
    code_list: str | None = None
    rules: tuple[Rule, ...] = ()

    @property
    def is_text(self) -> bool:
        return self.dtype in (pl.Utf8, pl.String)


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

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    # ---- derived artefacts -------------------------------------------------------
    def type_rules(self) -> list[Rule]:
        """One generated rule per non-text column: the text must read as that type."""
        return [
            Rule(
                id=f"{self.name}.{c.name}.format",
                description=f"{c.source_header or c.name} must be {_TYPE_WORDS.get(c.dtype, str(c.dtype))}",
                passes=(lambda c=c: pl.col(raw_name(c.name)).is_null() | pl.col(c.name).is_not_null()),
                column=c.name,
            )
            for c in self.columns
            if not c.is_text and self.source_file
        ]

    def required_rules(self) -> list[Rule]:
        return [
            Rule(id=f"{self.name}.{c.name}.required", description=f"{c.source_header or c.name} must not be empty",
                 passes=(lambda c=c: pl.col(raw_name(c.name) if not c.is_text and self.source_file else c.name).is_not_null()),
                 column=c.name)
            for c in self.columns if not c.nullable
        ]

    def unique_rules(self) -> list[Rule]:
        return [
            Rule(id=f"{self.name}.{c.name}.unique", description=f"{c.source_header or c.name} must be unique in the file",
                 passes=(lambda c=c: pl.col(c.name).is_null() | pl.col(c.name).is_unique()), column=c.name)
            for c in self.columns if c.unique
        ]

    def all_rules(self) -> list[Rule]:
        """Every rule of this table, in a stable order."""
        column_rules = [r for c in self.columns for r in c.rules]
        return self.required_rules() + self.type_rules() + self.unique_rules() + column_rules + list(self.row_rules)

    def ingest_rules(self) -> list[Rule]:
        """Rules the reader applies before typing: they need the file, not the values."""
        if not self.source_file:
            return []
        return [
            Rule(f"{self.name}.malformed_row", "The line could not be split into the header's fields "
                 "(wrong number of fields, or an unclosed quote)"),
            Rule(f"{self.name}.duplicate_line", "Exact duplicate of an earlier line: the first one is kept"),
            Rule(f"{self.name}.whitespace", "Leading, trailing or non-breaking spaces were removed from a value",
                 severity="warning"),
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
        import pyarrow as pa_arrow

        return pa_arrow.schema([(c.name, _ARROW[c.dtype], c.nullable) for c in self.columns])


def _as_check(passes: Callable[[], pl.Expr]):
    def check(data) -> pl.LazyFrame:
        return data.lazyframe.select(passes().fill_null(False).alias("passes"))

    return check


def code_rule(table: str, column: str, header: str, codes, list_name: str, severity: Severity = "error") -> Rule:
    """Value must be one of a national or local code list."""
    allowed = sorted(codes)
    return Rule(
        id=f"{table}.{column}.code",
        description=f"{header} must be a code of {list_name}",
        severity=severity,
        passes=lambda: pl.col(column).is_null() | pl.col(column).is_in(allowed),
        column=column,
    )


_TYPE_WORDS = {
    pl.Date: "a date written d.m.yyyy",
    pl.Float64: "a number (decimal comma allowed)",
    pl.Int64: "a whole number",
    pl.Boolean: "K or E",
}

import pyarrow as _pa_arrow  # noqa: E402  (only for the dtype map)

_ARROW = {
    pl.Utf8: _pa_arrow.string(),
    pl.String: _pa_arrow.string(),
    pl.Date: _pa_arrow.date32(),
    pl.Float64: _pa_arrow.float64(),
    pl.Int64: _pa_arrow.int64(),
    pl.Int32: _pa_arrow.int32(),
    pl.Boolean: _pa_arrow.bool_(),
}
