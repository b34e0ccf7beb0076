"""A Dagster instance served by ``dagster dev -w workspace.yaml`` (the README's instance), and what the UI asks of it
through its GraphQL API: launch a run, list runs, wait for them."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pipelines.ingestion.secrets import DEMO_PASSWORD
from tests.conftest import TEST_KEY, free_port, wait_for_server, without_data_docs

PROJECT = Path(__file__).resolve().parent.parent
REPOSITORY = 'repositoryLocationName: "pipelines.definitions", repositoryName: "__repository__"'


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


@contextlib.contextmanager
def serving(root: Path, landing: Path, **settings: str):
    """``dagster dev -w workspace.yaml`` on ``landing``, publishing into ``root/wh`` (and more ``TIEDOLLA_…``
    ``settings``); yields its port."""
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
        **settings,
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


def launch(port: int, job: str, partition: str | None = None) -> str:
    """Launch ``job`` (for a partition) as the UI's Launch button does; wait for it; return its status."""
    tags = f'executionMetadata: {{tags: [{{key: "dagster/partition", value: "{partition}"}}]}}' if partition else ""
    launched = graphql(
        port,
        f"""mutation {{ launchRun(executionParams: {{selector: {{{REPOSITORY}, jobName: "{job}"}} {tags}}})
        {{ __typename ... on LaunchRunSuccess {{ run {{ runId }} }} }} }}""",
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 240
    while (
        status := graphql(port, f'{{ runOrError(runId: "{run_id}") {{ ... on Run {{ status }} }} }}')["runOrError"][
            "status"
        ]
    ) not in ("SUCCESS", "FAILURE", "CANCELED"):
        assert time.monotonic() < deadline, status
        time.sleep(2)
    return status


def runs_of(port: int) -> list[dict]:
    """Every run of the instance: its job, status, partition (None for the network's) and tags."""
    runs = graphql(port, "{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }")
    return [
        {**r, "tags": {t["key"]: t["value"] for t in r["tags"]}, "partition": tag(r, "dagster/partition")}
        for r in runs["runsOrError"]["results"]
    ]


def tag(run: dict, key: str) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == key), None)


def until(port: int, done, what: str, seconds: float = 420) -> list[dict]:
    """Poll the instance's runs until ``done(runs)``; a generous guard against a hang, not a speed test."""
    deadline = time.monotonic() + seconds
    while not done(runs := runs_of(port)):
        assert time.monotonic() < deadline, f"{what}: {[(r['jobName'], r['partition'], r['status']) for r in runs]}"
        time.sleep(2)
    return runs


def finished(runs: list[dict], job: str, count: int) -> bool:
    mine = [r for r in runs if r["jobName"] == job]
    return len(mine) >= count and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in mine)


def backfill(port: int, partitions: list[str]) -> None:
    """A backfill of the job ``tiedolla``'s partitions (a network's providers), as the UI's launchpad submits it."""
    names = ", ".join(f'"{name}"' for name in partitions)
    launched = graphql(
        port,
        f"""mutation {{ launchPartitionBackfill(backfillParams: {{selector: {{partitionSetName:
        "tiedolla_partition_set", repositorySelector: {{{REPOSITORY}}}}}, partitionNames: [{names}]}})
        {{ __typename ... on PythonError {{ message }} }} }}""",
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
