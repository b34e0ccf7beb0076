"""manifest.json: what a run read, published and quarantined, per input file."""
from __future__ import annotations

import datetime as dt
import subprocess
from importlib import metadata
from pathlib import Path


def code_version() -> str:
    try:
        version = metadata.version("tiedolla")
    except metadata.PackageNotFoundError:
        version = "unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{version}+{sha}" if sha else version


def build_manifest(run_id: str, as_of: dt.date, files: dict[str, dict], export_folder: Path) -> dict:
    totals = {k: sum(f[k] for f in files.values()) for k in ("rows_read", "rows_published", "rows_quarantined")}
    return {
        "run_id": run_id, "as_of": as_of.isoformat(), "code_version": code_version(),
        "sources": {"student_admin": str(export_folder)},
        "files": files, "totals": totals,
    }
