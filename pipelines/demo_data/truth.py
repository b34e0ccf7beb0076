"""The quarantine against the demo generator's truth: every defect it injected found on its line, by its rule, with
its consequence, and nothing found that it did not inject.

The generator writes each defect it injects to ``truth/student_admin/<date>/defects.csv``. A row held back because
its parent is in quarantine follows from another defect and is not injected itself, so it is left out. The end-to-end
tests hold the small demo to this; the benchmark holds the large and national landings to it, where a reader's fault
that only a large file shows would appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from schemas.metadata import LINE

#: what a defect and its failure must agree on
COLUMNS = ["source_file", LINE, "rule_id", "severity", "consequence"]
#: the rule of a row held back with its parent (``<table>.parent_in_quarantine``)
CONSEQUENTIAL = "parent_in_quarantine"


@dataclass(frozen=True)
class DefectsFound:
    injected: int
    #: injected and not in the quarantine as injected (line, rule or consequence)
    missed: pl.DataFrame
    #: in the quarantine and not injected
    unexpected: pl.DataFrame

    @property
    def all_found(self) -> bool:
        return self.missed.is_empty() and self.unexpected.is_empty()


def truth(landing: Path) -> pl.DataFrame:
    """The defects injected into the newest student-administration export of ``landing`` (the one a run reads)."""
    newest = max((landing / "truth" / "student_admin").iterdir())
    return pl.read_csv(newest / "defects.csv", schema_overrides={"record_key": pl.Utf8, LINE: pl.Int64})


def defects_found(landing: Path, warehouse: Path) -> DefectsFound:
    """The student-administration quarantine of ``warehouse`` against the truth of the export it read."""
    quarantine = pl.concat(
        pl.read_parquet(path, columns=["source_system", *COLUMNS])
        for path in sorted((warehouse / "quarantine").glob("*.parquet"))
    )
    got = (
        quarantine.filter(
            (pl.col("source_system") == "student_admin") & ~pl.col("rule_id").str.ends_with(CONSEQUENTIAL)
        )
        .select(COLUMNS)
        .unique()
    )
    expected = truth(landing).select(COLUMNS).unique()
    return DefectsFound(
        injected=expected.height,
        missed=expected.join(got, on=COLUMNS, how="anti").sort(COLUMNS),
        unexpected=got.join(expected, on=COLUMNS, how="anti").sort(COLUMNS),
    )
