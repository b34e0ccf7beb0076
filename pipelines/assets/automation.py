"""When runs start by themselves (in ``dagster dev`` or a deployed daemon): a sensor when an export lands, and a
daily schedule. In a network each request is one provider's partition, and a third sensor runs the network's own
job (benchlearning) when a provider's release changes. All start stopped: turn them on in the UI.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dagster import (
    DagsterRunStatus,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    schedule,
    sensor,
)

from pipelines.ingestion.landing import dated_folders
from pipelines.publishing.warehouse import provider_folder
from pipelines.publishing.working_copy import landing_copy, release_state
from schemas import student_admin

#: the daily run: early in the morning, before anyone opens a dashboard (Finnish time)
DAILY_AT = "0 5 * * *"
TIME_ZONE = "Europe/Helsinki"


def _areas(landing: Path, providers: list[str] | None) -> list[tuple[str | None, Path]]:
    """(partition, landing folder) of each provider; one unpartitioned area for a single provider."""
    return [(p, landing / p) for p in providers] if providers else [(None, landing)]


def new_export_sensor(job_name: str, landing: Path, providers: list[str] | None, remote: str | None = None):
    """``remote``: the landing area on object storage, of which ``landing`` is the local copy (fetched again, where
    it changed, at each evaluation)."""

    @sensor(
        name="new_export",
        job_name=job_name,
        minimum_interval_seconds=300,
        description="Requests a run (in a network: the provider's) when a new student-administration export folder "
        "lands, once per folder.",
    )
    def new_export(context: SensorEvaluationContext) -> SensorResult:
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        if remote:
            landing_copy(remote)
        requests = []
        for partition, area in _areas(landing, providers):
            exports = dated_folders(area / student_admin.SYSTEM)
            newest = exports[-1].name if exports else None
            if newest and seen.get(partition or "") != newest:
                requests.append(RunRequest(run_key=f"{partition or 'landing'}:{newest}", partition_key=partition))
                seen[partition or ""] = newest
        return SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))

    return new_export


def daily_schedule(job_name: str, landing: Path, providers: list[str] | None, cron: str = DAILY_AT):
    """``cron`` (``$TIEDOLLA_DAILY_AT`` in ``dagster dev`` or a deployment) is when the daily runs start."""

    @schedule(
        cron,
        name="daily",
        job_name=job_name,
        execution_timezone=TIME_ZONE,
        description="Runs every provider once a day, whether or not a new export landed (a run on the same exports "
        "publishes the same set).",
    )
    def daily(context: ScheduleEvaluationContext) -> list[RunRequest]:
        day = context.scheduled_execution_time.date().isoformat()
        return [
            RunRequest(run_key=f"{partition or 'landing'}:daily:{day}", partition_key=partition)
            for partition, _ in _areas(landing, providers)
        ]

    return daily


#: a run that has not finished yet
UNFINISHED = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def network_sensor(job_name: str, warehouse: Path | str, providers: list[str], providers_job: str):
    """``warehouse``: the network's warehouse folder, or its URL on object storage (its pointers read there)."""

    @sensor(
        name="network_refresh",
        job_name=job_name,
        minimum_interval_seconds=300,
        description="Requests the network's benchlearning run when a provider's published release changes (a new "
        "release, a rollback, or a refused run marking it stale), once per such state, and only when no "
        "provider's run is queued or running: after the schedule's (or a backfill's) runs, once all have finished.",
    )
    def network_refresh(context: SensorEvaluationContext) -> SensorResult:
        running = context.instance.get_runs_count(RunsFilter(job_name=providers_job, statuses=UNFINISHED))
        if running:
            return SensorResult(
                run_requests=[], cursor=context.cursor, skip_reason=f"{running} provider run(s) not finished yet"
            )
        state = {provider: release_state(f"{warehouse}/{provider_folder(provider)}") for provider in providers}
        text = json.dumps(state, sort_keys=True)
        if text == context.cursor or not any(version for version, _ in state.values()):
            return SensorResult(run_requests=[], cursor=context.cursor)
        key = hashlib.sha256(text.encode()).hexdigest()[:16]
        return SensorResult(run_requests=[RunRequest(run_key=f"network:{key}")], cursor=text)

    return network_refresh
