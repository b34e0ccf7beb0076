"""Per-stage wall time, rows/s and peak RSS of the pipeline, beside the DuckDB floor; and its re-runs.

    .venv/bin/python benchmarks/run_benchmark.py --size large --size national
    .venv/bin/python benchmarks/run_benchmark.py --landing DIR   # a landing generated earlier (copied, not changed)

For each landing: the floor (a DuckDB ``read_csv`` → Parquet copy of the same files with no checks); a full run as
``tiedolla run --full`` makes it, its time to publish (from the start until ``published`` points at the new version)
and whole time, each step's time summed per stage, and the foundation's own path (ingest → validate → star schema and
release); then ``tiedolla run`` again with nothing changed, and once more after one CRM account changed. Every run is
a ``tiedolla`` process of its own, as a morning's starts (its start is in its time, and its peak RSS is its own). All
against the floor, and the sizes side by side at the end so that the growth with rows shows. The organisation
master's precision and recall against the generator's truth are printed too, and whether the quarantine holds every
defect the generator injected, on its line, and nothing else (a reader's fault only a large file shows).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import polars as pl

import pipelines  # noqa: F401  (first: it sets polars' allocator up before polars loads)
from pipelines.cli import DEMO_AS_OF
from pipelines.demo_data.truth import defects_found
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
#: the CRM re-run's steps named with their seconds, the largest first (where a morning's partial run spends its time)
CRM_LARGEST = 6


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


class Switch(threading.Thread):
    """Notices when ``published`` first points at another version (the time to publish)."""

    def __init__(self, warehouse: Path):
        super().__init__(daemon=True)
        self.link, self.started, self.seconds = warehouse / "published", time.perf_counter(), None
        self.before = os.readlink(self.link) if self.link.is_symlink() else None
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.done.is_set():
            if self.link.is_symlink() and os.readlink(self.link) != self.before:
                self.seconds = time.perf_counter() - self.started
                return
            time.sleep(0.02)


def timed_run(landing: Path, warehouse: Path, *options: str) -> tuple[float, float | None, dict, float]:
    """``tiedolla run`` in a process of its own, as a morning's run starts (its start included): (whole seconds,
    seconds to publish or None, its run.json, its peak RSS in GiB)."""
    switch = Switch(warehouse)
    start = time.perf_counter()
    arguments = ["run", "--landing", str(landing), "--warehouse", str(warehouse), *options]
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", *arguments])
    _, status, usage = os.wait4(process.pid, 0)  # (its own resource use: the peak RSS of the run alone)
    process.returncode = code = os.waitstatus_to_exitcode(status)
    whole = time.perf_counter() - start
    switch.done.set()
    if code not in (0, 3):
        raise SystemExit(f"tiedolla run exited {code}")
    summary = json.loads((warehouse / "run.json").read_text(encoding="utf-8"))
    return whole, switch.seconds, summary, usage.ru_maxrss / 1024 / 1024


def change_one_account(landing: Path) -> None:
    """One CRM account renamed, as a morning's CRM export that differs from yesterday's."""
    accounts = sorted(landing.glob("crm/*/accounts.csv"))[-1]
    lines = accounts.read_bytes().split(b"\n")
    first, name, rest = lines[1].split(b",", 2)  # (Id, name, …: the name gains or loses a word)
    name = name.removesuffix(b" Uusi") if name.endswith(b" Uusi") else name + b" Uusi"
    lines[1] = b",".join((first, name, rest))
    accounts.write_bytes(b"\n".join(lines))


def measure(landing: Path, tmp: Path) -> dict:
    (tmp / "floor").mkdir()
    # the median of three: one reading of the floor moved by 60 % between two benchmark runs on this machine (a
    # cold or warm page cache), and every other figure is divided by it
    floor = statistics.median(floor_seconds(landing, tmp / "floor") for _ in range(3))
    warehouse = tmp / "wh"
    whole, to_publish, summary, rss_full = timed_run(landing, warehouse, "--full")
    rows = sum(len(p.read_bytes().splitlines()) - 1 for p in landing.glob(f"*/{DEMO_AS_OF}/*.csv"))
    steps = summary["step_seconds"]
    print(f"{'step':<56}{'seconds':>10}")
    for key, seconds in steps.items():
        print(f"  {key:<54}{seconds:>10.2f}")
    per_stage = {name: sum(s for k, s in steps.items() if stage(k) == name) for name in STAGES}
    print(f"{'stage':<56}{'seconds':>10}")
    for name, seconds in per_stage.items():
        print(f"  {name:<54}{seconds:>10.2f}")
    truth = pl.read_csv(landing / "truth" / "crm" / DEMO_AS_OF.isoformat() / "organizations.csv", infer_schema=False)
    quality = match_quality(pl.read_parquet(warehouse / "published" / "bridge_organization_source.parquet"), truth)
    defects = defects_found(landing, warehouse)
    unchanged, _, unchanged_summary, rss_unchanged = timed_run(landing, warehouse)
    change_one_account(landing)
    crm_whole, crm_to_publish, crm_summary, rss_crm = timed_run(landing, warehouse)
    change_one_account(landing)  # (back as it was)
    rss_reruns = max(rss_unchanged, rss_crm)
    kept = sum(1 for p in (warehouse / "published").glob("*.parquet") if p.stat().st_nlink > 1)
    return {
        "rows": rows,
        "floor": floor,
        "to_publish": to_publish,
        "whole": whole,
        "foundation": sum(per_stage[name] for name in FOUNDATION),
        "forecast": sum(s for k, s in steps.items() if "mart_student_year_forecast" in k),
        "unchanged": unchanged,
        "unchanged_outcome": unchanged_summary["outcome"],
        "crm_to_publish": crm_to_publish,
        "crm_whole": crm_whole,
        "crm_steps": len(crm_summary["step_seconds"]),
        "crm_in_steps": sum(crm_summary["step_seconds"].values()),
        "crm_largest": sorted(crm_summary["step_seconds"].items(), key=lambda step: -step[1])[:CRM_LARGEST],
        "steps": len(steps),
        "kept": kept,
        "quality": quality,
        "defects": defects,
        "rss_full": rss_full,
        "rss_reruns": rss_reruns,
    }


def peak_rss() -> float:
    """This process's own peak RSS so far, GiB (the floors and the matching's measure; each run is a process apart)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def report(name: str, m: dict) -> None:
    f = m["floor"]

    def against(seconds: float | None) -> str:
        return f"{seconds:7.2f} s = {seconds / f:5.1f}x the floor" if seconds is not None else "    (not published)"

    q = m["quality"]
    print(f"\n{name}: {m['rows']:,} rows")
    print(f"  floor (DuckDB read_csv -> Parquet, no checks; median of 3) {f:7.2f} s")
    print(f"  full run: time to publish                    {against(m['to_publish'])}")
    print(f"  full run: whole (reports included)           {against(m['whole'])}; {m['rows'] / m['whole']:,.0f} rows/s")
    print(f"  foundation path ({' + '.join(FOUNDATION)}) {against(m['foundation'])}")
    print(f"  forecast step (with its asset checks)        {m['forecast']:7.2f} s")
    print(f"  re-run, nothing changed ({m['unchanged_outcome']}) {against(m['unchanged'])}")
    print(f"  re-run, one CRM account changed: to publish  {against(m['crm_to_publish'])}")
    print(
        f"  re-run, one CRM account changed: whole       {against(m['crm_whole'])} "
        f"({m['crm_steps']} of {m['steps']} steps; {m['kept']} tables kept from the version before)"
    )
    print(
        f"    its steps take {m['crm_in_steps']:.1f} s (the rest is the process's start and Dagster's plan); the "
        "largest: " + ", ".join(f"{key} {seconds:.1f} s" for key, seconds in m["crm_largest"])
    )
    print(
        f"  peak RSS, each run's own process: the full run {m['rss_full']:.2f} GiB, "
        f"the re-runs {m['rss_reruns']:.2f} GiB"
    )
    print(
        f"  organisation matching: precision {q.precision:.4f}, recall {q.recall:.4f} over {q.records:,} source "
        f"records ({q.true_pairs:,} true same-organisation pairs)"
    )
    d = m["defects"]
    print(
        f"  the quarantine against the generator's truth: {d.injected:,} injected defects, "
        + ("every one found on its line by its rule, nothing else" if d.all_found else "DIFFERENT")
    )
    for what, rows in (("not found as injected", d.missed), ("found, not injected", d.unexpected)):
        if not rows.is_empty():
            print(f"    {rows.height:,} {what}, the first: {rows.head(5).rows()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", action="append", choices=["small", "medium", "large", "national"])
    parser.add_argument("--landing", type=Path, action="append", help="a landing folder generated earlier")
    args = parser.parse_args()
    os.environ.setdefault("TIEDOLLA_PSEUDONYM_KEY", "benchmark-key-not-secret-synthetic-data")
    measured = {}
    for name in [*(args.size or ([] if args.landing else ["medium"])), *(args.landing or [])]:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            landing = tmp / "landing"
            if isinstance(name, Path):
                shutil.copytree(name, landing)  # (the CRM re-run changes a file)
            else:
                t = time.perf_counter()
                # in its own process, so that the peak RSS below is the pipeline's alone
                subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        "import sys, datetime as dt, pathlib; "
                        "from pipelines.demo_data.export import generate; "
                        f"generate({name!r}, 1, pathlib.Path({str(landing)!r}), "
                        f"dt.date.fromisoformat({DEMO_AS_OF.isoformat()!r}), history=False)",
                    ],
                    check=True,
                )
                print(f"generate {name}: {time.perf_counter() - t:.1f} s")
            measured[str(name)] = measure(landing, tmp)
    for name, m in measured.items():
        report(name, m)
    if len(measured) > 1:
        (small, s), (large, m) = sorted(measured.items(), key=lambda item: item[1]["rows"])[:: len(measured) - 1]
        print(
            f"\n{large} / {small}: {m['rows'] / s['rows']:.1f}x the rows, {m['whole'] / s['whole']:.1f}x the whole "
            f"run's time, {m['to_publish'] / s['to_publish']:.1f}x the time to publish"
        )
    largest = max(max(m["rss_full"], m["rss_reruns"]) for m in measured.values())
    print(f"peak RSS of the largest run (its own process): {largest:.2f} GiB")
    print(f"peak RSS of the benchmark's own process (the floors and the matching's measure): {peak_rss():.2f} GiB")


if __name__ == "__main__":
    main()
