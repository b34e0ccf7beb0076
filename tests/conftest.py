import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.demo_data.export import generate
from pipelines.cli import DEMO_AS_OF

TEST_KEY = "test-key-for-synthetic-data-only-0123456789"


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    generate("small", 3, out, DEMO_AS_OF)
    return out


def run_cli(*args: str, key: str | None = TEST_KEY, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TIEDOLLA_")}, **(env or {})}
    if key:
        env["TIEDOLLA_PSEUDONYM_KEY"] = key
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.fixture(scope="session")
def small_run(small_landing, tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("warehouse")
    result = run_cli("run", "--landing", str(small_landing), "--warehouse", str(warehouse))
    return result, warehouse
