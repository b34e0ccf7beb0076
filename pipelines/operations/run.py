"""One warehouse's run (in a network, one provider's): the run lock, only what changed, the summary and the log.

Every run that starts leaves ``run.json`` (what became of it, for a machine) and its log file; a run with nothing
new runs nothing and says so; a run that finds another holding the warehouse changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.assets.published import RELEASE
from pipelines.execution import BUSY, PUBLISHED, REFUSED, REPORT_FAILED, UNCHANGED, execute, run_summary
from pipelines.files import atomic_write_json
from pipelines.incremental import prepare, settle
from pipelines.progress import PROVIDER_VARIABLE, log_to_file, stop_logging_to
from pipelines.publishing.warehouse import Warehouse, WarehouseBusy, provider_folder

#: a run's exit code by its outcome: 0 published (or nothing new), 1 refused (the previous version stays), 3
#: published but a report step failed, 4 busy (another run holds the warehouse; nothing was changed)
EXIT_CODES = {PUBLISHED: 0, UNCHANGED: 0, REFUSED: 1, REPORT_FAILED: 3, BUSY: 4}

#: how many run logs a warehouse keeps (the oldest go first)
KEEP_LOGS = 30


def on_stderr(text: str) -> None:
    """The default way a run says what it is doing: a line on standard error, beside the steps' progress."""
    print(text, file=sys.stderr)


@dataclass(frozen=True)
class Options:
    """How a run is asked for (in a network, the same for every provider)."""

    as_of: dt.date | None = None
    site_config: str | None = None
    #: seconds to wait for another run holding the warehouse (0: refuse at once)
    wait: float = 0
    allow_missing_sources: tuple[str, ...] = ()
    allow_shrink: bool = False
    rotate_key: bool = False
    #: steps at once, in as many worker processes (pipelines/step_workers.py; 1: in process)
    parallel_steps: int = 1
    #: every step, even when nothing changed
    full: bool = False


@dataclass(frozen=True)
class Run:
    """What became of a run: where it ran (a provider's folder in a network) and its summary (``run.json``'s
    content; a busy run writes none, the holder's stays)."""

    warehouse: Path
    summary: dict

    @property
    def outcome(self) -> str:
        return self.summary["outcome"]

    @property
    def code(self) -> int:
        return EXIT_CODES[self.outcome]


def run(
    landing: Path,
    warehouse: Path,
    key: str,
    options: Options,
    provider: str | None = None,
    say: Callable[[str], None] = on_stderr,
) -> Run:
    """One run at a time per warehouse (in a network: per provider's); stale staging of runs that crashed is
    cleared first. Only what changed since the published version is run (``pipelines/incremental.py``)."""
    target = warehouse / provider_folder(provider) if provider else warehouse
    wh = Warehouse(target)
    started = dt.datetime.now(dt.UTC)
    if provider:  # (its lines name it; the next run in this process, another provider's or none, sets its own)
        os.environ[PROVIDER_VARIABLE] = provider
    else:
        os.environ.pop(PROVIDER_VARIABLE, None)
    if options.wait and wh.is_locked("run"):
        say(f"tiedolla: another run holds {target}: waiting up to {options.wait:g} s for it")
    try:
        with wh.lock("run", wait_seconds=options.wait):
            stale = wh.clear_stale_staging()
            wh.follow_release()  # (a crash may have come between the release and its links)
            if stale:
                say(f"cleared the staging of {len(stale)} unfinished earlier run(s)")
            settings = {
                "as_of": options.as_of.isoformat() if options.as_of else None,
                "allow_missing_sources": sorted(options.allow_missing_sources),
                "allow_shrink": options.allow_shrink,
                "rotate_key": options.rotate_key,
            }
            storage, plan = prepare(
                landing, warehouse, provider, options.site_config, key.encode(), settings, options.full
            )
            if plan.nothing_new:
                return Run(target, _nothing_new(plan, wh, started))
            log = _new_log(target, started)
            logging_to = log_to_file(log)
            say(f"running {'only what changed' if plan.selection else 'every step'}: {plan.why}")
            try:
                with _materialised(landing, warehouse, key, options, provider, plan.selection) as result:
                    summary = _write_summary(result, target, started, log, partial=bool(plan.selection))
            except BaseException:
                settle(storage, False, None, plan.versions)
                raise
            finally:
                stop_logging_to(logging_to)
            # a published run's values stay for the next run to build on; any other run's are cleared
            settle(storage, summary["outcome"] == PUBLISHED, summary["run_id"], plan.versions)
    except WarehouseBusy as err:
        return Run(target, {"outcome": BUSY, "reason": str(err), "run_id": None})
    return Run(target, summary)


def _materialised(landing: Path, warehouse: Path, key: str, options: Options, provider, selection):
    """Every asset of the one Definitions, or only ``selection`` (in a network: the ``provider``'s partition),
    materialised; the caller holds the warehouse's run lock, so the resource does not take it again."""
    return execute(
        selection,
        provider=provider,
        landing=str(landing),
        warehouse=str(warehouse),
        as_of=options.as_of.isoformat() if options.as_of else None,
        pseudonym_key=key,
        site_config=options.site_config,
        allow_missing_sources=list(options.allow_missing_sources),
        allow_shrink=options.allow_shrink,
        rotate_key=options.rotate_key,
        parallel_steps=options.parallel_steps,
    )


def _nothing_new(plan, wh: Warehouse, started: dt.datetime) -> dict:
    """Nothing changed since the published version: said in ``run.json``; nothing is run or published."""
    summary = {
        "run_id": None,
        "outcome": UNCHANGED,
        "reason": plan.why,
        "version": wh.current_version(),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sources": plan.versions["sources"],
        "log": None,
    }
    atomic_write_json(wh.root / "run.json", summary)
    return summary


def _new_log(target: Path, started: dt.datetime) -> Path:
    """This run's log file, ``<warehouse>/logs/run-<UTC time>.log``; only the newest KEEP_LOGS are kept."""
    folder = target / "logs"
    for old in sorted(folder.glob("run-*.log"))[: -(KEEP_LOGS - 1)] if folder.is_dir() else []:
        old.unlink(missing_ok=True)
    return folder / f"run-{started:%Y%m%dT%H%M%S%f}.log"


def _write_summary(result, target: Path, started: dt.datetime, log: Path, partial: bool = False) -> dict:
    """``<warehouse>/run.json``: what became of this run, published or refused, for a scheduler or a script. A
    ``partial`` run (only what changed) did not read the unchanged sources' files again: their rows are the
    published version's, from its manifest."""
    summary = run_summary(result, RELEASE, started, log)
    if partial:  # (the unchanged sources' first, as a full run lists them: this run's own last, where a reader looks)
        published = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["files"]
        unchanged = {f["table"]: f for f in published.values() if f["table"] not in summary["tables"]}
        summary["tables"] = {**unchanged, **summary["tables"]}
    atomic_write_json(target / "run.json", summary)
    return summary
