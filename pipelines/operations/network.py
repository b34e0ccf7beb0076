"""A network's runs: each provider's as a run of its own partition, then the network's benchlearning over every
provider's published release.

Each provider runs into ``<warehouse>/provider=<id>/`` (a hive folder: a provider's BI reads only its own) with a
pseudonym key of its own; a provider whose run is refused keeps its last good release, marked stale, and the other
providers go on."""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.assets.network import NETWORK_ASSETS
from pipelines.definitions import NETWORK_JOB
from pipelines.execution import BUSY, PUBLISHED, REFUSED, REPORT_FAILED, UNCHANGED, execute, failed_steps
from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.providers import providers
from pipelines.operations.preconditions import Refused, check_landing
from pipelines.operations.run import Options, Run, on_stderr, run
from pipelines.publishing.pseudonyms import KeyProblem, provider_key
from pipelines.publishing.warehouse import NETWORK_FOLDER, Warehouse, WarehouseBusy, provider_folder

#: a provider's run, by its outcome, in the network's summary (one with nothing new names the version that stays)
MEMBER_OUTCOMES = {
    PUBLISHED: "published",
    REFUSED: "NOT PUBLISHED",
    REPORT_FAILED: "published, but a report step failed",
    BUSY: "NOT RUN: another run holds its warehouse",
}


@dataclass(frozen=True)
class Member:
    """A provider's run in the network: its line of the network's summary, and the run (none if it never started)."""

    provider: str
    name: str
    line: str
    run: Run | None


@dataclass(frozen=True)
class NetworkRun:
    members: list[Member]
    #: the benchlearning's line of the summary
    benchlearning: str
    benchlearning_seconds: float

    @property
    def code(self) -> int:
        """0 every provider published (or had nothing new) and so did the benchlearning; 3 all published, but not
        every report; else 1."""
        outcomes = {m.run.outcome if m.run else None for m in self.members}
        if outcomes <= {PUBLISHED, UNCHANGED} and self.benchlearning.startswith("published"):
            return 0
        return 3 if outcomes <= {PUBLISHED, UNCHANGED, REPORT_FAILED} else 1


def run_network(
    landing: Path,
    warehouse: Path,
    key: bytes,
    options: Options,
    jobs: int = 1,
    on_member: Callable[[Member], None] | None = None,
    say: Callable[[str], None] = on_stderr,
) -> NetworkRun:
    """Every provider's run, ``jobs`` at once (each in a process of its own), ``on_member`` called with each as
    it finishes (in the providers' order); then the benchlearning."""
    try:
        found = providers(landing)
    except FileProblem as err:
        raise Refused(f"the network's providers: {err}") from None
    if Warehouse(warehouse).current_version():
        raise Refused(f"{warehouse} holds a single provider's release: a network needs a warehouse of its own")
    if not 1 <= jobs <= 64:
        raise Refused(f"--jobs {jobs} is not a number of providers to run at once from 1 to 64")
    arguments = [(landing, warehouse, key, p.id, p.name, options) for p in found]
    members = []
    with _pool(jobs) as pool:
        for member in (pool.map if pool else map)(run_member, *zip(*arguments, strict=True)):
            members.append(member)
            if on_member:
                on_member(member)
    started = time.perf_counter()
    benchlearning = run_benchlearning(landing, warehouse, key, options, say)
    return NetworkRun(members, benchlearning, time.perf_counter() - started)


def _pool(jobs: int):
    """``jobs`` worker processes, spawned, not forked (a fresh interpreter each, as on any other executor); none
    (the providers one after another in this process) for one job at a time."""
    if jobs == 1:
        return contextlib.nullcontext()
    return concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))


def run_member(landing: Path, warehouse: Path, key: bytes, provider: str, name: str, options: Options) -> Member:
    """One provider's run of a network (in this process or a worker's)."""
    target = warehouse / provider_folder(provider)
    on_stderr(f"\nprovider {provider} ({name}): {landing / provider} -> {target}")
    try:
        Warehouse(target).check_key(provider_key(key, provider), options.rotate_key, given=key)
        check_landing(landing / provider, options.as_of, options.site_config)
    except (KeyProblem, Refused) as err:
        on_stderr(f"tiedolla: {provider}: {err}")
        return Member(provider, name, stale(Warehouse(target), f"NOT RUN: {err}"), None)
    done = run(landing, warehouse, key.decode(), options, provider)
    if done.outcome == UNCHANGED:
        return Member(provider, name, f"nothing new: its published version {done.summary['version']} stays", done)
    outcome = MEMBER_OUTCOMES[done.outcome]
    if done.outcome in (PUBLISHED, REPORT_FAILED):
        return Member(provider, name, outcome, done)
    report = target / "reports" / "steward" / "index.html"
    where = f"the run's log and {report}" if report.exists() else "the run's log"
    return Member(provider, name, stale(Warehouse(target), f"{outcome}: what failed is in {where}"), done)


def stale(warehouse: Warehouse, outcome: str) -> str:
    """A network provider's refused run: its last good release (if any) stays, marked stale with the reason."""
    current = next((v for v in warehouse.versions() if v["version"] == warehouse.current_version()), None)
    if current is None:
        return f"{outcome} (it has no earlier release)"
    warehouse.mark_stale(outcome)
    return f"{outcome} (its release as of {current['as_of']} stays, marked stale)"


def run_benchlearning(
    landing: Path, warehouse: Path, key: bytes, options: Options, say: Callable[[str], None] = on_stderr
) -> str:
    """The network's own job (``mart_network_benchmark`` and its pages) over every provider's published release;
    returns its line of the summary."""
    try:
        with execute(
            landing=str(landing),
            warehouse=str(warehouse),
            pseudonym_key=key.decode(),
            site_config=options.site_config,
            lock_for_run=True,
            job=NETWORK_JOB,
        ) as result:
            failed = failed_steps(result)
            checks = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    except WarehouseBusy as err:
        return f"NOT PUBLISHED: {err}"
    finally:  # its own values only: a provider's run started meanwhile (e.g. from the UI) keeps its own
        for asset_key in (asset_key for a in NETWORK_ASSETS for asset_key in a.keys):
            (warehouse / ".dagster" / "storage").joinpath(*asset_key.path).unlink(missing_ok=True)
    if failed or checks:
        reason = failed[0][1] if failed else f"failing check {checks[0]}"
        say(f"tiedolla: the network's benchlearning: {reason}")
        return f"NOT PUBLISHED: {reason} (its previous release, if any, stays)"
    page = warehouse / NETWORK_FOLDER / "reports" / "dashboard" / "index.html"
    return f"published {warehouse / NETWORK_FOLDER / 'published'}; the network page {page}"
