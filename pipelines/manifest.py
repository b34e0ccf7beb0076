"""manifest.json: what a run read, published and quarantined, per input file."""

from __future__ import annotations

import datetime as dt
import subprocess
from importlib import metadata
from pathlib import Path

from pipelines.ingestion.problems import FileProblem


def code_version() -> str:
    try:
        version = metadata.version("tiedolla")
    except metadata.PackageNotFoundError:
        version = "unknown"
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{version}+{sha}" if sha else version


def _export_folder(landing, system: str) -> str | None:
    try:
        return str(landing.export_folder(system))
    except FileProblem:
        return None  # this source sent no export: its files are reported as problems


def build_manifest(run_id: str, as_of: dt.date, summaries: dict[str, dict[str, dict]], landing) -> dict:
    """``summaries``: source system → file name → what the file yielded (file names are unique across sources)."""
    files = {name: f for per_source in summaries.values() for name, f in per_source.items()}
    totals = {
        k: sum(f[k] for f in files.values())
        for k in ("rows_read", "rows_published", "rows_rejected", "rows_cleared", "rows_flagged")
    }
    return {
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "code_version": code_version(),
        "sources": {system: _export_folder(landing, system) for system in summaries},
        "files": files,
        "totals": totals,
    }
