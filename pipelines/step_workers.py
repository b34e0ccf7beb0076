"""``--parallel-steps N``: a run's steps in N worker processes, each started once per run (a Dagster executor).

Dagster's own multiprocess executor starts a process for every step. Most of this pipeline's steps take well under
a second, so that start (a fork, opening the instance, rebuilding the job) cost more than the work: a small landing
area took 96–106 s against 30–37 s in one process (42–51 s on these workers: performance.md). Here a run starts N
workers, forked from a server with the code location preloaded. Each keeps the job it rebuilt and the instance it
opened, and executes the steps it is handed one after another, each exactly as the multiprocess executor's child
executes a step (a plan of that step alone). So a process start is paid per worker, and the steps in between pay
only their own work.

Which step runs when is still Dagster's: its ``ActiveExecution`` hands out the steps whose inputs are ready and
takes each step's events back, as in the multiprocess executor. Step outputs go through the run's IO manager (run
storage on disk), as on any executor whose steps run outside the run's process.

Dagster documents custom executors as advanced use: the ``@executor`` decorator and the ``Executor`` class are
public, the pieces an executor is built from (the plan, ``ActiveExecution``, the step events) are not. This is the
one module that imports Dagster's internals; Dagster is pinned exactly, and ``tests/test_step_workers.py`` runs
this executor (a failing step, a worker that dies) so an upgrade that changes them fails there.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait

from dagster import DagsterInstance, Executor, Field, Int, executor, multiple_process_executor_requirements
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import create_execution_plan, execute_plan_iterator
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._utils import start_termination_thread
from dagster._utils.error import SerializableErrorInfo, serializable_error_info_from_exc_info

#: imported once, by the server the workers are forked from
PRELOAD = ["dagster._core.executor.multiprocess", "pipelines.definitions"]
#: a worker's answer once a step's events are all sent
STEP_DONE = "step done"


def _serve(
    connection: Connection, environment, job, run, run_config, instance_ref, retry_mode, repository_load_data, stop
) -> None:
    """A worker: takes the run's environment as it is now (the worker was forked from a server started earlier,
    perhaps for another run, and the pseudonym key reaches the steps through the environment), opens the run's
    instance once, then executes each step key it receives (with the run's known state), sending the step's events
    back as they happen (each is already in the run's event log), until it receives ``None``. An error outside the
    step's own code (the job cannot be rebuilt) is sent back in its place; a stopped run interrupts the step that is
    running."""
    os.environ.clear()
    os.environ.update(environment)
    start_termination_thread(stop, threading.Event())
    with DagsterInstance.from_ref(instance_ref) as instance:
        try:
            while (task := connection.recv()) is not None:
                try:
                    for event in _step_events(*task, job, run, run_config, retry_mode, repository_load_data, instance):
                        connection.send(event)
                except Exception:
                    connection.send(serializable_error_info_from_exc_info(sys.exc_info()))
                connection.send(STEP_DONE)
        except (KeyboardInterrupt, EOFError):  # the run was stopped between steps, or its process is gone
            pass


def _step_events(step_key, known_state, job, run, run_config, retry_mode, repository_load_data, instance):
    """One step, as the multiprocess executor's child executes it: a plan of that step alone (the job is rebuilt
    once per worker: ``ReconstructableJob`` caches its definition)."""
    plan = create_execution_plan(
        job=job,
        run_config=run_config,
        step_keys_to_execute=[step_key],
        known_state=known_state,
        repository_load_data=repository_load_data,
    )
    inner = retry_mode.for_inner_plan()
    yield from execute_plan_iterator(plan, job, run, run_config=run_config, retry_mode=inner, instance=instance)


class _Worker:
    """The run's side of one worker process and the step it is executing."""

    def __init__(self, context, start: tuple):
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, *start), name="tiedolla step worker")
        self.process.start()
        theirs.close()
        self.step: str | None = None

    def execute(self, step_key: str, known_state) -> None:
        self.step = step_key
        self.connection.send((step_key, known_state))

    def close(self) -> None:
        try:
            self.connection.send(None)
        except OSError:  # (it has ended already)
            pass
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class StepWorkersExecutor(Executor):
    def __init__(self, workers: int, retries: RetryMode):
        self._workers = workers
        self._retries = retries

    @property
    def retries(self) -> RetryMode:
        return self._retries

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        yield DagsterEvent.engine_event(
            plan_context,
            f"Executing steps in {self._workers} worker processes, each started once (run process {os.getpid()})",
            EngineEventData.multiprocess(os.getpid(), step_keys_to_execute=execution_plan.step_keys_to_execute),
        )
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        stop = context.Event()
        start = (
            dict(os.environ),
            plan_context.reconstructable_job,
            plan_context.dagster_run,
            dict(plan_context.run_config),
            plan_context.instance.get_ref(),
            self.retries,
            execution_plan.repository_load_data,
            stop,
        )
        workers: list[_Worker] = []
        try:
            with ActiveExecution(execution_plan, retry_mode=self.retries, max_concurrent=self._workers) as active:
                stopping = False
                while (not stopping and not active.is_complete) or any(w.step for w in workers):
                    if not stopping and active.check_for_interrupts():
                        yield DagsterEvent.engine_event(
                            plan_context,
                            "Step workers: the run was stopped; interrupting the running steps",
                            EngineEventData.interrupted([w.step for w in workers if w.step]),
                        )
                        stopping = True
                        active.mark_interrupted()
                        stop.set()
                    free = self._workers - sum(bool(w.step) for w in workers)
                    for step in active.get_steps_to_execute(limit=free) if free and not stopping else []:
                        worker = next((w for w in workers if not w.step), None)
                        if worker is None:  # (started when first needed, and again after one died)
                            worker = _Worker(context, start)
                            workers.append(worker)
                        worker.execute(step.key, active.get_known_state())
                    busy = {w.connection: w for w in workers if w.step}
                    for ready in wait(list(busy), timeout=0.5):
                        yield from self._events_of(plan_context, active, busy[ready], workers)
                    yield from active.plan_events_iterator(plan_context)
                if stopping:
                    raise DagsterExecutionInterruptedError()
        finally:
            for worker in workers:
                worker.close()

    def _events_of(self, plan_context, active: ActiveExecution, worker: _Worker, workers: list[_Worker]):
        """The events a busy worker has sent; when its step is done, the worker is free again. A worker that died
        (out of memory, killed) fails its step in words and leaves: the next step starts a new one."""
        key = worker.step
        while worker.connection.poll():
            try:
                event = worker.connection.recv()
            except (EOFError, OSError):
                worker.process.join()
                worker.connection.close()
                workers.remove(worker)
                ended = f"its process ended with exit code {worker.process.exitcode}"
                error = SerializableErrorInfo(message=ended, stack=[], cls_name=None)
                yield from self._failed(plan_context, active, key, error, f"the process executing it: {ended}")
                active.verify_complete(plan_context, key)
                return
            if event == STEP_DONE:
                worker.step = None
                active.verify_complete(plan_context, key)
                return
            if isinstance(event, SerializableErrorInfo):
                yield from self._failed(plan_context, active, key, event, "its worker could not execute it")
                continue
            yield event
            active.handle_event(event)

    def _failed(self, plan_context, active: ActiveExecution, key: str, error: SerializableErrorInfo, why: str):
        """Step ``key`` failed outside its own code: said in the run's log, then failed (or retried) as the
        multiprocess executor fails a step whose process crashed."""
        step_context = plan_context.for_step(active.get_step_by_key(key))
        yield DagsterEvent.engine_event(
            step_context, f"Step workers: step {key} failed: {why}", EngineEventData.engine_error(error)
        )
        failure = self.log_failure_or_retry_event_after_error(step_context, error, active.get_known_state())
        yield failure
        active.handle_event(failure)


@executor(
    name="step_workers",
    config_schema={"workers": Field(Int, default_value=2, description="worker processes, started once per run")},
    requirements=multiple_process_executor_requirements(),
)
def step_workers_executor(init_context) -> StepWorkersExecutor:
    """Up to ``workers`` steps at once, each worker process started once per run (see the module's docstring)."""
    return StepWorkersExecutor(init_context.executor_config["workers"], RetryMode.ENABLED)
