"""Customer segments: ordered rules from ``pipelines/config/customer_segments.yaml``, first match wins."""

from __future__ import annotations

import operator
from dataclasses import dataclass

import polars as pl

_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_UNARY = {"is_null": lambda c: c.is_null(), "not_null": lambda c: c.is_not_null()}


class SegmentConfigError(ValueError):
    """The segment configuration cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Condition:
    column: str
    op: str
    value: object = None

    def expr(self) -> pl.Expr:
        column = pl.col(self.column)
        if self.op in _UNARY:
            return _UNARY[self.op](column)
        return _COMPARE[self.op](column, pl.lit(self.value)).fill_null(False)

    def words(self) -> str:
        return f"`{self.column}` {self.op.replace('_', ' ')}" + ("" if self.op in _UNARY else f" {self.value!r}")


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    conditions: tuple[Condition, ...]
    #: the Finnish name a BI user and the dashboard see beside the code (the code when the file gives none)
    label_fi: str = ""


def load_segments(config: dict | None, columns: set[str]) -> list[Segment]:
    """Check the configuration against the mart's columns; a mistake is an error naming the segment."""
    entries = (config or {}).get("segments")
    if not isinstance(entries, list) or not entries:
        raise SegmentConfigError("customer segments: the file needs a non-empty list under 'segments:'")
    segments = []
    for number, entry in enumerate(entries, start=1):
        name = str((entry or {}).get("segment") or "")
        where = f"customer segments: segment {number} ('{name}')"
        if not name:
            raise SegmentConfigError(f"{where} has no 'segment:' name")
        conditions = []
        for c in entry.get("when") or []:
            column, op = c.get("column"), c.get("op")
            if column not in columns:
                raise SegmentConfigError(f"{where}: unknown column '{column}'; known: {', '.join(sorted(columns))}")
            if op not in _COMPARE and op not in _UNARY:
                raise SegmentConfigError(f"{where}: unknown op '{op}'; use one of {', '.join([*_COMPARE, *_UNARY])}")
            if op in _COMPARE and "value" not in c:
                raise SegmentConfigError(f"{where}: the condition on '{column}' needs a value")
            conditions.append(Condition(column, op, c.get("value")))
        label = str(entry.get("label_fi") or name)
        segments.append(Segment(name, str(entry.get("description") or ""), tuple(conditions), label))
    if segments[-1].conditions:
        raise SegmentConfigError("customer segments: the last segment must have no conditions (it catches the rest)")
    return segments


def segment_of(segments: list[Segment]) -> pl.Expr:
    """The name of the first segment whose conditions all hold."""
    expr = pl.lit(segments[-1].name)
    for s in reversed(segments[:-1]):
        expr = pl.when(pl.all_horizontal([c.expr() for c in s.conditions])).then(pl.lit(s.name)).otherwise(expr)
    return expr.alias("segment")


def segment_label(segments: list[Segment]) -> pl.Expr:
    """The Finnish name of the segment in ``segment``."""
    return pl.col("segment").replace_strict({s.name: s.label_fi for s in segments}).alias("segment_label")
