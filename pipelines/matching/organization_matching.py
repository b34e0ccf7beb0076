"""Resolve CRM accounts and workplace-learning rows to organisations (the organisation master).

1. Records with the same valid Y-tunnus (normalised by python-stdnum) are one organisation.
2. A steward's ``same`` decision joins the two records it names.
3. Pairs Splink scores at ``match_probability`` or more join, the most probable first
   (:mod:`pipelines.matching.linkage`).

Nothing joins two organisations with different valid Y-tunnus, nor two records a steward
decided are ``different``. Pairs scored in the doubtful band (``review_probability`` up to
``match_probability``) that end up in two organisations are the **review queue**: one pair
per two organisations, for a steward to settle once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.ingestion.ytj import SYSTEM as REFERENCE
from pipelines.matching.decisions import FIELDS, Decision, latest, pair_id, record_key
from pipelines.matching.linkage import MODEL, predict, with_features
from pipelines.matching.names import DEFAULT_COMPANY_FORMS, name_parts, place_stem
from schemas.crm import is_active
from schemas.identifiers import business_id_normalised

CRM, STUDENT_ADMIN = "crm", "student_admin"
SETTINGS = ("match_probability", "review_probability", "company_forms", "model", "decisions")


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds from the site configuration (``organization_matching`` in site.yaml)."""

    #: a pair scored at least this is one organisation (on the generator's truth at national size, pairs from 0.2 up
    #: were one organisation 99.6 % of the time: the model's probabilities are cautious, see organization_master.md)
    match_probability: float = 0.2
    #: a pair scored from this up to ``match_probability`` goes to the review queue
    review_probability: float = 0.05
    company_forms: tuple[str, ...] = DEFAULT_COMPANY_FORMS
    model: Path = field(default=MODEL)

    @classmethod
    def from_config(cls, config: dict | None, folder: Path | None = None) -> MatchSettings:
        """``folder``: where a model file named in the configuration is (the site configuration's folder)."""
        config = config or {}
        unknown = set(config) - set(SETTINGS)
        if unknown:
            raise ValueError(f"organization_matching: unknown setting(s) {sorted(unknown)}")
        match = float(config.get("match_probability", cls.match_probability))
        review = float(config.get("review_probability", cls.review_probability))
        if not 0 < review <= match < 1:
            raise ValueError(
                "organization_matching: review_probability and match_probability must be 0 < review_probability "
                f"≤ match_probability < 1, not {review} and {match}"
            )
        forms = tuple(str(f).lower() for f in config.get("company_forms", DEFAULT_COMPANY_FORMS))
        model = (folder or Path.cwd()) / config["model"] if config.get("model") else MODEL
        return cls(match, review, forms, model)


def source_records(
    accounts: pl.DataFrame, workplaces: pl.DataFrame, settings: MatchSettings, reference: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One record per CRM account and per distinct (workplace name, Y-tunnus) of workplace-learning rows; with
    ``reference`` (PRH's companies, :func:`pipelines.ingestion.ytj.read_ytj`), one per company name that could be one
    of ours (it shares a Y-tunnus body, a core name or a blocking key with one of ours, or is another name of such a
    company); each with the columns Splink compares (:func:`pipelines.matching.linkage.with_features`)."""
    digits = pl.col("business_id").str.replace_all(r"\D", "")
    typed_digits = pl.when(digits.str.len_chars() == 8).then(digits)
    crm = accounts.select(
        pl.lit(CRM).alias("source_system"),
        pl.col("account_id").alias("source_id"),
        pl.col("name").alias("source_name"),
        business_id_normalised("business_id").alias("business_id"),
        typed_digits.alias("business_id_digits"),
        pl.col("city").alias("city_name"),
        pl.col("postal_code") if "postal_code" in accounts.columns else pl.lit(None, pl.Utf8).alias("postal_code"),
        pl.col("state"),
        pl.col("modified_on"),
        pl.col("industry_code"),
        pl.col("employees"),
        pl.col("customer_type"),
        pl.lit(0, pl.UInt32).alias("rows"),
    )
    sa = (
        workplaces.select("workplace_name", typed_digits.alias("digits"), business_id_normalised("business_id"))
        .group_by("workplace_name", "business_id")
        .agg(pl.len().cast(pl.UInt32).alias("rows"), pl.col("digits").drop_nulls().min().alias("business_id_digits"))
        .select(
            pl.lit(STUDENT_ADMIN).alias("source_system"),
            pl.col("workplace_name").alias("source_id"),
            pl.col("workplace_name").alias("source_name"),
            "business_id",
            "business_id_digits",
            "rows",
        )
    )
    ytj = (
        reference.select(
            pl.lit(REFERENCE).alias("source_system"),
            pl.concat_str("business_id", "name", separator=" ").alias("source_id"),
            pl.col("name").alias("source_name"),
            "business_id",
            pl.col("business_id").str.replace("-", "").alias("business_id_digits"),
            pl.col("city").alias("city_name"),
            "postal_code",
            "industry_code",
            "name_kind",
            pl.lit(0, pl.UInt32).alias("rows"),
        )
        if reference is not None
        else None
    )
    records = pl.concat([crm, sa, *([ytj] if ytj is not None else [])], how="diagonal_relaxed")
    # (each spelling split once)
    names = name_parts(records["source_name"].unique(), settings.company_forms).rename({"name": "source_name"})
    records = (
        records.join(names, on="source_name", how="left")
        .with_columns(
            pl.col("unit").is_not_null().alias("is_unit"),
            pl.concat_list(place_stem(pl.col("city_name")), "place")
            .list.drop_nulls()
            .list.unique()
            .list.sort()
            .alias("places"),
            pl.coalesce(pl.col("city_name"), pl.col("unit").str.to_titlecase()).alias("city_name"),
            pl.col("postal_code").str.strip_chars(),
        )
        .drop("unit", "place")
    )
    if ytj is None:
        records = records.with_columns(pl.lit(None, pl.Utf8).alias("name_kind"))
    records = with_features(records, REFERENCE if ytj is not None else None)
    return records.sort("source_system", "source_id", "business_id", nulls_last=True).with_row_index("record")


class _Organisations:
    """Union-find over records that refuses to join two different valid Y-tunnus or two records decided apart."""

    def __init__(self, business_ids: list[str | None], apart: set[frozenset[int]]):
        self.parent = list(range(len(business_ids)))
        self.business_id = list(business_ids)
        self.apart: dict[int, set[int]] = {}
        for a, b in (tuple(p) for p in apart):
            self.apart.setdefault(a, set()).add(b)
            self.apart.setdefault(b, set()).add(a)
        #: per organisation, its records that a decision keeps apart from another (few: only they need checking)
        self.decided: dict[int, set[int]] = {r: {r} for r in self.apart}

    def root(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int, by_business_id: bool = False) -> bool:
        """Join the organisations of ``a`` and ``b`` unless they hold two valid Y-tunnus or, except when the two
        share a Y-tunnus (``by_business_id``: a register's key outweighs a decision), records decided apart."""
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return True
        if self.business_id[ra] and self.business_id[rb] and self.business_id[ra] != self.business_id[rb]:
            return False
        if not by_business_id and any(self.root(y) == rb for x in self.decided.get(ra, ()) for y in self.apart[x]):
            return False
        ra, rb = min(ra, rb), max(ra, rb)
        self.parent[rb] = ra
        self.business_id[ra] = self.business_id[ra] or self.business_id[rb]
        if rb in self.decided:
            self.decided.setdefault(ra, set()).update(self.decided.pop(rb))
        return True


@dataclass(frozen=True)
class Resolution:
    """Every record with its organisation, the review queue, and what became of the steward's decisions."""

    records: pl.DataFrame
    review: pl.DataFrame
    #: each decision in force: applied, or why not (its records are not in this export; a Y-tunnus or another
    #: decision stands against it)
    decisions: pl.DataFrame


def _keys(records: pl.DataFrame) -> dict[tuple[str, str, str], int]:
    return {
        record_key(s, i, b): r
        for r, s, i, b in records.select("record", "source_system", "source_id", "business_id").iter_rows()
    }


def resolve(
    records: pl.DataFrame, settings: MatchSettings, decisions: list[Decision] = (), pairs: pl.DataFrame | None = None
) -> Resolution:
    """Every record with its organisation (the lowest record number in it), match method and probability."""
    if pairs is None:
        pairs = predict(records, settings.model, settings.review_probability)
    keys = _keys(records)
    in_force = latest(list(decisions))
    named = {pair: (keys.get(d.a), keys.get(d.b)) for pair, d in in_force.items()}
    apart = {frozenset(ids) for pair, ids in named.items() if None not in ids and not in_force[pair].same}
    orgs = _Organisations(records["business_id"].to_list(), apart)
    method: dict[int, str] = {}
    probability: dict[int, float] = {}

    def joined(a: int, b: int, how: str, p: float) -> bool:
        if not orgs.join(a, b):
            return False
        for r in (a, b):  # (a record keeps its most certain way in: Y-tunnus, a decision, its best pair)
            if method.get(r) not in ("business_id", "steward") and probability.get(r, -1.0) < p:
                method[r], probability[r] = how, p
        return True

    for group in records.filter(pl.col("business_id").is_not_null()).group_by("business_id").agg("record")["record"]:
        for r in group:
            method[r], probability[r] = "business_id", 1.0
            orgs.join(group[0], r, by_business_id=True)
    outcome = {}
    for pair, (a, b) in named.items():
        if a is None or b is None:
            outcome[pair] = "not_in_export"
        elif in_force[pair].same:
            outcome[pair] = "applied" if joined(a, b, "steward", 1.0) else "refused"
    strong = pairs.filter(pl.col("match_probability") >= settings.match_probability)
    torn = _torn(records, strong)
    strong = strong.filter(~pl.col("record_l").is_in(torn) & ~pl.col("record_r").is_in(torn)).sort(
        "match_probability", "record_l", "record_r", descending=[True, False, False]
    )
    for a, b, p in strong.select("record_l", "record_r", "match_probability").iter_rows():
        joined(a, b, "probabilistic", p)

    for pair, (a, b) in named.items():  # (two records one Y-tunnus joins stay together whatever a decision says)
        if not in_force[pair].same and a is not None and b is not None:
            outcome[pair] = "refused" if orgs.root(a) == orgs.root(b) else "applied"
    roots = [orgs.root(r) for r in records["record"].to_list()]
    resolved = records.with_columns(
        pl.Series("organization", roots, dtype=pl.UInt32),
        pl.col("record").replace_strict(method, default="unmatched", return_dtype=pl.Utf8).alias("match_method"),
        pl.col("record").replace_strict(probability, default=None, return_dtype=pl.Float64).alias("match_probability"),
    )
    decided = {frozenset(ids) for ids in named.values() if None not in ids}
    return Resolution(resolved, _review(resolved, pairs, decided, settings), _decision_outcomes(in_force, outcome))


def _torn(records: pl.DataFrame, strong: pl.DataFrame) -> list[int]:
    """Records without a valid Y-tunnus that fit two organisations with different Y-tunnus equally well: which one
    they belong to is a steward's question, not the order the pairs come in."""
    ids = records.select("record", "business_id")
    both_ways = pl.concat(
        [
            strong.select(pl.col("record_l").alias("record"), pl.col("record_r").alias("other"), "match_probability"),
            strong.select(pl.col("record_r").alias("record"), pl.col("record_l").alias("other"), "match_probability"),
        ]
    )
    candidates = (
        both_ways.join(ids, on="record")
        .filter(pl.col("business_id").is_null())
        .drop("business_id")
        .join(ids.rename({"record": "other"}), on="other")
        .filter(pl.col("business_id").is_not_null())
        .group_by("record", "business_id")
        .agg(pl.col("match_probability").max())
    )
    best = candidates.with_columns(pl.col("match_probability").max().over("record").alias("best"))
    tied = best.filter(pl.col("match_probability") == pl.col("best")).group_by("record").len()
    return tied.filter(pl.col("len") > 1)["record"].sort().to_list()


def _review(
    resolved: pl.DataFrame, pairs: pl.DataFrame, decided: set[frozenset[int]], settings: MatchSettings
) -> pl.DataFrame:
    """Pairs scored at least ``review_probability`` whose records were left in two organisations that could be one
    (not both with a valid Y-tunnus) and that no decision settles: the best pair per two organisations. Below
    ``match_probability`` they are the doubtful band; above it, records torn between two Y-tunnus."""
    org = resolved.select(
        "record", "organization", pl.col("business_id").drop_nulls().first().over("organization").alias("business_id")
    )
    doubtful = (
        pairs.filter(pl.col("match_probability") >= settings.review_probability)
        .join(
            org.rename({c: f"{c}_l" for c in ("organization", "business_id")} | {"record": "record_l"}), on="record_l"
        )
        .join(
            org.rename({c: f"{c}_r" for c in ("organization", "business_id")} | {"record": "record_r"}), on="record_r"
        )
        .filter(pl.col("organization_l") != pl.col("organization_r"))
        .filter(pl.col("business_id_l").is_null() | pl.col("business_id_r").is_null())
        .drop("business_id_l", "business_id_r")
    )
    if decided:
        settled = pl.DataFrame([sorted(p) for p in decided], schema=["low", "high"], orient="row").cast(pl.UInt32)
        doubtful = doubtful.join(
            settled,
            left_on=[pl.min_horizontal("record_l", "record_r"), pl.max_horizontal("record_l", "record_r")],
            right_on=["low", "high"],
            how="anti",
        )
    best = (
        doubtful.with_columns(
            pl.min_horizontal("organization_l", "organization_r").alias("org_a"),
            pl.max_horizontal("organization_l", "organization_r").alias("org_b"),
        )
        .sort("match_probability", "record_l", "record_r", descending=[True, False, False])
        .unique(["org_a", "org_b"], keep="first", maintain_order=True)
    )
    side = ["record", "source_system", "source_id", "source_name", "business_id", "city_name", "organization"]
    out = best.join(resolved.select(side).rename({c: f"{c}_a" for c in side} | {"record": "record_l"}), on="record_l")
    out = out.join(resolved.select(side).rename({c: f"{c}_b" for c in side} | {"record": "record_r"}), on="record_r")
    ids = [
        pair_id(record_key(sa, ia, ba), record_key(sb, ib, bb))
        for sa, ia, ba, sb, ib, bb in out.select(
            "source_system_a", "source_id_a", "business_id_a", "source_system_b", "source_id_b", "business_id_b"
        ).iter_rows()
    ]
    return out.with_columns(pl.Series("pair_id", ids, dtype=pl.Utf8)).drop("org_a", "org_b", "organization_l",
                                                                           "organization_r")  # fmt: skip


def _decision_outcomes(in_force: dict, outcome: dict) -> pl.DataFrame:
    schema = {f: pl.Utf8 for f in FIELDS} | {"line": pl.Int64, "outcome": pl.Utf8}
    rows = [{**d.row(), "line": d.line, "outcome": outcome[pair]} for pair, d in in_force.items()]
    return pl.DataFrame(rows, schema=schema)


def survivors(resolved: pl.DataFrame) -> pl.DataFrame:
    """One row per organisation, each attribute from the most trusted record that has it.

    Trust order: an active CRM account, most recently modified first; then inactive accounts
    the same way; then the company name in PRH's register (YTJ), where the site supplies it; then
    the workplace-learning spelling used on most rows (ties: alphabetical); then YTJ's parallel
    and auxiliary names.
    """
    ranked = resolved.with_columns(
        pl.when(pl.col("source_system") == CRM)
        .then(pl.when(is_active(pl.col("state"))).then(0).otherwise(1))
        .when((pl.col("source_system") == REFERENCE) & (pl.col("name_kind") == "name"))
        .then(2)
        .when(pl.col("source_system") == STUDENT_ADMIN)
        .then(3)
        .otherwise(4)
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
