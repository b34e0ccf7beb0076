"""The demo's landing area and warehouse: synthetic exports, the public demo key and the demo's KOSKI password."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from pipelines.demo_data.export import generate
from pipelines.demo_data.network import generate_network
from pipelines.ingestion.secrets import DEMO_PASSWORD, PASSWORD_FILE_VARIABLE, PASSWORD_VARIABLE
from pipelines.publishing.warehouse import DEMO_MARK


def prepare_demo(folder: Path, network: int | None, seed: int, as_of: dt.date) -> tuple[Path, Path]:
    """The small demo's export (or a network of ``network`` small providers) written into ``folder``'s
    ``landing/``, and its ``warehouse/`` marked as the demo's (the public demo key works for it only); returns both."""
    landing, warehouse = folder / "landing", folder / "warehouse"
    if network:
        generate_network(network, "small", seed, landing, as_of)
    else:
        generate("small", seed, landing, as_of)
    warehouse.mkdir(parents=True, exist_ok=True)
    (warehouse / DEMO_MARK).touch()
    os.environ.pop(PASSWORD_FILE_VARIABLE, None)  # (the demo's KOSKI reports are encrypted with its own password)
    os.environ[PASSWORD_VARIABLE] = DEMO_PASSWORD
    return landing, warehouse
