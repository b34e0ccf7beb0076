"""``--parallel-steps``' executor (pipelines/step_workers.py) on a job of its own: a process started per worker, not
per step, and a step's failure (or its process's death) costs that step and what depends on it, nothing else."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    Output,
    asset,
    build_reconstructable_job,
    define_asset_job,
    execute_job,
)

from pipelines.step_workers import step_workers_executor

#: independent small steps beside the chain first -> (left, right) -> last
SMALL = [f"small_{n}" for n in range(8)]
#: a variable of the run's environment each step reports
PROBE = "TIEDOLLA_STEP_WORKERS_PROBE"


def steps_job(workers: int = 2, failing: str = "", dying: str = "", built_only_in: int = 0, asleep_at: str = ""):
    """A job whose every step returns the id of the process it ran in; the step ``failing`` raises, and the step
    ``dying`` ends its process. With ``built_only_in``, no other process than that one can build the job; with
    ``asleep_at``, the step ``first`` writes its process's id into that file and sleeps for ten minutes."""
    if built_only_in and os.getpid() != built_only_in:
        raise RuntimeError("this job cannot be built in a worker")

    def pid(name: str) -> Output:
        if name == failing:
            raise ValueError(f"{name} fails on purpose")
        if name == dying:
            os._exit(3)
        return Output(os.getpid(), metadata={"pid": os.getpid(), "probe": os.environ.get(PROBE, "")})

    @asset
    def first() -> Output:
        if asleep_at:
            Path(asleep_at).write_text(str(os.getpid()))
            time.sleep(600)
        return pid("first")

    @asset
    def left(first: int) -> Output:
        return pid("left")

    @asset
    def right(first: int) -> Output:
        return pid("right")

    @asset
    def last(left: int, right: int) -> Output:
        return pid("last")

    def small(name):
        @asset(name=name)
        def _small() -> Output:
            return pid(name)

        return _small

    defs = Definitions(
        assets=[first, left, right, last, *(small(n) for n in SMALL)],
        jobs=[define_asset_job("steps")],
        executor=step_workers_executor.configured({"workers": workers}),
    )
    return defs.resolve_job_def("steps")


def _run(tmp_path, **arguments):
    # (imported by the workers from this folder: Dagster takes the first folder of ``sys.path`` out when it imports a
    # job's module, and under pytest that is the project's, where ``tests`` is)
    here = Path(__file__).parent
    job = build_reconstructable_job(
        Path(__file__).stem,
        steps_job.__name__,
        reconstructable_kwargs=arguments,
        reconstructor_working_directory=str(here),
    )
    instance = DagsterInstance.local_temp(tempdir=str(tmp_path))
    result = execute_job(job, instance, raise_on_error=False)
    reported = {
        e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    return result, {name: m["pid"].value for name, m in reported.items()}, {m["probe"].value for m in reported.values()}


def test_twelve_steps_run_in_two_worker_processes_started_once(tmp_path):
    result, pids, _ = _run(tmp_path)
    assert result.success
    assert set(pids) == {"first", "left", "right", "last", *SMALL}
    assert len(set(pids.values())) == 2  # a process start per worker, not per step
    assert os.getpid() not in pids.values()  # and none in the run's own process


def test_the_steps_see_the_environment_of_their_run_not_of_the_first_run_the_workers_server_served(
    tmp_path, monkeypatch
):
    """The workers are forked from a server started once per process (the pseudonym key reaches the steps through
    the environment: privacy.md)."""
    for value in ("the first run's", "the second run's"):
        monkeypatch.setenv(PROBE, value)
        (tmp_path / value).mkdir()
        result, _, seen = _run(tmp_path / value)
        assert result.success and seen == {value}


def test_a_failing_step_stops_what_depends_on_it_and_nothing_else(tmp_path):
    result, pids, _ = _run(tmp_path, failing="left")
    assert not result.success
    assert set(pids) == {"first", "right", *SMALL}  # "last" needs "left": skipped
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["left"]
    assert "left fails on purpose" in failures[0].step_failure_data.error.cause.message


def test_a_step_whose_process_dies_fails_in_words_and_the_other_steps_go_on_in_new_workers(tmp_path):
    result, pids, _ = _run(tmp_path, dying="right")
    assert not result.success
    assert {"first", "left", *SMALL} <= set(pids) and "right" not in pids and "last" not in pids
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["right"]
    said = [e.message for e in result.all_events if e.step_key == "right" and e.is_engine_event]
    assert any("the process executing it: its process ended with exit code 3" in m for m in said), said
    assert AssetKey("last") not in {e.asset_key for e in result.get_asset_materialization_events()}


def test_a_worker_that_cannot_build_the_job_fails_the_steps_in_the_errors_own_words(tmp_path):
    result, pids, _ = _run(tmp_path, built_only_in=os.getpid())
    assert not result.success and pids == {}
    failures = {e.step_key for e in result.all_events if e.is_step_failure}
    assert failures == {"first", *SMALL}  # the rest depend on "first": skipped, not run
    said = [e.message for e in result.all_events if e.is_engine_event and e.step_key == "first"]
    assert any("its worker could not execute it" in m for m in said), said
    error = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    assert "this job cannot be built in a worker" in error.to_string()


def test_a_stopped_run_interrupts_its_running_step_and_leaves_no_worker_behind(tmp_path):
    """Ctrl-C, or Dagster terminating a run: SIGINT to the run's process alone. The step running on a worker is
    interrupted (not waited for: it would sleep ten minutes), the run ends as interrupted, and its workers end."""
    asleep = tmp_path / "asleep"
    script = f"""
import json, sys
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).parent)!r})
from {Path(__file__).stem} import _run
result, pids, _ = _run(Path({str(tmp_path)!r}), asleep_at={str(asleep)!r})
print(json.dumps({{
    "success": result.success,
    "failed": [e.step_key for e in result.all_events if e.is_step_failure],
    "said": [e.message for e in result.all_events if e.is_engine_event],
}}))
"""
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300  # (a guard against a hang)
    while not asleep.exists() or not asleep.read_text():
        assert run.poll() is None and time.monotonic() < deadline, "the step never started"
        time.sleep(0.2)
    worker = int(asleep.read_text())
    run.send_signal(signal.SIGINT)
    out, _ = run.communicate(timeout=300)
    outcome = json.loads(out.strip().splitlines()[-1])
    assert not outcome["success"] and "first" in outcome["failed"]
    assert any("the run was stopped" in m for m in outcome["said"]), outcome["said"]
    assert not Path(f"/proc/{worker}").exists()  # the worker ended with the run
