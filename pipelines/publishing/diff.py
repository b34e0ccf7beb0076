"""What changed between two kept releases of a warehouse (``tiedolla diff``): per published table the rows added,
removed and changed (by the table's key in ``schemas/published.py``), and the student-years by month.

Counted with DuckDB straight from the two versions' Parquet files; only counts and sums are returned, never a row,
so the answer names no one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.files import sql_literal
from schemas.published import BY_NAME


@dataclass(frozen=True)
class TableChange:
    table: str
    rows_before: int
    rows_after: int
    added: int
    removed: int
    #: rows whose key is in both releases with another content (None for a table without a key)
    changed: int | None


def compared_versions(
    versions: list[dict], current: str | None, before: str | None, after: str | None
) -> tuple[str, str]:
    """The two kept versions to compare (``versions`` newest first): ``after`` (default: the published one, else the
    newest) and ``before`` (default: the one kept before it). One not kept, or nothing older to compare with, is a
    :class:`ValueError` naming what is kept."""
    names = [v["version"] for v in versions]
    if not names:
        raise ValueError("no published versions")
    after = _kept(names, after or current or names[0])
    earlier = names[names.index(after) + 1 :]
    if not (before or earlier):
        raise ValueError(f"version {after} is the oldest kept: there is nothing to compare it with")
    return _kept(names, before or earlier[0]), after


def _kept(names: list[str], version: str) -> str:
    if version not in names:
        raise ValueError(f"no version '{version}' is kept; kept: {', '.join(names)}")
    return version


def _read(path: Path) -> str:
    return f"read_parquet({sql_literal(path)}, hive_partitioning = false)"


def table_changes(before: Path, after: Path) -> list[TableChange]:
    """Every table of either release, in the model's order (a table only in one release counts all its rows)."""
    names = [t for t in BY_NAME if (before / f"{t}.parquet").exists() or (after / f"{t}.parquet").exists()]
    con = duckdb.connect()
    try:
        return [_change(con, name, before / f"{name}.parquet", after / f"{name}.parquet") for name in names]
    finally:
        con.close()


def _change(con: duckdb.DuckDBPyConnection, name: str, before: Path, after: Path) -> TableChange:
    if not before.exists() or not after.exists():
        rows = con.execute(f"SELECT count(*) FROM {_read(after if after.exists() else before)}").fetchone()[0]
        return TableChange(
            name,
            0 if after.exists() else rows,
            rows if after.exists() else 0,
            *((rows, 0) if after.exists() else (0, rows)),
            None,
        )
    old, new = _read(before), _read(after)
    rows_before = con.execute(f"SELECT count(*) FROM {old}").fetchone()[0]
    rows_after = con.execute(f"SELECT count(*) FROM {new}").fetchone()[0]
    key = list(BY_NAME[name].key)
    columns = _common_columns(con, old, new)
    common = ", ".join(f'"{c}"' for c in columns)
    if not key or not set(key) <= set(columns):
        only_new, only_old = (
            con.execute(
                f"SELECT count(*) FROM (SELECT {common} FROM {a} EXCEPT ALL SELECT {common} FROM {b})"
            ).fetchone()[0]
            for a, b in ((new, old), (old, new))
        )
        return TableChange(name, rows_before, rows_after, only_new, only_old, None)
    on = ", ".join(f'"{k}"' for k in key)
    added = con.execute(f"SELECT count(*) FROM (SELECT {on} FROM {new} EXCEPT SELECT {on} FROM {old})").fetchone()[0]
    removed = con.execute(f"SELECT count(*) FROM (SELECT {on} FROM {old} EXCEPT SELECT {on} FROM {new})").fetchone()[0]
    changed = con.execute(
        f"""SELECT count(*) FROM (
              SELECT {on} FROM (SELECT {common} FROM {new} EXCEPT SELECT {common} FROM {old})
              INTERSECT SELECT {on} FROM {old})"""
    ).fetchone()[0]
    return TableChange(name, rows_before, rows_after, added, removed, changed)


def _common_columns(con: duckdb.DuckDBPyConnection, old: str, new: str) -> list[str]:
    """The columns both releases have, in the later one's order (a column added to the model changes no row)."""
    before = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {old}").fetchall()}
    return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {new}").fetchall() if r[0] in before]


def student_years_by_month(before: Path, after: Path) -> list[tuple[int, int, float | None, float | None]]:
    """(year, month, before, after): the student-years (current formula, all funding) of each month in either."""
    fact = "fact_student_year_month.parquet"
    parts = [
        f"SELECT '{label}' AS release, month_date_key // 10000 AS year, month_date_key // 100 % 100 AS month, "
        f"sum(student_years_current) AS student_years FROM {_read(folder / fact)} GROUP BY ALL"
        for label, folder in (("before", before), ("after", after))
        if (folder / fact).exists()
    ]
    if not parts:
        return []
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"""SELECT year, month, sum(student_years) FILTER (WHERE release = 'before'),
                       sum(student_years) FILTER (WHERE release = 'after')
                FROM ({" UNION ALL ".join(parts)}) GROUP BY year, month ORDER BY year, month"""
        ).fetchall()
    finally:
        con.close()
    return [(int(y), int(m), b, a) for y, m, b, a in rows]
