"""The failure history on its own: statuses across runs, and retention of what names someone."""

import datetime as dt

import polars as pl

from pipelines.stewardship.failure_history import DETAIL, history_path, record_run

D = dt.date


def _quarantine(*failures: tuple[str, str]) -> pl.DataFrame:
    """Quarantine rows: (failure id, record key) with a masked value and a person pseudonym."""
    return pl.DataFrame(
        [
            {
                **{c: None for c in DETAIL},
                "failure_id": f,
                "record_key": key,
                "table": "students",
                "source_system": "student_admin",
                "rule_id": "students.sex.code",
                "source_line": 2,
                "masked_value": "***@example.fi",
                "person_key": "p" * 32,
            }
            for f, key in failures
        ],
        schema={"failure_id": pl.Utf8, **{c: pl.Utf8 for c in DETAIL}, "source_line": pl.Int64},
    )


def test_a_resolved_failure_keeps_its_counts_but_not_what_names_someone_after_the_retention_period(tmp_path):
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    record_run(tmp_path, _quarantine(("f1", "1001"), ("f2", "1002")), {"students"}, "r1", D(2026, 1, 10), now, 180)
    record_run(tmp_path, _quarantine(("f2", "1002")), {"students"}, "r2", D(2026, 2, 1), now, 180)  # f1 resolved
    history, _ = record_run(tmp_path, _quarantine(("f2", "1002")), {"students"}, "r3", D(2026, 7, 30), now, 180)
    f1 = history.filter(pl.col("failure_id") == "f1").row(0, named=True)
    assert f1["status"] == "resolved" and f1["masked_value"] == "***@example.fi" and f1["record_key"] == "1001"
    history, runs = record_run(tmp_path, _quarantine(("f2", "1002")), {"students"}, "r4", D(2026, 8, 1), now, 180)
    f1 = history.filter(pl.col("failure_id") == "f1").row(0, named=True)
    assert f1["status"] == "resolved" and f1["resolved_on"] == D(2026, 2, 1) and f1["occurrences"] == 1
    assert f1["masked_value"] is None and f1["record_key"] is None and f1["person_key"] is None
    f2 = history.filter(pl.col("failure_id") == "f2").row(0, named=True)  # still open: kept whole
    assert f2["masked_value"] == "***@example.fi" and f2["record_key"] == "1002" and f2["person_key"]
    written = pl.read_parquet(history_path(tmp_path)).filter(pl.col("failure_id") == "f1")
    assert written["masked_value"].is_null().all()
    assert runs.filter(pl.col("run_id") == "r2")["resolved"].sum() == 1  # the counts stay
