"""Running the one job through Dagster's public execution API: the whole pipeline (``tiedolla run``), or the
subset a command needs (a source's validated tables for ``tiedolla student-years`` and the backtest).

Dagster rebuilds the job from plain arguments (``build_reconstructable_job``) wherever it executes, so the same
call works on another executor or in another process; step outputs stay in run storage beside the warehouse,
never all in memory at once.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterInstance,
    JobDefinition,
    JobExecutionResult,
    build_reconstructable_job,
    execute_job,
)

from pipelines.assets.student_records import conform_student_records, records_key
from pipelines.assets.validated import QUALITY_GATE, QUARANTINE_SUMMARY
from pipelines.definitions import PIPELINE_JOB, make_definitions
from pipelines.ingestion.landing import Landing
from pipelines.marts.student_year_history import CannotCalculate, calculable
from pipelines.progress import progress_logger
from pipelines.publishing.pseudonyms import KEY_FILE_VARIABLE, KEY_VARIABLE
from pipelines.run_storage import PARTITION_TAG
from pipelines.validation import TableOutcome
from schemas import koski_bulk, student_admin
from schemas.metadata import Source

#: the sources the student records are made from
RECORD_SOURCES = (student_admin.SOURCE, koski_bulk.SOURCE)

#: the loggers a run reports through (the progress lines ``tiedolla run`` prints)
RUN_CONFIG = {"loggers": {"progress": {}}}


def pipeline_job(
    landing: str,
    warehouse: str,
    as_of: str | None = None,
    pseudonym_key: str | None = None,
    site_config: str | None = None,
    lock_for_run: bool = False,
    allow_missing_sources: list[str] | None = None,
    allow_shrink: bool = False,
    rotate_key: bool = False,
    parallel_steps: int = 1,
    job: str = PIPELINE_JOB,
) -> JobDefinition:
    """Every asset of the one Definitions as a job (or the network's own ``job``), from plain (serialisable)
    arguments."""
    defs = make_definitions(
        Path(landing),
        Path(warehouse),
        as_of,
        pseudonym_key,
        site_config,
        loggers={"progress": progress_logger},
        lock_for_run=lock_for_run,
        allow_missing_sources=allow_missing_sources,
        allow_shrink=allow_shrink,
        rotate_key=rotate_key,
        parallel_steps=parallel_steps,
    )
    return defs.resolve_job_def(job)


@contextmanager
def execute(
    asset_selection: list[AssetKey] | None = None, provider: str | None = None, **arguments
) -> Iterator[JobExecutionResult]:
    """Execute the job of :func:`pipeline_job` ``(**arguments)``: only ``asset_selection`` when given, and in a
    network the ``provider``'s partition. Yields Dagster's result (an output can be loaded inside the block).

    The pseudonym key is not one of the job's arguments: those are stored with the run (on disk, when steps run in
    processes of their own), so the key reaches the steps through this process's environment, which they inherit.
    """
    key = arguments.pop("pseudonym_key", None)
    job = build_reconstructable_job(__name__, pipeline_job.__name__, reconstructable_kwargs=arguments)
    options = dict(
        run_config=RUN_CONFIG,
        raise_on_error=False,
        asset_selection=asset_selection,
        tags={PARTITION_TAG: provider} if provider else None,
    )
    with ExitStack() as stack:
        if key is not None:
            stack.enter_context(_key_in_environment(key))
        if arguments.get("parallel_steps", 1) == 1:
            instance = DagsterInstance.ephemeral()
        else:  # steps in processes of their own report through an instance on disk: this run's own, removed after
            instance = DagsterInstance.local_temp(tempdir=stack.enter_context(tempfile.TemporaryDirectory()))
        with execute_job(job, instance, **options) as result:
            yield result


@contextmanager
def _key_in_environment(key: str) -> Iterator[None]:
    """``key`` as the environment's pseudonym key while the block runs (a key file named there stands aside)."""
    saved = {name: os.environ.pop(name, None) for name in (KEY_VARIABLE, KEY_FILE_VARIABLE)}
    os.environ[KEY_VARIABLE] = key
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


class NotValidated(Exception):
    """A step before the validated tables failed (a file that cannot be read at all, a missing export)."""


@contextmanager
def _validated(
    landing: Landing, sources: tuple[Source, ...], also: tuple[AssetKey, ...] = ()
) -> Iterator[JobExecutionResult]:
    """The sources' raw and validated assets (and the quality checks on them) exactly as a run on ``landing``
    materialises them, in this process into a throwaway warehouse with a throwaway key: the quarantine they write is
    discarded and nothing is published. Yields Dagster's result (outputs can be loaded inside the block)."""
    selection = [
        AssetKey([s.system, f"{kind}_{t.name}"]) for s in sources for t in s.tables for kind in ("raw", "validated")
    ]
    selection += [AssetKey([s.system, name]) for s in sources for name in (QUARANTINE_SUMMARY, QUALITY_GATE)]
    selection += also
    with tempfile.TemporaryDirectory(prefix="tiedolla-validate-") as warehouse:
        arguments = dict(
            landing=str(landing.path),
            warehouse=warehouse,
            as_of=landing.as_of.isoformat() if isinstance(landing.as_of, dt.date) else None,
            pseudonym_key=secrets.token_hex(32),
            site_config=str(landing.site.file) if landing.site.own else None,
        )
        with execute(selection, **arguments) as result:
            yield result


def student_records(landing: Landing) -> dict[str, TableOutcome]:
    """The student records exactly as a run on ``landing`` makes them (``_validated``): the export's validated
    tables, else KOSKI's deliveries in the same model (``pipelines/assets/student_records.py``)."""
    tables = [t.name for t in student_admin.TABLES]
    with _validated(landing, RECORD_SOURCES, tuple(records_key(t) for t in tables)) as result:
        failed = failed_steps(result)
        if failed:  # (a failed quality check holds back a release, not the command's figures)
            raise NotValidated(failed[0][1])
        return {t: result.output_for_node(conform_student_records.node_def.name, t) for t in tables}


def calculable_history(landing: Landing):
    """An export's complete history (and the study rights held back) from the pipeline's own validated assets: a
    command counts what a run on the same landing area and day would."""
    try:
        return calculable(student_records(landing))
    except NotValidated as err:
        raise CannotCalculate(str(err)) from None


def check_landing(landing: Landing, sources: tuple[Source, ...]) -> tuple[dict[str, dict], list[str]]:
    """``tiedolla check``: every source of ``landing`` read and validated exactly as a run would (``_validated``).
    Returns each file's summary (as the manifest has it) and what would stop the release (failed checks or steps)."""
    with _validated(landing, sources) as result:
        stopping = [f"step {step}: {error}" for step, error in failed_steps(result)]
        stopping += [
            f"check {e.check_name} of {e.asset_key.to_user_string()} fails"
            for e in result.get_asset_check_evaluations()
            if not e.passed
        ]
        files: dict[str, dict] = {}
        for source in sources:
            if result.is_node_success(f"validate_{source.system}"):
                files |= result.output_for_node(f"validate_{source.system}", QUARANTINE_SUMMARY)
        return files, stopping


def failed_steps(result: JobExecutionResult) -> list[tuple[str, str]]:
    """(step, its error's own words) of each step that failed, other than by a failed blocking data-quality check
    (the checks report themselves)."""
    return [
        (e.step_key, root_cause(e.step_failure_data.error))
        for e in result.all_events
        if e.is_step_failure
        and e.step_failure_data.error
        and "AssetCheckFailed" not in e.step_failure_data.error.message
    ]


def root_cause(error) -> str:
    """The innermost error's own words (Dagster wraps them in its own)."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[-1]


#: what became of a run, for a machine (``run.json``, ``tiedolla run --json``)
PUBLISHED, REPORT_FAILED, REFUSED, BUSY = "published", "published_report_failed", "refused", "busy"
#: nothing changed since the published version (the same exports, code and settings): nothing was run
UNCHANGED = "unchanged"


def run_summary(result: JobExecutionResult, release: str, started: dt.datetime, log: Path | None) -> dict:
    """The run as a machine reads it: outcome and reason, the failed steps and checks, rows per file (from the
    validated assets' own metadata, so a refused run has them too) and each step's time."""
    released = any(e.asset_key.to_user_string() == release for e in result.get_asset_materialization_events())
    failed = failed_steps(result)
    checks = [
        f"{e.asset_key.to_user_string()}: {e.check_name}" for e in result.get_asset_check_evaluations() if not e.passed
    ]
    outcome = (REPORT_FAILED if failed else PUBLISHED) if released else REFUSED
    reason = None
    if outcome == REFUSED:
        reason = failed[0][1] if failed else f"failing check {checks[0]}" if checks else "not published"
    elif failed:
        reason = f"step {failed[0][0]} failed: {failed[0][1]}"
    files = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        meta = {k: v.value for k, v in materialization.metadata.items()}
        if "rows_read" in meta and "problem" in meta:
            files[materialization.asset_key.path[-1].removeprefix("validated_")] = meta
    steps = {
        e.step_key: round(e.event_specific_data.duration_ms / 1000, 2)
        for e in result.all_events
        if e.is_step_success and e.event_specific_data is not None
    }
    return {
        "run_id": result.run_id,
        "outcome": outcome,
        "reason": reason,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "failed_steps": [{"step": s, "error": e} for s, e in failed],
        "failed_checks": checks,
        "tables": files,
        "step_seconds": steps,
        "log": str(log) if log else None,
    }
