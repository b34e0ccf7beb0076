"""One pipeline path: commands get validated data from the pipeline's own assets, run through Dagster's public
execution API (pipelines/execution.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipelines.execution import NotValidated, student_records
from pipelines.ingestion.landing import Landing
from pipelines.marts.student_year_history import history_as_of
from schemas.published import TABLES as PUBLISHED_TABLES

PIPELINES = Path(__file__).resolve().parent.parent / "pipelines"


def test_the_validated_assets_and_the_plain_reading_give_the_same_complete_history(small_landing):
    """The command line reads an export through the assets; late recording reads an older one with the plain
    functions the assets call. Both must count the same study rights with the same timelines."""
    from pipelines.marts.student_year_history import calculable

    landing = Landing.at(small_landing)
    through_assets, held_assets = calculable(student_records(landing))
    plain, held_plain = history_as_of(landing)
    assert through_assets.study_rights.height > 100
    for part in ("study_rights", "status_periods", "additional_periods", "workplace_periods"):
        assert getattr(through_assets, part).equals(getattr(plain, part)), part
    assert held_assets.height > 0 and held_assets.equals(held_plain)


def test_an_export_the_assets_cannot_read_is_refused_in_the_steps_own_words(small_landing, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    shutil.rmtree(landing / "koski_bulk")  # (KOSKI's data alone would be the student records)
    for export in (landing / "student_admin").iterdir():
        shutil.rmtree(export)  # the student-administration exports are gone
    with pytest.raises(NotValidated, match="no student records"):
        student_records(Landing.at(landing))


def test_no_module_but_the_executor_uses_dagsters_private_api():
    """Dagster's public API, except in the one executor of our own (``--parallel-steps``): Dagster keeps the
    pieces an executor is built from internal. Dagster is pinned exactly, and tests/test_step_workers.py runs it."""
    private = {
        f"{path.relative_to(PIPELINES.parent)}:{n}"
        for path in PIPELINES.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bdagster\._", line)
    }
    executor = {p for p in private if p.startswith("pipelines/step_workers.py:")}
    assert executor and private == executor, private - executor


def test_steps_in_processes_of_their_own_publish_what_one_process_publishes(small_landing, small_run, tmp_path):
    """``--parallel-steps 2``: the steps run in two worker processes (pipelines/step_workers.py), which rebuild the
    definitions and read each step's inputs from run storage, as steps on a cluster would
    (docs/architecture/deployment.md)."""
    import hashlib

    from tests.conftest import run_cli

    result, one_process = small_run
    warehouse = tmp_path / "warehouse"
    parallel = run_cli("run", "--landing", str(small_landing), "--warehouse", str(warehouse), "--parallel-steps", "2")
    assert parallel.returncode == 0 and result.returncode == 0, parallel.stderr

    def digests(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}

    assert len(digests(warehouse / "published")) == len(PUBLISHED_TABLES)
    assert digests(warehouse / "published") == digests(one_process / "published")


def test_a_long_loop_reports_its_progress_a_few_times_a_minute_not_at_every_turn():
    from pipelines.pacing import throttled

    heard: list[str] = []
    report = throttled(heard.append, every_seconds=3600)
    for done in range(1, 1001):
        report(f"{done} of 1000")
    assert heard == ["1 of 1000"]  # the first at once, then nothing within the hour
    every = throttled(heard.append, every_seconds=0)
    every("a")
    every("b")
    assert heard[-2:] == ["a", "b"]


def test_the_pseudonym_key_is_not_one_of_the_arguments_dagster_stores_with_a_run(monkeypatch):
    """A run's job arguments are stored with the run (on disk when steps run in processes of their own): the key
    reaches the steps through the environment instead, and only while the run lasts."""
    import os

    import pipelines.execution as execution
    from pipelines.publishing.pseudonyms import KEY_VARIABLE

    seen = {}

    class Stop(Exception):
        pass

    def job_built(module, name, reconstructable_kwargs):
        seen.update(arguments=dict(reconstructable_kwargs), environment=os.environ.get(KEY_VARIABLE))
        raise Stop

    monkeypatch.setattr(execution, "build_reconstructable_job", job_built)
    monkeypatch.setenv(KEY_VARIABLE, "the-caller's-own")
    with pytest.raises(Stop):
        with execution.execute(landing="l", warehouse="w", pseudonym_key="k" * 40, parallel_steps=2):
            pass
    assert "pseudonym_key" not in seen["arguments"] and "k" * 40 not in repr(seen["arguments"])
    assert os.environ[KEY_VARIABLE] == "the-caller's-own"  # restored after the run
