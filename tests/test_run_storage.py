"""The run storage hands values between steps: polars tables as memory-mapped Arrow IPC, the rest pickled."""

from __future__ import annotations

import datetime as dt
import stat
from dataclasses import dataclass

import polars as pl
from dagster import AssetKey, build_input_context, build_output_context

from pipelines.run_storage import RunStorage


@dataclass(frozen=True)
class Bundle:
    name: str
    tables: dict[str, pl.DataFrame]
    day: dt.date


def _frame(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "status": pl.Series(
                ["lasna", "loma", "valmistunut"] * (n // 3) + ["lasna"] * (n % 3), dtype=pl.Categorical
            ),
            "code": pl.Series(["a", "b"] * (n // 2) + ["a"] * (n % 2), dtype=pl.Enum(["a", "b"])),
            "start": [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(n)],
            "share": [i / 7 for i in range(n)],
            "units": [[i, i + 1] for i in range(n)],
            "maybe": [None if i % 2 else i for i in range(n)],
        }
    )


def _store(storage: RunStorage, key: list[str], value) -> None:
    storage.handle_output(build_output_context(asset_key=AssetKey(key), step_key="step"), value)


def _load(storage: RunStorage, key: list[str]):
    return storage.load_input(build_input_context(upstream_output=build_output_context(asset_key=AssetKey(key))))


def test_a_value_with_tables_comes_back_equal_with_its_types(tmp_path):
    storage = RunStorage(base_dir=str(tmp_path))
    value = Bundle("x", {"big": _frame(1000), "empty": _frame(0), "no_columns": pl.DataFrame()}, dt.date(2026, 11, 20))
    _store(storage, ["student_admin", "bundle"], value)
    back = _load(storage, ["student_admin", "bundle"])
    assert back.name == "x" and back.day == value.day
    for name, frame in value.tables.items():
        assert back.tables[name].schema == frame.schema, name
        assert back.tables[name].equals(frame), name
    tables = sorted(p.name for p in (tmp_path / "student_admin").glob("bundle.*.arrow"))
    assert len(tables) == 3  # the tables are beside the pickle, not inside it
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (tmp_path / "student_admin").iterdir())


def test_stored_values_are_the_owners_only_whatever_the_umask(tmp_path):
    """Unpublished rows are personal data: under umask 000 the files are 0600 and every folder 0700."""
    import os

    base = tmp_path / "storage"
    base.mkdir(mode=0o777)
    os.chmod(base, 0o777)
    before = os.umask(0)
    try:
        _store(RunStorage(base_dir=str(base)), ["student_admin", "validated_students"], {"rows": _frame(10)})
    finally:
        os.umask(before)
    folders = [base, base / "student_admin"]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o700 for f in folders)
    files = list((base / "student_admin").iterdir())
    assert len(files) == 2 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


def test_rewriting_a_value_replaces_its_tables_and_keeps_no_stale_ones(tmp_path):
    storage = RunStorage(base_dir=str(tmp_path))
    _store(storage, ["v"], {"a": _frame(10), "b": _frame(5)})
    _store(storage, ["v"], {"a": _frame(3)})
    assert _load(storage, ["v"])["a"].equals(_frame(3))
    assert len(list(tmp_path.glob("v.*.arrow"))) == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_loaded_table_stays_readable_after_the_value_is_rewritten(tmp_path):
    """A step that loaded a table keeps reading it while a rerun of its upstream replaces the files."""
    storage = RunStorage(base_dir=str(tmp_path))
    _store(storage, ["v"], _frame(100))
    loaded = _load(storage, ["v"])
    _store(storage, ["v"], _frame(7))
    assert loaded.equals(_frame(100)) and _load(storage, ["v"]).equals(_frame(7))


def test_values_without_tables_are_plain_pickles(tmp_path):
    storage = RunStorage(base_dir=str(tmp_path))
    _store(storage, ["summary"], {"rows_read": 3, "files": ["a.csv"]})
    assert _load(storage, ["summary"]) == {"rows_read": 3, "files": ["a.csv"]}
    assert list(tmp_path.iterdir()) == [tmp_path / "summary"]


def test_a_value_written_outside_a_published_run_clears_the_state_a_rerun_builds_on(tmp_path):
    """A run started from the Dagster UI writes values without a state of its own: the next ``tiedolla run`` must
    not take them for the published run's (``pipelines/incremental.py``)."""
    from pipelines.run_storage import STATE

    storage = RunStorage(base_dir=str(tmp_path))
    (tmp_path / STATE).write_text('{"run_id": "published-run"}', encoding="utf-8")
    _store(storage, ["crm", "raw_accounts"], {"rows": 1})
    assert not (tmp_path / STATE).exists()
