"""``tiedolla forecast``: the published forecast in words, read back from the published set with DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb

#: the answer is in English: so are its months
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _rows(published: Path, funding: str) -> list[dict]:
    con = duckdb.connect()
    try:
        cursor = con.execute(
            "SELECT * FROM read_parquet(?, hive_partitioning = false) WHERE breakdown = 'total' "
            "AND funding_scope = ? ORDER BY month",
            [str(published / "mart_student_year_forecast.parquet"), funding],
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()


def answer(published: Path, funding: str = "all", month: int | None = None) -> list[str]:
    """The year's forecast against the target and how many more starters reach it; the intake plan against the
    actual starters. ``month`` also answers for all the additional starters starting in that month."""
    rows = _rows(published, funding)
    if not rows:
        return ["the published set has no forecast (no study right could be counted)"]
    first = rows[0]
    year, made_on = first["year"], first["forecast_made_on"]
    to_date = max(
        (r for r in rows if r["actual_cumulative_student_years"] is not None), key=lambda r: r["month"], default=None
    )
    scope = "all funding" if funding == "all" else f"funding code {funding}"
    lines = [
        f"student-years {year} (current formula, {scope}), forecast made on {made_on}",
        f"  actual to date          {to_date['actual_cumulative_student_years']:>9.1f}"
        if to_date
        else "  actual to date                  -",
        f"  forecast for the year   {first['forecast_year_total']:>9.1f}   80 % interval "
        f"{first['forecast_year_low_80']:.1f}-{first['forecast_year_high_80']:.1f}",
    ]
    target = first["target_student_years"]
    if target is None:
        lines.append(f"  target                          -   (tavoitteet.csv has no target for {year})")
    else:
        lines.append(f"  target                  {target:>9.1f}")
        spread = (first["additional_starters_spread_50"], first["additional_starters_spread_80"])
        ahead = [r["month"] for r in rows if r["student_years_per_starter"] is not None]
        where = f"{ahead[0]}-{ahead[-1]}/{year}" if len(ahead) > 1 else f"{ahead[0]}/{year}" if ahead else ""
        if spread[0] is None:
            lines.append("  no month is left for new starters this year")
        elif spread[1] == 0:
            lines.append("  the target is reached with 80 % probability without additional starters")
        elif first["target_reachable_this_year"] is False:
            lines += [
                f"  the target cannot be reached in {year}: the shortfall of "
                f"{first['shortfall_student_years_50']:.1f} student-years would need {spread[0]} more starters "
                f"in {where}, more than twice the intake those months expect",
                f"  instead, {first['next_year_starters_50']} more starters on 1.1.{year + 1} would make it up "
                f"by 31.12.{year + 1}",
            ]
        else:
            lines.append(
                f"  additional starters to reach the target, spread evenly over {where}: "
                f"{spread[0]} (50 % probability), {spread[1]} (80 %)"
            )
        if month is not None:
            hit = next((r for r in rows if r["month"] == month), None)
            if hit is None or hit["additional_starters_in_month_50"] is None:
                lines.append(f"  month {month} is not ahead of the forecast date: no answer for it")
            else:
                lines.append(
                    f"  all starting on 1.{month}.{year}: {hit['additional_starters_in_month_50']} (50 %), "
                    f"{hit['additional_starters_in_month_80']} (80 %); each adds "
                    f"{hit['student_years_per_starter']:.3f} student-years by 31.12."
                )
    if funding == "all":
        planned = any(r["planned_starters"] is not None for r in rows)
        lines.append(
            f"intake {year}: month, planned, actual"
            if planned
            else f"intake {year}: month, actual (no intake plan for {year})"
        )
        for r in rows:
            actual = "-" if to_date is None or r["month"] > to_date["month"] else str(r["actual_starters"])
            plan = f"{r['planned_starters']:>8}" if planned else ""
            lines.append(f"  {MONTHS[r['month'] - 1]:<8}{plan}{actual:>8}")
    return lines
