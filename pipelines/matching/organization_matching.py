"""Resolve CRM accounts and workplace-learning rows to organisations (the organisation master).

Two records are the same organisation when
1. they carry the same valid Y-tunnus (normalised by python-stdnum; a wrong check digit is
   never a match key), or
2. one has no valid Y-tunnus and its comparable name (:mod:`pipelines.matching.names`) is at
   least ``name_threshold`` similar to the other's (rapidfuzz ``token_sort_ratio`` of the
   names, and ``ratio`` of their least similar pair of words: the surname matters), and
   their cities do not disagree. Such a record joins the best-scoring organisation; when two
   organisations with different Y-tunnus tie for it, it is left on its own (ambiguous).
   Two records without Y-tunnus join on the same comparable name, or on a similar one in
   the same city.

Two organisations with different valid Y-tunnus are never merged, whatever their names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from pipelines.matching.names import DEFAULT_COMPANY_FORMS, city_hint, comparable_name
from schemas.crm import is_active
from schemas.identifiers import business_id_normalised

CRM, STUDENT_ADMIN = "crm", "student_admin"


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds from the site configuration (``organization_matching`` in site.yaml)."""

    name_threshold: float = 90.0
    company_forms: tuple[str, ...] = DEFAULT_COMPANY_FORMS

    @classmethod
    def from_config(cls, config: dict | None) -> MatchSettings:
        config = config or {}
        unknown = set(config) - {"name_threshold", "company_forms"}
        if unknown:
            raise ValueError(f"organization_matching: unknown setting(s) {sorted(unknown)}")
        threshold = float(config.get("name_threshold", cls.name_threshold))
        if not 50 <= threshold <= 100:
            raise ValueError(f"organization_matching.name_threshold must be 50–100, not {threshold}")
        forms = tuple(str(f).lower() for f in config.get("company_forms", DEFAULT_COMPANY_FORMS))
        return cls(threshold, forms)


def source_records(accounts: pl.DataFrame, workplaces: pl.DataFrame, settings: MatchSettings) -> pl.DataFrame:
    """One record per CRM account and per distinct (workplace name, Y-tunnus) of workplace-learning rows."""
    crm = accounts.select(
        pl.lit(CRM).alias("source_system"),
        pl.col("account_id").alias("source_id"),
        pl.col("name").alias("source_name"),
        business_id_normalised("business_id").alias("business_id"),
        pl.col("city").str.to_lowercase().alias("city"),
        pl.col("city").alias("city_name"),
        pl.col("state"),
        pl.col("modified_on"),
        pl.col("industry_code"),
        pl.col("employees"),
        pl.col("customer_type"),
        pl.lit(0, pl.UInt32).alias("rows"),
    )
    typed = workplaces.select("workplace_name", business_id_normalised("business_id").alias("business_id"))
    sa = (
        typed.group_by("workplace_name", "business_id")
        .len("rows")
        .with_columns(city_hint(pl.col("workplace_name")).alias("city"))
        .select(
            pl.lit(STUDENT_ADMIN).alias("source_system"),
            pl.col("workplace_name").alias("source_id"),
            pl.col("workplace_name").alias("source_name"),
            "business_id",
            "city",
            pl.col("city").str.to_titlecase().alias("city_name"),
            "rows",
        )
    )
    records = pl.concat([crm, sa], how="diagonal_relaxed").with_columns(
        comparable_name(pl.col("source_name"), settings.company_forms).alias("match_name")
    )
    return records.sort("source_system", "source_id", "business_id", nulls_last=True).with_row_index("record")


class _Organisations:
    """Union-find over records that refuses to join two different valid Y-tunnus."""

    def __init__(self, business_ids: list[str | None]):
        self.parent = list(range(len(business_ids)))
        self.business_id = list(business_ids)

    def root(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> bool:
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return True
        if self.business_id[ra] and self.business_id[rb] and self.business_id[ra] != self.business_id[rb]:
            return False
        ra, rb = min(ra, rb), max(ra, rb)
        self.parent[rb] = ra
        self.business_id[ra] = self.business_id[ra] or self.business_id[rb]
        return True


def _similar_names(records: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """(name of a record without Y-tunnus, any name, score) with score ≥ threshold; blocked by first letter."""
    names = (
        records.select("match_name", has_id=pl.col("business_id").is_not_null())
        .group_by("match_name")
        .agg(pl.col("has_id").all().alias("all_have_id"))
        .filter(pl.col("match_name") != "")
    )
    names = names.with_columns(
        pl.col("match_name").str.split(" ").list.sort().list.join(" ").str.slice(0, 1).alias("block")
    )
    pairs = []
    for _, group in names.sort("match_name").group_by("block", maintain_order=True):
        choices = group["match_name"].to_list()
        queries = group.filter(~pl.col("all_have_id"))["match_name"].to_list()
        if not queries:
            continue
        scores = process.cdist(
            queries, choices, scorer=fuzz.token_sort_ratio, score_cutoff=threshold, dtype=np.uint8, workers=1
        )
        q, c = np.nonzero(scores)
        found = [
            (queries[i], choices[j], min(float(scores[i, j]), _weakest_word(queries[i], choices[j])))
            for i, j in zip(q.tolist(), c.tolist())
        ]
        pairs.append(
            pl.DataFrame(
                found, schema={"query": pl.Utf8, "match_name": pl.Utf8, "score": pl.Float64}, orient="row"
            ).filter(pl.col("score") >= threshold)
        )
    return (
        pl.concat(pairs)
        if pairs
        else pl.DataFrame(schema={"query": pl.Utf8, "match_name": pl.Utf8, "score": pl.Float64})
    )


def _weakest_word(a: str, b: str) -> float:
    """rapidfuzz ratio of the least similar pair of words, the words of each name in sorted order.

    ``karhunen kuljetus`` and ``karttunen kuljetus`` are 91 similar as a whole, but their
    distinctive words only 82: different employers. Names with a different number of words
    are left to the whole-name score.
    """
    words_a, words_b = sorted(a.split()), sorted(b.split())
    if len(words_a) != len(words_b):
        return 100.0
    return min(fuzz.ratio(x, y) for x, y in zip(words_a, words_b))


def resolve(records: pl.DataFrame, settings: MatchSettings) -> pl.DataFrame:
    """Every record with its organisation (the lowest record number in it), match method and score."""
    orgs = _Organisations(records["business_id"].to_list())
    for group in records.filter(pl.col("business_id").is_not_null()).group_by("business_id").agg("record")["record"]:
        for other in group[1:]:
            orgs.join(group[0], other)

    unresolved = records.filter(pl.col("business_id").is_null())
    pairs = _similar_names(records, settings.name_threshold)
    candidates = (
        unresolved.select("record", "match_name", "city")
        .rename({"match_name": "query"})
        .join(pairs, on="query")
        .join(
            records.select(
                pl.col("record").alias("other"),
                "match_name",
                pl.col("city").alias("other_city"),
                pl.col("business_id").alias("other_id"),
            ),
            on="match_name",
        )
        .filter(
            (pl.col("record") != pl.col("other"))
            & (pl.col("city").is_null() | pl.col("other_city").is_null() | (pl.col("city") == pl.col("other_city")))
        )
        .with_columns((pl.col("city") == pl.col("other_city")).fill_null(False).alias("same_city"))
        .sort("record", "score", "same_city", "other", descending=[False, True, True, False])
    )

    method = {r: "business_id" for r in records.filter(pl.col("business_id").is_not_null())["record"].to_list()}
    score: dict[int, float] = {r: 100.0 for r in method}
    for record, other, best_score, same_city in _best_organisation(candidates).iter_rows():
        if orgs.join(record, other):
            method[record], score[record] = ("name_and_city" if same_city else "name"), best_score
    # records without Y-tunnus join each other on the same name, or a similar one in the same city
    twins = candidates.filter(pl.col("other_id").is_null() & ((pl.col("score") == 100) | pl.col("same_city")))
    for record, twin, twin_score, same_city in twins.select("record", "other", "score", "same_city").iter_rows():
        if orgs.join(record, twin) and record not in method:
            method[record], score[record] = ("name_and_city" if same_city else "name"), twin_score

    return records.with_columns(
        pl.Series("organization", [orgs.root(r) for r in records["record"].to_list()], dtype=pl.UInt32),
        pl.col("record").replace_strict(method, default="unmatched", return_dtype=pl.Utf8).alias("match_method"),
        pl.col("record").replace_strict(score, default=None, return_dtype=pl.Float64).alias("match_score"),
    )


def _best_organisation(candidates: pl.DataFrame) -> pl.DataFrame:
    """Per record without Y-tunnus: the best organisation that has one, unless a second one fits equally well."""
    per_org = (
        candidates.filter(pl.col("other_id").is_not_null())
        .group_by("record", "other_id")
        .agg(pl.col("other").min(), pl.col("score").max(), pl.col("same_city").max())
        .sort("record", "score", "same_city", "other_id", descending=[False, True, True, False])
    )
    ranked = per_org.with_columns(pl.int_range(pl.len()).over("record").alias("rank"))
    best, second = ranked.filter(pl.col("rank") == 0), ranked.filter(pl.col("rank") == 1)
    tied = best.join(second, on=["record", "score", "same_city"], how="semi")
    return best.join(tied, on="record", how="anti").select("record", "other", "score", "same_city").sort("record")


def survivors(resolved: pl.DataFrame) -> pl.DataFrame:
    """One row per organisation, each attribute from the most trusted record that has it.

    Trust order: an active CRM account, most recently modified first; then inactive accounts
    the same way; then the workplace-learning spelling used on most rows (ties: alphabetical).
    """
    ranked = resolved.with_columns(
        pl.when(pl.col("source_system") == CRM)
        .then(pl.when(is_active(pl.col("state"))).then(0).otherwise(1))
        .otherwise(2)
        .alias("trust"),
        pl.col("modified_on").fill_null(pl.datetime(1900, 1, 1, time_zone="UTC")).alias("modified_sort"),
    ).sort(
        ["organization", "trust", "modified_sort", "rows", "source_name"], descending=[False, False, True, True, False]
    )
    first = lambda c: pl.col(c).drop_nulls().first().alias(c)  # noqa: E731 - the most trusted non-empty value
    return ranked.group_by("organization", maintain_order=True).agg(
        pl.col("business_id").drop_nulls().mode().sort().first().alias("business_id"),
        pl.col("source_name").first().alias("organization_name"),
        first("industry_code"),
        first("city_name"),
        first("employees"),
        first("customer_type"),
        (pl.col("source_system") == CRM).sum().alias("crm_accounts"),
        (pl.col("source_system") == STUDENT_ADMIN).any().alias("in_student_admin"),
    )
