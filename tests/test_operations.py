"""What a command does, called as a program would call it (``pipelines/operations/``), without the command line:
the run returns what became of it, says its progress through the caller's callback, and writes the same summary
the command line prints."""

import json

import pytest

from pipelines.execution import BUSY, PUBLISHED, UNCHANGED
from pipelines.ingestion.secrets import DEMO_PASSWORD
from pipelines.operations.run import Options, run
from pipelines.publishing.diff import compared_versions
from pipelines.publishing.warehouse import Warehouse
from tests.conftest import TEST_KEY, HeldWarehouse, without_data_docs


def test_a_run_that_finds_the_warehouse_held_says_so_through_the_callback_and_changes_nothing(tmp_path):
    warehouse, said = tmp_path / "warehouse", []
    warehouse.mkdir()
    with HeldWarehouse(warehouse):
        done = run(tmp_path / "landing", warehouse, TEST_KEY, Options(wait=0.3), say=said.append)
    assert done.outcome == BUSY and done.code == 4 and done.warehouse == warehouse
    assert f"the warehouse {warehouse} is in use" in done.summary["reason"] and done.summary["run_id"] is None
    assert said == [f"tiedolla: another run holds {warehouse}: waiting up to 0.3 s for it"]
    assert not (warehouse / "run.json").exists()  # (the holder's summary is the one a reader sees)


@pytest.mark.slow
def test_a_program_runs_the_pipeline_and_gets_what_the_summary_says(small_landing, tmp_path, monkeypatch):
    monkeypatch.setenv("TIEDOLLA_KOSKI_PASSWORD", DEMO_PASSWORD)  # (the demo's KOSKI reports are encrypted)
    warehouse, said = tmp_path / "warehouse", []
    options = Options(site_config=str(without_data_docs(tmp_path / "site")))

    first = run(small_landing, warehouse, TEST_KEY, options, say=said.append)
    assert first.outcome == PUBLISHED and first.code == 0, first.summary["reason"]
    assert first.summary == json.loads((warehouse / "run.json").read_text(encoding="utf-8"))
    assert first.summary["run_id"] and Warehouse(warehouse).current_version()
    assert len(said) == 1 and said[0].startswith("running every step: "), said

    said.clear()
    again = run(small_landing, warehouse, TEST_KEY, options, say=said.append)
    assert again.outcome == UNCHANGED and again.code == 0 and said == []
    assert again.summary["version"] == Warehouse(warehouse).current_version()
    assert again.summary == json.loads((warehouse / "run.json").read_text(encoding="utf-8"))


VERSIONS = [{"version": v} for v in ("run3", "run2", "run1")]  # newest first, as a warehouse lists them


def test_diff_compares_the_published_version_with_the_one_kept_before_it_unless_told():
    assert compared_versions(VERSIONS, "run2", None, None) == ("run1", "run2")
    assert compared_versions(VERSIONS, None, None, None) == ("run2", "run3")  # (nothing published: the newest)
    assert compared_versions(VERSIONS, "run2", "run3", "run1") == ("run3", "run1")  # (as asked, even backwards)


@pytest.mark.parametrize(
    ("current", "before", "after", "words"),
    [
        ("run3", None, "run9", r"no version 'run9' is kept; kept: run3, run2, run1"),
        ("run3", "run0", None, r"no version 'run0' is kept"),
        ("run1", None, None, r"run1 is the oldest kept: there is nothing to compare it with"),
    ],
)
def test_diff_refuses_a_version_not_kept_or_nothing_to_compare_with(current, before, after, words):
    with pytest.raises(ValueError, match=words):
        compared_versions(VERSIONS, current, before, after)
    with pytest.raises(ValueError, match="no published versions"):
        compared_versions([], None, None, None)
