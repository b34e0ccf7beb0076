"""The published label columns filled in: each ``<code>_label`` a table declares gets the Finnish name of its code."""

from __future__ import annotations

import polars as pl

from schemas.code_labels import LABELS, label_column
from schemas.metadata import Table


def labelled(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """``frame`` with each label column ``table`` declares named from its code column (empty for a code the list
    does not name): always from the code, whatever a builder put there."""
    return frame.with_columns(
        pl.col(code).cast(pl.Utf8).replace_strict(LABELS[code], default=None, return_dtype=pl.Utf8).alias(label)
        for code in LABELS
        if (label := label_column(code)) in table.names and code in frame.columns
    )
