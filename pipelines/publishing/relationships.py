"""The model's keys and relationships, enforced on a staged set before it is released (as dbt's ``unique`` and
``relationships`` tests, and PUDL's foreign-key check, do): every key (composite ones too) is unique and every
foreign key, each date key to ``dim_date`` included, resolves. Generated from ``schemas/published.py``."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.files import sql_literal
from schemas import published
from schemas.published_base import references


def _quoted(columns) -> str:
    return ", ".join(f'"{c}"' for c in columns)


class ModelBroken(Exception):
    """A set that breaks the model's keys or relationships: each way it does, in :func:`violations`' words."""

    def __init__(self, found: list[str]):
        super().__init__("; ".join(found))
        self.found = found


def violations(tables: dict[str, Path]) -> list[str]:
    """What breaks the model in the staged ``tables`` (name → Parquet), in words a data engineer acts on."""
    con = duckdb.connect()
    try:
        for name, path in tables.items():
            source = f"read_parquet({sql_literal(Path(path))}, hive_partitioning = false)"
            con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM {source}')
        found = [problem for table in published.TABLES if table.name in tables for problem in duplicates(con, table)]
        return found + dangling(con, set(tables))
    finally:
        con.close()


def duplicates(con: duckdb.DuckDBPyConnection, table) -> list[str]:
    """The values of ``table``'s key that stand on more than one row (the table as ``con`` holds it), in words."""
    if not table.key:
        return []
    duplicated = con.execute(f"""SELECT count(*) FROM (SELECT 1 FROM "{table.name}"
        GROUP BY {_quoted(table.key)} HAVING count(*) > 1)""").fetchone()[0]
    if not duplicated:
        return []
    return [f"{table.name}: {duplicated} value(s) of its key ({', '.join(table.key)}) stand on more than one row"]


def dangling(con: duckdb.DuckDBPyConnection, present: set[str], changed: set[str] | None = None) -> list[str]:
    """Every foreign key among the ``present`` tables (as ``con`` holds them) that names no row of its parent; with
    ``changed``, only the relationships with a changed table at either end (the others held when they were
    released)."""
    found = []
    for table in published.TABLES:
        if table.name not in present:
            continue
        for column, parent, parent_column in references(table):
            if parent not in present or (changed is not None and not {table.name, parent} & changed):
                continue
            count, example = con.execute(f"""SELECT count(*), min("{column}") FROM "{table.name}" c
                WHERE "{column}" IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM "{parent}" p WHERE p."{parent_column}" = c."{column}")""").fetchone()
            if count:
                found.append(f"{table.name}.{column}: {count} row(s) name no {parent}.{parent_column} (e.g. {example})")
    return found
