"""Debian's Chromium, headless, for tests of the HTML reports: the DOM after rendering, and screenshots."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]


def chromium() -> str:
    """The browser; installed from Debian's packages when missing (the test machine is ours to set up)."""
    found = shutil.which("chromium")
    if not found and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("chromium")
    if not found:
        raise RuntimeError("Debian's chromium is needed for the browser tests: apt-get install chromium")
    return found


def _run(page: Path, *extra: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=3000",
                               *extra, page.resolve().as_uri()], capture_output=True, text=True, timeout=120)


def rendered_dom(page: Path) -> str:
    """The page's DOM after its scripts ran, as serialised HTML."""
    result = _run(page, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(page: Path, out: Path, size: str = "1366,2400") -> Path:
    result = _run(page, f"--window-size={size}", f"--screenshot={out}")
    assert result.returncode == 0 and out.exists(), result.stderr[-2000:]
    return out
