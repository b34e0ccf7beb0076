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


def violations(tables: dict[str, Path]) -> list[str]:
    """What breaks the model in the staged ``tables`` (name → Parquet), in words a data engineer acts on."""
    con = duckdb.connect()
    try:
        for name, path in tables.items():
            source = f"read_parquet({sql_literal(Path(path))}, hive_partitioning = false)"
            con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM {source}')
        found = []
        for table in published.TABLES:
            if table.name not in tables:
                continue
            if table.key:
                duplicated = con.execute(f"""SELECT count(*) FROM (SELECT 1 FROM "{table.name}"
                    GROUP BY {_quoted(table.key)} HAVING count(*) > 1)""").fetchone()[0]
                if duplicated:
                    found.append(
                        f"{table.name}: {duplicated} value(s) of its key ({', '.join(table.key)}) stand on "
                        "more than one row"
                    )
            for column, parent, parent_column in references(table):
                if parent not in tables:
                    continue
                dangling = con.execute(f"""SELECT count(*), min("{column}") FROM "{table.name}" c
                    WHERE "{column}" IS NOT NULL AND NOT EXISTS (
                        SELECT 1 FROM "{parent}" p WHERE p."{parent_column}" = c."{column}")""").fetchone()
                if dangling[0]:
                    found.append(
                        f"{table.name}.{column}: {dangling[0]} row(s) name no {parent}.{parent_column} "
                        f"(e.g. {dangling[1]})"
                    )
        return found
    finally:
        con.close()
