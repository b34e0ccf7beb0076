"""Servers the tests start on the loopback address that come from npm, not PyPI: Azurite, Microsoft's emulator of
Azure's Blob Storage API. Installed on first use with ``npm ci`` from ``tests/services/package-lock.json`` (exact
versions), as the browser tests install Debian's chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SERVICES = Path(__file__).resolve().parent / "services"
#: Azurite's own well-known development account (public, in Microsoft's documentation): never a real secret
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_blob() -> Path:
    """The ``azurite-blob`` command, installed from the lock file when missing."""
    command = SERVICES / "node_modules" / ".bin" / "azurite-blob"
    if not command.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm (Node.js) is needed for the Azure tests: apt-get install nodejs npm")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=SERVICES, check=True, capture_output=True
        )
    return command
