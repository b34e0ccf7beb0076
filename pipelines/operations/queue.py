"""A network's runs through a Dagster instance's run queue, as the UI and the schedule submit them.

``tiedolla run --dagster HOST:PORT`` does not run anything itself: it submits one run of the job ``tiedolla`` per
provider partition (tag ``dagster/partition``) to the Dagster webserver's API (Dagster's own GraphQL client), so
the instance's run queue decides how many run at once (``max_concurrent_runs``, one per provider), its daemon
dequeues them and its run launcher starts them (a process locally, a pod on Kubernetes). The runs are the UI's
runs: they show there, with their logs, and are the same runs the ``daily`` schedule requests. The command waits,
printing each provider's steps from the run's events, and when every provider has finished it submits the job
``network`` (the benchlearning) and waits for that too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from pipelines.definitions import NETWORK_JOB, PIPELINE_JOB
from pipelines.operations.preconditions import Refused
from pipelines.publishing.warehouse import NETWORK_FOLDER, Warehouse, provider_folder

#: the code location ``workspace.yaml`` loads, and its one repository
LOCATION, REPOSITORY = "pipelines.definitions", "__repository__"
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
#: the events worth a line each
SHOWN = {
    "ExecutionStepSuccessEvent": "done",
    "ExecutionStepFailureEvent": "FAILED",
    "ExecutionStepSkippedEvent": "skipped",
}

_RESOURCE = """query ($selector: ResourceSelector!) { topLevelResourceDetailsOrError(resourceSelector: $selector) {
  __typename ... on ResourceDetails { configuredValues { key value } } ... on PythonError { message } } }"""
_EVENTS = """query ($runId: ID!, $after: String) { logsForRun(runId: $runId, afterCursor: $after) {
  __typename ... on EventConnection { cursor events { __typename ... on MessageEvent { stepKey message } } } } }"""


@dataclass(frozen=True)
class QueuedRun:
    """A run the instance ran for ``provider`` (None: the network's benchlearning)."""

    provider: str | None
    run_id: str
    status: str


class Instance:
    """A Dagster webserver's API at ``address`` (``host:port``)."""

    def __init__(self, address: str):
        host, _, port = address.removeprefix("http://").rstrip("/").partition(":")
        self.url = f"http://{host}:{port or 3000}/graphql"
        try:
            self.client = DagsterGraphQLClient(host, port_number=int(port or 3000), timeout=60)
        except Exception as err:  # (the client says why in its own words: a refused connection, a bad answer)
            raise Refused(f"no Dagster webserver answers at {address}: {err}") from None

    def query(self, document: str, variables: dict) -> dict:
        answer = requests.post(self.url, json={"query": document, "variables": variables}, timeout=60)
        answer.raise_for_status()
        return answer.json()["data"]

    def configured(self, resource: str) -> dict[str, str]:
        """The values the code location's ``resource`` is configured with (as JSON text)."""
        selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "resourceName": resource}
        found = self.query(_RESOURCE, {"selector": selector})["topLevelResourceDetailsOrError"]
        if found["__typename"] != "ResourceDetails":
            raise Refused(f"the Dagster instance has no resource '{resource}' in {LOCATION}: {found}")
        return {v["key"]: v["value"] for v in found["configuredValues"]}

    def submit(self, job: str, provider: str | None) -> str:
        tags = {"dagster/partition": provider} if provider else {}
        try:
            return self.client.submit_job_execution(
                job, repository_location_name=LOCATION, repository_name=REPOSITORY, tags=tags
            )
        except DagsterGraphQLClientError as err:
            raise Refused(f"the Dagster instance did not take the run of {job}: {err}") from None

    def status(self, run_id: str) -> str:
        return self.client.get_run_status(run_id).value

    def events(self, run_id: str, after: str | None) -> tuple[list[dict], str | None]:
        found = self.query(_EVENTS, {"runId": run_id, "after": after})["logsForRun"]
        if found["__typename"] != "EventConnection":
            return [], after
        return found["events"], found["cursor"]


def check_serves(instance: Instance, landing: Path, warehouse: Path) -> None:
    """Refuse when the instance's code location is not configured with this landing area and warehouse: its runs
    would read and publish elsewhere."""
    served = {
        "landing": instance.configured("landing").get("path", "").strip('"'),
        "warehouse": instance.configured("warehouse").get("path", "").strip('"'),
    }
    for name, wanted in (("landing", landing), ("warehouse", warehouse)):
        if Path(served[name]).resolve() != wanted.resolve():
            raise Refused(
                f"the Dagster instance runs the {name} {served[name] or '(none)'}, not {wanted}: start it with "
                f"TIEDOLLA_{name.upper()}={wanted} (docs/architecture/deployment.md)"
            )


def run_queued(
    instance: Instance,
    providers: list[str] | None,
    warehouse: Path,
    say: Callable[[str], None],
    poll_seconds: float = 2.0,
) -> list[QueuedRun]:
    """A network's runs, one per provider, submitted to the instance's queue and waited for, then the
    benchlearning's (``providers`` None: a single provider's one run); their steps said as the events arrive. A
    provider whose run did not succeed keeps its last good release, marked stale (as in a run on this machine)."""
    runs = {provider: instance.submit(PIPELINE_JOB, provider) for provider in providers or [None]}
    for provider, run_id in runs.items():
        say(f"{_who(provider)}: run {run_id} queued")
    done = _waited(instance, runs, say, poll_seconds)
    if providers is None:
        return done
    for run in done:
        target = Warehouse(warehouse / provider_folder(run.provider))
        if run.status != "SUCCESS" and target.current_version():
            target.mark_stale(f"NOT PUBLISHED: its run {run.run_id} ended {run.status} (its log is in the Dagster UI)")
    network = instance.submit(NETWORK_JOB, None)
    say(f"benchlearning: run {network} queued")
    return [*done, *_waited(instance, {NETWORK_FOLDER: network}, say, poll_seconds)]


def _who(provider: str | None) -> str:
    return "the run" if provider is None else "benchlearning" if provider == NETWORK_FOLDER else f"provider {provider}"


def _waited(instance: Instance, runs: dict, say: Callable[[str], None], poll_seconds: float) -> list[QueuedRun]:
    """Wait until every run has finished, saying each step as its event arrives."""
    cursors: dict = dict.fromkeys(runs)
    statuses: dict = dict.fromkeys(runs, "QUEUED")
    while True:
        for who, run_id in runs.items():
            if statuses[who] in FINISHED:
                continue
            status = instance.status(run_id)
            events, cursors[who] = instance.events(run_id, cursors[who])
            for event in events:
                if event["__typename"] in SHOWN and event.get("stepKey"):
                    say(f"  [{who or 'run'}] {event['stepKey']}: {SHOWN[event['__typename']]}")
            if status != statuses[who]:
                say(f"{_who(who)}: run {run_id} {status.lower()}")
                statuses[who] = status
        if all(s in FINISHED for s in statuses.values()):
            return [QueuedRun(who, runs[who], statuses[who]) for who in runs]
        time.sleep(poll_seconds)
