"""Per-stage wall time, rows/s and peak RSS of the pipeline, beside the DuckDB floor.

    .venv/bin/python benchmarks/run_benchmark.py --size large
    .venv/bin/python benchmarks/run_benchmark.py --landing DIR --warehouse DIR   # reuse generated data, keep the output

The floor is a DuckDB ``read_csv`` → Parquet copy of the same files with no checks. Steps are
summed per stage too, and the foundation's own path (ingest → validate → star schema and
release) is set against the floor beside the whole run. The organisation master's precision
and recall against the generator's truth are printed too.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

import pipelines  # noqa: F401  (first: it sets polars' allocator up before polars loads)
from pipelines.cli import DEMO_AS_OF, run_pipeline
from pipelines.matching.quality import match_quality

DELIMITERS = {"student_admin": ";", "crm": ","}
#: stage → words in the keys of its steps (an asset check goes with its asset); the first stage that matches wins
STAGES = {
    "ingest": ("raw_",),
    "validate": ("validate_", "quality_gate"),
    "organisation master": ("organization",),
    "student-years and forecast": ("student_year",),
    "KOSKI reconciliation": ("koski",),
    "CRM marts": ("mart_", "crm_activity", "partnership", "survey_response"),
    "reports (steward report, Data Docs, dashboard)": (
        "failure_history",
        "figures_at_risk",
        "steward_report",
        "data_docs",
        "dashboard",
    ),
    "star schema and release": ("",),
}
FOUNDATION = ("ingest", "validate", "star schema and release")


def stage(step_key: str) -> str:
    return next(name for name, words in STAGES.items() if any(w in step_key for w in words))


def floor_seconds(landing: Path, out: Path) -> float:
    start = time.perf_counter()
    con = duckdb.connect()
    for system, delimiter in DELIMITERS.items():
        for csv in sorted((landing / system / DEMO_AS_OF.isoformat()).glob("*.csv")):
            source = csv
            if csv.name == "tyopaikkajaksot.csv":  # the demo's Windows-1252 file: DuckDB needs UTF-8
                source = out / csv.name
                source.write_bytes(csv.read_bytes().decode("cp1252").encode())
            con.execute(
                f"COPY (SELECT * FROM read_csv('{source}', delim='{delimiter}', header=true, all_varchar=true, "
                f"ignore_errors=true)) TO '{out / csv.stem}.parquet'"
            )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="medium", choices=["small", "medium", "large", "national"])
    parser.add_argument("--landing", type=Path, help="a landing folder generated earlier (with --size ignored)")
    parser.add_argument("--warehouse", type=Path, help="where to publish (kept); default: a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        landing, warehouse = args.landing or tmp / "landing", args.warehouse or tmp / "wh"
        if args.landing is None:
            t = time.perf_counter()
            # in its own process, so that the peak RSS below is the pipeline's alone
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys, datetime as dt, pathlib; "
                    "from pipelines.demo_data.export import generate; "
                    f"generate({args.size!r}, 1, pathlib.Path({str(landing)!r}), "
                    f"dt.date.fromisoformat({DEMO_AS_OF.isoformat()!r}), history=False)",
                ],
                check=True,
            )
            print(f"generate {args.size}: {time.perf_counter() - t:.1f} s")
        (tmp / "floor").mkdir()
        floor = floor_seconds(landing, tmp / "floor")
        t = time.perf_counter()
        result = run_pipeline(landing, warehouse, None, "benchmark-key-not-secret-synthetic-data")
        total = time.perf_counter() - t
        rows = sum(len(p.read_bytes().splitlines()) - 1 for p in landing.glob(f"*/{DEMO_AS_OF}/*.csv"))
        steps = {e.step_key: e.event_specific_data.duration_ms / 1000 for e in result.all_events if e.is_step_success}
        print(f"{'step':<56}{'seconds':>10}")
        for key, seconds in steps.items():
            print(f"  {key:<54}{seconds:>10.2f}")
        per_stage = {name: sum(s for k, s in steps.items() if stage(k) == name) for name in STAGES}
        print(f"{'stage':<56}{'seconds':>10}")
        for name, seconds in per_stage.items():
            print(f"  {name:<54}{seconds:>10.2f}")
        foundation = sum(per_stage[name] for name in FOUNDATION)
        forecast = sum(s for k, s in steps.items() if "mart_student_year_forecast" in k)
        print(f"forecast step (mart_student_year_forecast, with its asset checks): {forecast:.2f} s")
        print(f"pipeline total: {total:.2f} s, {rows / total:,.0f} rows/s over {rows:,} rows")
        print(f"floor (DuckDB read_csv -> Parquet, no checks): {floor:.2f} s; pipeline/floor = {total / floor:.1f}x")
        print(f"foundation path ({' + '.join(FOUNDATION)}): {foundation:.2f} s = {foundation / floor:.1f}x the floor")
        print(f"peak RSS of the pipeline: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024:.2f} GiB")
        print("published" if result.success else "NOT published")
        truth = pl.read_csv(
            landing / "truth" / "crm" / DEMO_AS_OF.isoformat() / "organizations.csv", infer_schema=False
        )
        quality = match_quality(pl.read_parquet(warehouse / "published" / "bridge_organization_source.parquet"), truth)
        print(
            f"organisation matching: precision {quality.precision:.4f}, recall {quality.recall:.4f} "
            f"over {quality.records:,} source records ({quality.true_pairs:,} true same-organisation pairs)"
        )


if __name__ == "__main__":
    main()
