"""Validate one export of a source system: type, run every rule, quarantine, cascade.

The rules live in ``schemas/``; this module only runs them (pandera on polars for the
rules of one file, polars joins for the rules across files) and turns failures into
quarantine rows. Nothing is dropped: every row read is either valid (possibly with
warnings) or quarantined with its reasons.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import pandera.polars as pa
import polars as pl

from pipelines.ingestion.reading import RawTable
from pipelines.masking import mask_keys, mask_shapes, masked
from schemas.metadata import LINE, Rule, Source, Table, raw_name
from schemas.sources import SOURCE_TABLES
from schemas.stewardship import PERSON_KEY, QUARANTINE

#: a failure row as validation makes it: the quarantine's columns (``schemas/stewardship.py``) with the person still
#: in memory (``PERSON_ID``), not yet written as a pseudonym
FAILURE_SCHEMA = {name: dtype for name, dtype in QUARANTINE.schema.items() if name != PERSON_KEY}
#: the severity of an error a steward has waived: the row is published unchanged, flagged
WAIVED = "waived"
#: a failure that takes effect (not waived) with each consequence
REJECTED = (pl.col("severity") == "error") & (pl.col("consequence") == "reject")
CLEARED = (pl.col("severity") == "error") & (pl.col("consequence") == "clear")
#: the person a failure is about (student number, contact id): kept in memory only, written as a keyed pseudonym
PERSON_ID = "person_id"
HAS_WARNINGS = "has_warnings"


@dataclass
class TableOutcome:
    """One source table after validation."""

    table: str
    source_file: str
    valid: pl.DataFrame | None  # typed rows to publish, with has_warnings
    failures: pl.DataFrame  # one row per (source row, rule)
    rows_read: int
    problem: str | None = None

    def _rows(self, which: pl.Expr) -> pl.Series:
        return self.failures.filter(which)[LINE].unique()

    @property
    def rows_rejected(self) -> int:
        """Rows held back in quarantine: rows read = published + rejected."""
        return self._rows(REJECTED).len()

    @property
    def rows_cleared(self) -> int:
        """Published rows with at least one value cleared (and not rejected)."""
        return self._rows(CLEARED).is_in(self._rows(REJECTED).implode()).not_().sum()

    @property
    def rows_flagged(self) -> int:
        """Published rows with a warning or a waived failure only."""
        taken = self._rows(REJECTED | CLEARED).implode()
        return self._rows(~(REJECTED | CLEARED)).is_in(taken).not_().sum()

    @property
    def rows_published(self) -> int:
        return 0 if self.valid is None else self.valid.height

    def rows(self) -> pl.DataFrame:
        """The valid rows (empty, with the right columns, when the file could not be read)."""
        if self.valid is not None:
            return self.valid
        table = SOURCE_TABLES[self.table]
        return pl.DataFrame(
            schema={**{c.name: c.dtype for c in table.columns}, LINE: pl.Int64, HAS_WARNINGS: pl.Boolean}
        )


#: characters that are invisible in an editor but make a code differ (zero-width spaces and joiners, BOM) are
#: removed; a non-breaking space becomes a space
UNTIDY_CHARACTERS = {"\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00a0": " "}


def clean_text(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Remove invisible characters, trim spaces (also non-breaking ones) and turn empty values into nulls."""
    return (
        frame.lazy()
        .with_columns(  # (one multi-pattern pass per column, not a regex pass per character kind)
            pl.col(c.name).str.replace_many(UNTIDY_CHARACTERS).str.strip_chars().replace("", None)
            for c in table.columns
        )
        .collect()
    )


def type_columns(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Typed columns next to their text (``__raw__<name>``) so a failed parse can be reported."""
    typed = [c for c in table.columns if not c.is_text]
    return frame.with_columns(
        *(pl.col(c.name).alias(raw_name(c.name)) for c in typed),
        *(table.text_format.parse(pl.col(c.name), c.dtype).alias(c.name) for c in typed),
    )


def _failures(
    rows: pl.DataFrame,
    table: Table,
    rule: Rule,
    run_id: str,
    message: pl.Expr | None = None,
    message_fi: pl.Expr | None = None,
) -> pl.DataFrame:
    """Failure rows for ``rule`` on ``rows`` (a frame that still has every column's text); the message in English
    and Finnish is the rule's description unless given."""
    col = table.column(rule.column) if rule.column else None
    value = (
        pl.col(raw_name(col.name))
        if col is not None and raw_name(col.name) in rows.columns
        else pl.col(col.name)
        if col is not None
        else pl.lit(None, pl.Utf8)
    )
    key = table.key[0] if table.key else table.columns[0].name
    rows = rows.with_columns(_failure_id(rows, table, rule).alias("failure_id"))
    return rows.select(
        pl.lit(run_id).alias("run_id"),
        pl.lit(table.source_system).alias("source_system"),
        pl.lit(table.name).alias("table"),
        pl.lit(table.source_file).alias("source_file"),
        pl.col(LINE),
        mask_keys(pl.col(key).cast(pl.Utf8)).alias("record_key"),
        pl.lit(rule.id).alias("rule_id"),
        pl.lit(rule.severity).alias("severity"),
        pl.lit(rule.consequence).alias("consequence"),
        pl.lit(rule.column).alias("column"),
        pl.lit(col.source_header if col else None, pl.Utf8).alias("source_header"),
        mask_shapes(message if message is not None else pl.lit(rule.description)).alias("message"),
        mask_shapes(message_fi if message_fi is not None else pl.lit(rule.description_fi)).alias("message_fi"),
        masked(value.cast(pl.Utf8), col.personal if col else None).alias("masked_value"),
        "failure_id",
    ).cast(FAILURE_SCHEMA)


def _failure_id(rows: pl.DataFrame, table: Table, rule: Rule) -> pl.Expr:
    """Stable across runs: the rule, the source system and the row's key (or its whole content when the
    file has no key), never the line number. A hash, so the id itself reveals nothing."""
    columns = table.key or tuple(table.names)
    text = [
        (pl.col(raw_name(c)) if raw_name(c) in rows.columns else pl.col(c)).cast(pl.Utf8).fill_null("") for c in columns
    ]
    content = pl.concat_str([pl.lit(f"{table.source_system}|{rule.id}"), *text], separator="\x1f")
    return content.map_batches(
        lambda s: s.map_elements(lambda v: hashlib.sha256(v.encode()).hexdigest()[:24], return_dtype=pl.Utf8),
        return_dtype=pl.Utf8,
    )


def run_table_rules(typed: pl.DataFrame, table: Table, run_id: str) -> pl.DataFrame:
    """Every rule of one table, through its pandera schema; one failure row per row and rule."""
    rules = {r.id: r for r in table.all_rules()}
    try:
        table.pandera_schema().validate(typed, lazy=True)
        return pl.DataFrame(schema=FAILURE_SCHEMA)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.filter(pl.col("check").is_in(list(rules)) & pl.col("index").is_not_null())
        unexpected = err.failure_cases.filter(~pl.col("check").is_in(list(rules)))
        if unexpected.height:  # a column of the wrong type: a bug in typing, not a data problem
            raise RuntimeError(f"{table.name}: schema problems outside the rules: {unexpected}") from err
        # a rule whose check raised fails with no row: a bug in the rule, which must not pass as "nothing failed"
        broken = err.failure_cases.filter(pl.col("check").is_in(list(rules)) & pl.col("index").is_null())
        if broken.height:
            raise RuntimeError(f"{table.name}: rule(s) could not be evaluated: {broken}") from err
    indexed = typed.with_row_index("__row")
    parts = [
        _failures(
            indexed.join(group.select(pl.col("index").cast(pl.UInt32).alias("__row")).unique(), on="__row"),
            table,
            rules[rule_id],
            run_id,
        )
        for (rule_id,), group in cases.group_by("check", maintain_order=True)
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=FAILURE_SCHEMA)


def _ingest_failures(raw: RawTable, table: Table, run_id: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Rejected lines and exact duplicates → failures; returns (rows to validate, failures, the lines that are not
    validated with what they say: a malformed line as far as its fields go, a duplicate all of it)."""
    malformed, duplicate, whitespace = table.ingest_rules()
    rejects = raw.rejects.with_columns(
        pl.lit(None, pl.Utf8).alias(n) for n in table.names if n not in raw.rejects.columns
    )
    first_line = pl.col(LINE).min().over(table.names)
    frame = raw.frame.with_columns(first_line.alias("__first_line"))
    dups = frame.filter(pl.col(LINE) != pl.col("__first_line"))
    failures = [
        _failures(
            rejects,
            table,
            malformed,
            run_id,
            message=pl.lit(malformed.description + ": ") + pl.col("message"),
            message_fi=pl.lit(malformed.description_fi + ": ") + pl.col("message_fi"),
        ),
        _failures(
            dups,
            table,
            duplicate,
            run_id,
            message=pl.lit("Exact duplicate of line ") + pl.col("__first_line").cast(pl.Utf8),
            message_fi=pl.lit("Rivin ") + pl.col("__first_line").cast(pl.Utf8) + pl.lit(" tarkka kaksoiskappale"),
        ),
    ]
    rows = frame.filter(pl.col(LINE) == pl.col("__first_line")).drop("__first_line")
    cleaned = clean_text(rows, table)
    first_changed = pl.coalesce(
        [
            pl.when(pl.col(n).is_not_null() & (pl.col(n) != pl.col(f"__clean_{n}")).fill_null(True)).then(pl.lit(n))
            for n in table.names
        ]
    )
    untidy = (
        rows.with_columns(cleaned.select(pl.col(n).alias(f"__clean_{n}") for n in table.names))
        .with_columns(first_changed.alias("__changed"))
        .filter(pl.col("__changed").is_not_null())
    )
    for (column,), group in untidy.group_by("__changed", maintain_order=True):  # report the value that was tidied
        failures.append(_failures(clean_text(group, table), table, replace(whitespace, column=column), run_id))
    unvalidated = pl.concat(
        [rejects.select(LINE, *table.names), dups.select(LINE, *table.names)], how="diagonal_relaxed"
    )
    return cleaned, pl.concat(failures), unvalidated


def validate_export(
    source: Source, raws: dict[str, RawTable], run_id: str, waived: frozenset[tuple[str, str]] = frozenset()
) -> dict[str, TableOutcome]:
    """Validate every table of one export together (the cross-file rules need them all).

    ``waived`` holds (rule id, record key) pairs a steward has waived: such a failure is kept
    with severity ``waived`` and its row is published unchanged with a flag.
    """
    typed: dict[str, pl.DataFrame] = {}
    failures: dict[str, list[pl.DataFrame]] = {}
    unvalidated: dict[str, pl.DataFrame] = {}
    for table in source.tables:
        raw = raws[table.name]
        if raw.problem is not None:
            continue
        rows, ingest, unvalidated[table.name] = _ingest_failures(raw, table, run_id)
        typed[table.name] = type_columns(rows, table)
        failures[table.name] = [ingest, run_table_rules(typed[table.name], table, run_id)]

    for cross in source.cross_file_rules:
        needed = {cross.table, *cross.needs} | {p for c, _, p in source.parents if c == cross.table}
        if not needed <= typed.keys():
            continue  # a file it needs could not be read: the rule cannot be judged
        lines = cross.failing(typed)
        hits = typed[cross.table].filter(pl.col(LINE).is_in(lines.implode()))
        failures[cross.table].append(_failures(hits, source.by_name[cross.table], cross.rule, run_id))

    if waived:
        failures = {name: [_waive(part, waived) for part in parts] for name, parts in failures.items()}
    _cascade(source, typed, failures, run_id)
    people = _people(source, typed, unvalidated)
    return {
        table.name: _outcome(
            table, raws[table.name], typed.get(table.name), failures.get(table.name, []), people.get(table.name)
        )
        for table in source.tables
    }


def _lines_with(frames: tuple[pl.DataFrame, ...], name: str) -> pl.DataFrame:
    """Source line and ``name`` (as text) of every row of ``frames`` that has that column."""
    return pl.concat([f.select(LINE, pl.col(name).cast(pl.Utf8)) for f in frames if name in f.columns])


def _people(
    source: Source, typed: dict[str, pl.DataFrame], unvalidated: dict[str, pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    """Per table: source line → the person the row is about, directly or through its parent row; also for the
    lines that were not validated (a malformed line by its first field, a duplicate by its content), so that
    ``forget`` finds every row about a person."""
    column, out = source.person_column, {}
    for table in source.tables if column else ():
        frame = typed.get(table.name)
        if frame is None:
            continue
        frames = (frame, unvalidated.get(table.name, pl.DataFrame(schema={LINE: pl.Int64})))
        if column in frame.columns:
            out[table.name] = _lines_with(frames, column).rename({column: PERSON_ID})
            continue
        for fk, parent, parent_key in table.foreign_keys:
            if parent in typed and column in typed[parent].columns:
                owners = (
                    typed[parent]
                    .select(pl.col(parent_key).cast(pl.Utf8).alias(fk), pl.col(column).cast(pl.Utf8).alias(PERSON_ID))
                    .unique(fk)
                )
                out[table.name] = _lines_with(frames, fk).join(owners, on=fk, how="left").select(LINE, PERSON_ID)
    return out


def _waive(failures: pl.DataFrame, waived: frozenset[tuple[str, str]]) -> pl.DataFrame:
    pairs = pl.DataFrame(sorted(waived), schema={"rule_id": pl.Utf8, "record_key": pl.Utf8}, orient="row")
    hit = pl.struct("rule_id", "record_key").is_in(
        pairs.select(pl.struct("rule_id", "record_key")).to_series().implode()
    )
    return failures.with_columns(
        pl.when(hit & (pl.col("severity") == "error"))
        .then(pl.lit(WAIVED))
        .otherwise(pl.col("severity"))
        .alias("severity")
    )


def _rejected_lines(parts: list[pl.DataFrame]) -> pl.Series:
    return pl.concat(parts).filter(REJECTED)[LINE].unique()


def _cascade(
    source: Source, typed: dict[str, pl.DataFrame], failures: dict[str, list[pl.DataFrame]], run_id: str
) -> None:
    """Rows whose parent (a student, a study right, an account) is rejected: rejected with it, or, where the
    child can be used without its parent (a study right without its student), the reference is cleared.

    When the parent's whole file could not be read, the same happens to every row of the child.
    """
    for child, column, parent in source.parents:  # parents come before children
        if child not in typed:
            continue
        if parent not in typed:  # the parent file could not be read: its children cannot be checked
            rule = source.parent_file_rule(child)
            failures[child].append(_failures(typed[child], source.by_name[child], rule, run_id))
            continue
        parent_table = source.by_name[parent]
        key = parent_table.key[0]
        held = typed[parent].with_columns(
            pl.col(LINE).is_in(_rejected_lines(failures[parent]).implode()).alias("__held")
        )
        held_keys = held.group_by(key).agg(pl.col("__held").all()).filter("__held").select(pl.col(key).alias(column))
        hits = typed[child].join(held_keys, on=column, how="semi")
        failures[child].append(_failures(hits, source.by_name[child], source.parent_rule(child), run_id))


def _outcome(
    table: Table, raw: RawTable, typed: pl.DataFrame | None, parts: list[pl.DataFrame], people: pl.DataFrame | None
) -> TableOutcome:
    if typed is None:
        return TableOutcome(
            table.name, raw.file, None, pl.DataFrame(schema=FAILURE_SCHEMA | {PERSON_ID: pl.Utf8}), 0, str(raw.problem)
        )
    people = people if people is not None else pl.DataFrame(schema={LINE: pl.Int64, PERSON_ID: pl.Utf8})
    all_failures = pl.concat(parts).sort(LINE, "rule_id")
    failing_people = people.join(all_failures.select(LINE), on=LINE, how="semi").unique(LINE)  # (few of millions)
    all_failures = all_failures.join(failing_people, on=LINE, how="left", maintain_order="left")
    rejected = all_failures.filter(REJECTED)[LINE].unique().implode()
    valid = typed.filter(~pl.col(LINE).is_in(rejected)).with_columns(
        pl.col(LINE).is_in(all_failures[LINE].unique().implode()).alias(HAS_WARNINGS)
    )
    valid = _cleared(valid.select(*table.names, LINE, HAS_WARNINGS), all_failures.filter(CLEARED))
    return TableOutcome(
        table.name, raw.file, valid if valid[LINE].is_sorted() else valid.sort(LINE), all_failures, raw.rows_read
    )  # (rows come in file order: sorting millions of them again costs a second)


def _cleared(valid: pl.DataFrame, cleared: pl.DataFrame) -> pl.DataFrame:
    """Each value a ``clear`` rule failed on, empty: unknown from here on."""
    if not cleared.height:
        return valid
    by_column = {c: cleared.filter(pl.col("column") == c)[LINE].implode() for c in cleared["column"].unique()}
    return valid.with_columns(
        pl.when(pl.col(LINE).is_in(lines)).then(None).otherwise(pl.col(column)).alias(column)
        for column, lines in by_column.items()
    )
