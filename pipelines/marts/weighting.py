"""Cost-group weighting (decree 1244/2020 §2): a separate table; the unweighted fact is only read."""

from __future__ import annotations

import polars as pl

from pipelines.publishing.star import conform


def weighted_student_years(month_fact: pl.DataFrame, qualifications: pl.DataFrame, config: dict | None) -> pl.DataFrame:
    """Rows of ``month_fact`` whose qualification has a configured cost group, with weight and weighted
    student-years."""
    config = config or {}
    groups = pl.DataFrame(
        [
            {"koulutus_code": str(code), "cost_group": str(group)}
            for code, group in (config.get("qualifications") or {}).items()
        ],
        schema={"koulutus_code": pl.Utf8, "cost_group": pl.Utf8},
    )
    weights = pl.DataFrame(
        [{"cost_group": str(g), "weight": float(w)} for g, w in (config.get("weights") or {}).items()],
        schema={"cost_group": pl.Utf8, "weight": pl.Float64},
    )
    unknown = groups.join(weights, on="cost_group", how="anti")
    if unknown.height:
        raise ValueError(f"cost-group configuration: group(s) {sorted(set(unknown['cost_group']))} have no weight")
    in_order = {"maintain_order": "left"}  # the monthly fact's order (study right, month, funding code): no re-sort
    frame = (
        month_fact.lazy()
        .join(qualifications.lazy().select("qualification_key", "koulutus_code"), on="qualification_key", **in_order)
        .join(groups.lazy(), on="koulutus_code", **in_order)
        .join(weights.lazy(), on="cost_group", **in_order)
        .with_columns((pl.col("student_years_current") * pl.col("weight")).alias("weighted_student_years_current"))
    )
    return conform(frame.collect(), "fact_weighted_student_year_month")
