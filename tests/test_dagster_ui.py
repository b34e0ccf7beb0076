"""`dagster dev -w workspace.yaml` loads the same definitions, and a run launched through it publishes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from tests.conftest import TEST_KEY, without_data_docs
from tests.landing import valid_crm_rows, write_landing

pytestmark = pytest.mark.slow  # runs the pipeline (or a browser): not in the quick subset

PROJECT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    write_landing(root / "landing", crm_rows=valid_crm_rows())
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TIEDOLLA_LANDING": str(root / "landing"),
        "TIEDOLLA_WAREHOUSE": str(root / "wh"),
        "TIEDOLLA_PSEUDONYM_KEY": TEST_KEY,
        "TIEDOLLA_SITE_CONFIG": str(without_data_docs(root / "site")),
    }
    process = subprocess.Popen(
        [
            "env",
            "--default-signal=INT,TERM",
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "dagster dev did not start"
                time.sleep(1)
        yield port, root / "wh"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_the_ui_shows_the_asset_groups(dagster_dev):
    port, _ = dagster_dev
    nodes = _graphql(port, "{ assetNodes { assetKey { path } groupName description } }")["assetNodes"]
    assert {n["groupName"] for n in nodes} == {"raw", "validated", "matched", "published", "stewardship", "reports"}
    assert all(n["description"] for n in nodes)
    assert {"published_release", "dashboard"} <= {n["assetKey"]["path"][-1] for n in nodes}


def test_a_run_launched_from_the_ui_publishes(dagster_dev):
    port, warehouse = dagster_dev
    launched = _graphql(
        port,
        """mutation { launchRun(executionParams: {selector: {
        repositoryLocationName: "pipelines.definitions", repositoryName: "__repository__", jobName: "__ASSET_JOB"}}) {
        __typename ... on LaunchRunSuccess { run { runId } } } }""",
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 240
    while (
        status := _graphql(port, f'{{ runOrError(runId: "{run_id}") {{ ... on Run {{ status }} }} }}')["runOrError"][
            "status"
        ]
    ) not in ("SUCCESS", "FAILURE", "CANCELED"):
        assert time.monotonic() < deadline, status
        time.sleep(2)
    assert status == "SUCCESS"
    con = duckdb.connect(str(warehouse / "tiedolla.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM dim_student").fetchone()[0] == 2
    assert (warehouse / "reports" / "dashboard" / "index.html").exists()
