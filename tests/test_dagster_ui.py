"""`dagster dev -w workspace.yaml` loads the same definitions, and a run launched through it publishes."""

import datetime as dt
import hashlib
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli, without_data_docs
from tests.landing import valid_crm_rows, write_landing
from tests.served import REPOSITORY, backfill, finished, graphql, launch, runs_of, serving, until

pytestmark = pytest.mark.slow  # runs the pipeline (or a browser): not in the quick subset


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    write_landing(root / "landing", crm_rows=valid_crm_rows())
    with serving(root, root / "landing") as port:
        yield port, root / "wh"


def test_the_ui_shows_the_asset_groups(dagster_dev):
    port, _ = dagster_dev
    nodes = graphql(port, "{ assetNodes { assetKey { path } groupName description } }")["assetNodes"]
    assert {n["groupName"] for n in nodes} == {"raw", "validated", "matched", "published", "stewardship", "reports"}
    assert all(n["description"] for n in nodes)
    assert {"published_release", "dashboard"} <= {n["assetKey"]["path"][-1] for n in nodes}


def test_a_run_launched_from_the_ui_publishes(dagster_dev):
    port, warehouse = dagster_dev
    assert launch(port, "__ASSET_JOB") == "SUCCESS"
    con = duckdb.connect(str(warehouse / "tiedolla.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM dim_student").fetchone()[0] == 2
    assert (warehouse / "reports" / "dashboard" / "index.html").exists()


def test_a_network_in_the_ui_has_its_partitions_sensors_and_benchlearning(tmp_path_factory):
    """The network's definitions in ``dagster dev``: a partition per provider, the sensors and the schedule
    (stopped), and a provider's partition and then the network's own job launched from the UI publish."""
    from pipelines.demo_data.network import generate_network

    root = tmp_path_factory.mktemp("ui_network")
    ids = generate_network(2, "small", 3, root / "landing", dt.date(2026, 11, 20), history=False)
    with serving(root, root / "landing") as port:
        repository = graphql(
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
        nodes = graphql(port, "{ assetNodes { assetKey { path } groupName partitionKeys } }")["assetNodes"]
        by_group = {n["groupName"]: n["partitionKeys"] for n in nodes}
        assert by_group["published"] == ids and by_group["network"] == []
        assert launch(port, "tiedolla", ids[0]) == "SUCCESS"
        assert launch(port, "network") == "SUCCESS"
    warehouse = root / "wh"
    assert (warehouse / f"provider={ids[0]}" / "published" / "dim_student.parquet").exists()
    assert not (warehouse / f"provider={ids[1]}").exists()  # only the partition launched
    with duckdb.connect(str(warehouse / "network" / "tiedolla.duckdb"), read_only=True) as con:
        providers = con.sql("SELECT DISTINCT provider FROM mart_network_benchmark").fetchall()
    assert providers == [(ids[0],)]  # (the other has no release yet: left out)


@pytest.fixture(scope="module")
def network_in_process(tmp_path_factory):
    """A two-provider network's landing area, and the tables its run in one process publishes (the reference)."""
    from pipelines.demo_data.network import generate_network

    root = tmp_path_factory.mktemp("network")
    ids = generate_network(2, "small", 4, root / "landing", dt.date(2026, 11, 20), history=False)
    alone = run_cli(
        "run",
        "--landing",
        str(root / "landing"),
        "--warehouse",
        str(root / "in_process"),
        env={"TIEDOLLA_SITE_CONFIG": str(without_data_docs(root / "site"))},
    )
    assert alone.returncode == 0, alone.stderr
    return root / "landing", ids, _published(root / "in_process", ids)


def _published(warehouse: Path, ids: list[str]) -> dict[str, dict[str, str]]:
    """The digest of every published Parquet file of each provider and of the network."""
    folders = {**{pid: warehouse / f"provider={pid}" for pid in ids}, "network": warehouse / "network"}
    tables = {name: _digests(folder / "published") for name, folder in folders.items()}
    assert all(tables.values()), tables
    return tables


def _digests(published: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(published.glob("*.parquet"))}


def _same_as_in_process(runs: list[dict], warehouse: Path, reference) -> None:
    """One successful run per provider partition and one network run, publishing the in-process run's tables."""
    _, ids, tables = reference
    assert sorted(r["partition"] for r in runs if r["jobName"] == "tiedolla") == sorted(ids)
    assert [r["jobName"] for r in runs].count("network") == 1
    assert {r["status"] for r in runs} == {"SUCCESS"}
    assert _published(warehouse, ids) == tables


def test_a_network_run_from_the_command_line_goes_through_the_instances_run_queue(tmp_path_factory, network_in_process):
    """``tiedolla run --dagster`` submits a run per provider partition and the benchlearning to the instance
    ``dagster dev`` serves (the README's run queue: at most two at once, one per provider): they are the UI's runs,
    and they publish the same tables as the network run in one process. An instance serving another warehouse
    is refused before anything is submitted."""
    landing, ids, _ = network_in_process
    root = tmp_path_factory.mktemp("queued")
    with serving(root, landing) as port:
        address = f"127.0.0.1:{port}"
        elsewhere = run_cli("run", "--landing", str(landing), "--warehouse", str(root / "other"), "--dagster", address)
        assert elsewhere.returncode == 2 and f"TIEDOLLA_WAREHOUSE={root / 'other'}" in elsewhere.stderr
        queued = run_cli("run", "--landing", str(landing), "--warehouse", str(root / "wh"), "--dagster", address)
        assert queued.returncode == 0, queued.stderr
        runs = runs_of(port)
    for pid in ids:
        assert f"provider {pid}: run" in queued.stderr and "published_release: done" in queued.stderr
        assert f"{pid}" in queued.stdout
    assert "benchlearning: run" in queued.stderr
    _same_as_in_process(runs, root / "wh", network_in_process)


def test_a_network_backfilled_from_the_ui_publishes_the_same_tables(tmp_path_factory, network_in_process):
    """The UI's way to run a network: a backfill of the job's provider partitions (its daemon submits a run per
    partition to the run queue), then the job ``network`` launched when they have finished."""
    landing, ids, _ = network_in_process
    root = tmp_path_factory.mktemp("backfill")
    with serving(root, landing) as port:
        backfill(port, ids)
        runs = until(port, lambda runs: finished(runs, "tiedolla", len(ids)), "the backfill's runs")
        assert all(r["tags"].get("dagster/backfill") for r in runs)
        assert launch(port, "network") == "SUCCESS"
        runs = runs_of(port)
    _same_as_in_process(runs, root / "wh", network_in_process)


def test_a_network_run_by_the_schedule_and_the_sensor_publishes_the_same_tables(tmp_path_factory, network_in_process):
    """The daemon's way: the schedule ``daily`` (here every minute) requests a run per provider partition; once
    they have finished, the sensor ``network_refresh`` requests the benchlearning. Both are started as the UI's
    toggles start them; nothing is launched by hand."""
    landing, ids, _ = network_in_process
    root = tmp_path_factory.mktemp("scheduled")
    with serving(root, landing, TIEDOLLA_DAILY_AT="* * * * *") as port:

        def toggle(kind: str, name: str, on: bool) -> None:
            """As the UI's toggle: start by the selector, stop by the state's id."""
            field = (
                f"start{kind.capitalize()}" if on else {"schedule": "stopRunningSchedule", "sensor": "stopSensor"}[kind]
            )
            argument = (
                f'{kind}Selector: {{{REPOSITORY}, {kind}Name: "{name}"}}'
                if on
                else f'id: "{_state_id(port, kind, name)}"'
            )
            answer = graphql(port, f"mutation {{ {field}({argument}) {{ __typename }} }}")[field]
            assert answer["__typename"] in ("ScheduleStateResult", "Sensor", "StopSensorMutationResult"), answer

        toggle("schedule", "daily", True)
        until(port, lambda runs: len([r for r in runs if r["jobName"] == "tiedolla"]) >= len(ids), "the tick", 240)
        # One tick is enough: the next minute's would run them again. After its first tick the daemon writes the
        # schedule's state back as it read it when the tick began, so a stop in between is undone (Dagster
        # 1.13's scheduler): stop it once the tick is done, and again until it stays stopped.
        deadline, stayed = time.monotonic() + 180, 0
        while stayed < 2:
            assert time.monotonic() < deadline, _schedule(port)
            state = _schedule(port)
            if state["ticks"][0]["status"] == "STARTED" or state["status"] != "STOPPED":
                stayed = 0
                if state["ticks"][0]["status"] != "STARTED":
                    toggle("schedule", "daily", False)
            else:
                stayed += 1
            time.sleep(5)
        until(port, lambda runs: finished(runs, "tiedolla", len(ids)), "the schedule's runs")
        toggle("sensor", "network_refresh", True)
        runs = until(port, lambda runs: finished(runs, "network", 1), "the sensor's benchlearning run")
        toggle("sensor", "network_refresh", False)
    assert {r["tags"].get("dagster/schedule_name") for r in runs if r["jobName"] == "tiedolla"} == {"daily"}
    assert [r["tags"].get("dagster/sensor_name") for r in runs if r["jobName"] == "network"] == ["network_refresh"]
    # (a busy machine's daemon may tick once more before the schedule is turned off: the same exports again; the
    # instance lists the newest run first, and each tick submits one run per provider)
    first_tick = [r for r in runs if r["jobName"] == "network"] + [r for r in runs if r["jobName"] == "tiedolla"][
        -len(ids) :
    ]
    _same_as_in_process(first_tick, root / "wh", network_in_process)


def _schedule(port: int) -> dict:
    """The schedule ``daily``'s status and its latest tick's."""
    answer = graphql(
        port,
        f"""{{ scheduleOrError(scheduleSelector: {{{REPOSITORY}, scheduleName: "daily"}})
        {{ ... on Schedule {{ scheduleState {{ status ticks(limit: 1) {{ status }} }} }} }} }}""",
    )
    return answer["scheduleOrError"]["scheduleState"]


def _state_id(port: int, kind: str, name: str) -> str:
    """The id of a schedule's or sensor's state, which the UI's toggle sends to stop it."""
    answer = graphql(
        port,
        f"""{{ {kind}OrError({kind}Selector: {{{REPOSITORY}, {kind}Name: "{name}"}})
        {{ ... on {kind.capitalize()} {{ {kind}State {{ id }} }} }} }}""",
    )
    return answer[f"{kind}OrError"][f"{kind}State"]["id"]
