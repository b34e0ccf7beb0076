"""The sensor and the schedule (pipelines/assets/automation.py), evaluated with Dagster's own test contexts."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_schedule_context, build_sensor_context

from pipelines.definitions import PIPELINE_JOB, make_definitions


def _network(tmp_path: Path, small_landing: Path, providers: list[str]) -> Path:
    """A network of copies of the small landing folder (enough for the sensor: it looks at folder names)."""
    landing = tmp_path / "network"
    for pid in providers:
        (landing / pid / "student_admin").mkdir(parents=True)
        newest = sorted((small_landing / "student_admin").iterdir())[-1]
        shutil.copytree(newest, landing / pid / "student_admin" / newest.name)
    rows = "".join(f"{pid};Opisto {i};Etelä\n" for i, pid in enumerate(providers))
    (landing / "providers.csv").write_text("Organisaatio;Nimi;Ryhmä\n" + rows, encoding="utf-8")
    return landing


PROVIDERS = ["1.2.246.562.10.90000000001", "1.2.246.562.10.90000000002"]


@pytest.fixture
def network(tmp_path, small_landing) -> Path:
    return _network(tmp_path, small_landing, PROVIDERS)


def _evaluate(defs, cursor: str | None):
    sensor = defs.resolve_sensor_def("new_export")
    with DagsterInstance.ephemeral() as instance:
        return sensor(build_sensor_context(instance=instance, cursor=cursor, definitions=defs))


def test_the_sensor_requests_each_providers_partition_once_per_new_export(network, tmp_path):
    defs = make_definitions(network, tmp_path / "warehouse")
    first = _evaluate(defs, None)
    assert [(r.partition_key, r.run_key) for r in first.run_requests] == [
        (pid, f"{pid}:2026-11-20") for pid in PROVIDERS
    ]
    assert _evaluate(defs, first.cursor).run_requests == []  # nothing new: nothing requested
    later = network / PROVIDERS[1] / "student_admin" / "2026-11-27"
    shutil.copytree(network / PROVIDERS[1] / "student_admin" / "2026-11-20", later)
    third = _evaluate(defs, first.cursor)
    assert [(r.partition_key, r.run_key) for r in third.run_requests] == [(PROVIDERS[1], f"{PROVIDERS[1]}:2026-11-27")]


def test_the_sensor_of_a_single_provider_requests_one_unpartitioned_run(small_landing, tmp_path):
    defs = make_definitions(small_landing, tmp_path / "warehouse")
    newest = sorted((small_landing / "student_admin").iterdir())[-1].name
    result = _evaluate(defs, None)
    assert [(r.partition_key, r.run_key) for r in result.run_requests] == [(None, f"landing:{newest}")]


def test_the_daily_schedule_runs_every_provider(network, tmp_path):
    defs = make_definitions(network, tmp_path / "warehouse")
    daily = defs.resolve_schedule_def("daily")
    assert daily.cron_schedule == "0 5 * * *" and daily.job_name == PIPELINE_JOB
    context = build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 12, 1, 5, 0), repository_def=defs.get_repository_def()
    )
    requests = daily.evaluate_tick(context).run_requests
    assert [(r.partition_key, r.run_key) for r in requests] == [(pid, f"{pid}:daily:2026-12-01") for pid in PROVIDERS]
