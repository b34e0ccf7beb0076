"""Match quality against a known truth: precision and recall of same-organisation pairs.

A pair is two source records (bridge rows) that are the same organisation. Precision:
of the pairs we merged, the share that truly are one organisation; recall: of the true
pairs, the share we merged. Counted from the contingency table, never pair by pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

KEY = ["source_system", "source_id", "business_id"]


@dataclass(frozen=True)
class MatchQuality:
    records: int
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def _pairs(sizes: pl.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def match_quality(bridge: pl.DataFrame, truth: pl.DataFrame) -> MatchQuality:
    """``bridge``: source records with ``organization_key``; ``truth``: the same records with ``organization``.

    CRM records are identified by their accountid alone, workplace records by name and Y-tunnus.
    """

    def keyed(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.col("source_system") == "crm").then(None).otherwise(pl.col("business_id")).alias("business_id")
        )

    both = keyed(bridge).join(keyed(truth), on=KEY, nulls_equal=True)
    return MatchQuality(
        records=both.height,
        predicted_pairs=_pairs(both.group_by("organization_key").len()["len"]),
        true_pairs=_pairs(both.group_by("organization").len()["len"]),
        correct_pairs=_pairs(both.group_by("organization_key", "organization").len()["len"]),
    )
