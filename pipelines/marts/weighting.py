"""Cost-group weighting (decree 1244/2020 §2): a separate table; the unweighted fact is only read."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from pipelines.files import ROW_GROUP_ROWS
from pipelines.publishing.star import conform
from pipelines.site import Site

#: rows weighted at a time: two row groups, so the parts make the same file as the whole table would; the whole,
#: with its copies for labels and Arrow, was the national run's peak memory
PART_ROWS = 2 * ROW_GROUP_ROWS


def fact_weighted_student_year_month(
    fact_student_year_month: pl.DataFrame, dim_qualification: pl.DataFrame, site: Site
) -> Iterator[pl.DataFrame]:
    """Rows of the monthly fact whose qualification has a cost group in the site configuration, with weight and
    weighted student-years; in parts of the monthly fact's rows, in its order."""
    config = site.cost_groups or {}
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
    qualifications = dim_qualification.lazy().select("qualification_key", "koulutus_code")
    rest, handed_on = None, False  # (weighted rows not yet handed on: parts of PART_ROWS rows, the last shorter)
    for start in range(0, max(fact_student_year_month.height, 1), PART_ROWS):
        frame = (  # (the monthly fact's rows, in its order: the same key, so already in the weighted fact's order)
            fact_student_year_month.slice(start, PART_ROWS)
            .lazy()
            .join(qualifications, on="qualification_key", maintain_order="left")
            .join(groups.lazy(), on="koulutus_code", maintain_order="left")
            .join(weights.lazy(), on="cost_group", maintain_order="left")
            .with_columns((pl.col("student_years_current") * pl.col("weight")).alias("weighted_student_years_current"))
        )
        weighted = conform(frame.collect(), "fact_weighted_student_year_month", in_key_order=True)
        rest = weighted if rest is None else pl.concat([rest, weighted])
        while rest.height >= PART_ROWS:
            yield rest.head(PART_ROWS)
            rest, handed_on = rest.slice(PART_ROWS), True
    if rest.height or not handed_on:
        yield rest  # (the last part; a table with no rows is one empty part)
