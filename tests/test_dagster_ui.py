"""`dagster dev -w workspace.yaml` loads the same definitions, and a run launched through it publishes."""

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from pipelines.ingestion.secrets import DEMO_PASSWORD
from tests.conftest import TEST_KEY, free_port, run_cli, wait_for_server, without_data_docs
from tests.landing import valid_crm_rows, write_landing

pytestmark = pytest.mark.slow  # runs the pipeline (or a browser): not in the quick subset

PROJECT = Path(__file__).resolve().parent.parent


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


@contextlib.contextmanager
def _serving(root: Path, landing: Path):
    """``dagster dev -w workspace.yaml`` on ``landing``, publishing into ``root/wh``; yields its port."""
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "deploy" / "local" / "dagster.yaml", home)  # (the instance the README sets up)
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TIEDOLLA_LANDING": str(landing),
        "TIEDOLLA_WAREHOUSE": str(root / "wh"),
        "TIEDOLLA_PSEUDONYM_KEY": TEST_KEY,
        "TIEDOLLA_KOSKI_PASSWORD": DEMO_PASSWORD,  # (the demo's KOSKI reports are encrypted with it, as run_cli's)
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
        wait_for_server(f"http://127.0.0.1:{port}/server_info", process, 120, "dagster dev")
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    write_landing(root / "landing", crm_rows=valid_crm_rows())
    with _serving(root, root / "landing") as port:
        yield port, root / "wh"


def _launch(port: int, job: str, partition: str | None = None) -> str:
    """Launch ``job`` (for a partition) as the UI's Launch button does; wait for it; return its status."""
    tags = f'executionMetadata: {{tags: [{{key: "dagster/partition", value: "{partition}"}}]}}' if partition else ""
    launched = _graphql(
        port,
        f"""mutation {{ launchRun(executionParams: {{selector: {{
        repositoryLocationName: "pipelines.definitions", repositoryName: "__repository__", jobName: "{job}"}} {tags}}})
        {{ __typename ... on LaunchRunSuccess {{ run {{ runId }} }} }} }}""",
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
    return status


def test_the_ui_shows_the_asset_groups(dagster_dev):
    port, _ = dagster_dev
    nodes = _graphql(port, "{ assetNodes { assetKey { path } groupName description } }")["assetNodes"]
    assert {n["groupName"] for n in nodes} == {"raw", "validated", "matched", "published", "stewardship", "reports"}
    assert all(n["description"] for n in nodes)
    assert {"published_release", "dashboard"} <= {n["assetKey"]["path"][-1] for n in nodes}


def test_a_run_launched_from_the_ui_publishes(dagster_dev):
    port, warehouse = dagster_dev
    assert _launch(port, "__ASSET_JOB") == "SUCCESS"
    con = duckdb.connect(str(warehouse / "tiedolla.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM dim_student").fetchone()[0] == 2
    assert (warehouse / "reports" / "dashboard" / "index.html").exists()


def test_a_network_in_the_ui_has_its_partitions_sensors_and_benchlearning(tmp_path_factory):
    """The network's definitions in ``dagster dev``: a partition per provider, the sensors and the schedule
    (stopped), and a provider's partition and then the network's own job launched from the UI publish."""
    from pipelines.demo_data.network import generate_network

    root = tmp_path_factory.mktemp("ui_network")
    ids = generate_network(2, "small", 3, root / "landing", dt.date(2026, 11, 20), history=False)
    with _serving(root, root / "landing") as port:
        repository = _graphql(
            port,
            """{ repositoryOrError(repositorySelector: {repositoryLocationName: "pipelines.definitions",
            repositoryName: "__repository__"}) { ... on Repository { sensors { name sensorState { status } }
            schedules { name scheduleState { status } } jobs { name } } } }""",
        )["repositoryOrError"]
        assert {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]} == {
            "new_export": "STOPPED",
            "network_refresh": "STOPPED",
        }
        assert [(s["name"], s["scheduleState"]["status"]) for s in repository["schedules"]] == [("daily", "STOPPED")]
        assert {"tiedolla", "network"} <= {j["name"] for j in repository["jobs"]}
        nodes = _graphql(port, "{ assetNodes { assetKey { path } groupName partitionKeys } }")["assetNodes"]
        by_group = {n["groupName"]: n["partitionKeys"] for n in nodes}
        assert by_group["published"] == ids and by_group["network"] == []
        assert _launch(port, "tiedolla", ids[0]) == "SUCCESS"
        assert _launch(port, "network") == "SUCCESS"
    warehouse = root / "wh"
    assert (warehouse / f"provider={ids[0]}" / "published" / "dim_student.parquet").exists()
    assert not (warehouse / f"provider={ids[1]}").exists()  # only the partition launched
    with duckdb.connect(str(warehouse / "network" / "tiedolla.duckdb"), read_only=True) as con:
        providers = con.sql("SELECT DISTINCT provider FROM mart_network_benchmark").fetchall()
    assert providers == [(ids[0],)]  # (the other has no release yet: left out)


def _digests(published: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(published.glob("*.parquet"))}


def test_a_network_run_from_the_command_line_goes_through_the_instances_run_queue(tmp_path_factory):
    """``tiedolla run --dagster`` submits a run per provider partition and the benchlearning to the instance
    ``dagster dev`` serves (the README's run queue: at most two at once, one per provider): they are the UI's runs,
    and they publish the same tables as the network run in one process. An instance serving another warehouse
    is refused before anything is submitted."""
    from pipelines.demo_data.network import generate_network

    root = tmp_path_factory.mktemp("queued")
    landing = root / "landing"
    ids = generate_network(2, "small", 4, landing, dt.date(2026, 11, 20), history=False)
    with _serving(root, landing) as port:
        address = f"127.0.0.1:{port}"
        elsewhere = run_cli("run", "--landing", str(landing), "--warehouse", str(root / "other"), "--dagster", address)
        assert elsewhere.returncode == 2 and f"TIEDOLLA_WAREHOUSE={root / 'other'}" in elsewhere.stderr
        queued = run_cli("run", "--landing", str(landing), "--warehouse", str(root / "wh"), "--dagster", address)
        assert queued.returncode == 0, queued.stderr
        runs = _graphql(
            port, "{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"
        )["runsOrError"]["results"]
    partitions = sorted(
        next(t["value"] for t in r["tags"] if t["key"] == "dagster/partition")
        for r in runs
        if r["jobName"] == "tiedolla"
    )
    assert partitions == sorted(ids) and {r["status"] for r in runs} == {"SUCCESS"}
    assert [r["jobName"] for r in runs].count("network") == 1
    for pid in ids:
        assert f"provider {pid}: run" in queued.stderr and "published_release: done" in queued.stderr
        assert f"{pid}" in queued.stdout
    assert "benchlearning: run" in queued.stderr

    alone = run_cli(
        "run",
        "--landing",
        str(landing),
        "--warehouse",
        str(root / "in_process"),
        env={"TIEDOLLA_SITE_CONFIG": str(without_data_docs(root / "site2"))},
    )
    assert alone.returncode == 0, alone.stderr
    for pid in ids:
        queued_tables = _digests(root / "wh" / f"provider={pid}" / "published")
        assert queued_tables and queued_tables == _digests(root / "in_process" / f"provider={pid}" / "published")
    assert _digests(root / "wh" / "network" / "published") == _digests(root / "in_process" / "network" / "published")
