"""Probabilistic record linkage of organisation records with Splink (Fellegi–Sunter on DuckDB).

Each pair of records that shares a blocking key is compared on four things, each in levels
from the most telling to none (the levels' words are what a steward sees as "why"):

- **Y-tunnus**: the same valid one; nearly the same (a wrong or mistyped check digit, one
  digit off); different; unknown on either side;
- **name** (the core name of :mod:`pipelines.matching.names`): the same; the same words in
  another order; each word at most one typo off (the first letter too); similar as a whole
  (Jaro-Winkler); one name's words all in the other; different;
- **place**: a place in common (a registered city, or the place a unit's name gives); places
  that differ where one record is a unit (a branch may sit in another town than its head
  office); different registered places; unknown;
- **postcode**: the same; different; unknown.

The m and u probabilities are a Splink model file (``organization_model.json``) trained by
``benchmarks/train_organization_model.py`` with Splink's own estimators: u from random pairs,
m from the pairs the data itself proves (records sharing a valid Y-tunnus) and, for the
Y-tunnus comparison, expectation maximisation on pairs with the same name. A site may train
its own on its own data and name it in ``organization_matching.model``.

Blocking keeps national size (47k records) in seconds: pairs share a Y-tunnus body, the same
core name, or a distinctive word or the word without its first letter (so a typo in the
first letter still meets); words shared by more than ``MAX_KEY_RECORDS`` records are not keys.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb
import polars as pl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

MODEL = Path(__file__).with_name("organization_model.json")
#: a word alone on more records than this is too common to be a blocking key (``rakennus``, ``virtanen``)
MAX_KEY_RECORDS = 60

#: (output column, [(SQL condition, label)]) in order; the null level first, the else level last
COMPARISONS: dict[str, list[tuple[str, str]]] = {
    "business_id": [
        ("business_id_digits_l IS NULL OR business_id_digits_r IS NULL", "unknown"),
        ("business_id_l = business_id_r", "same"),
        (
            "substr(business_id_digits_l, 1, 7) = substr(business_id_digits_r, 1, 7) "
            "OR damerau_levenshtein(business_id_digits_l, business_id_digits_r) <= 1",
            "nearly the same",
        ),
        ("ELSE", "different"),
    ],
    "name": [
        ("core_l IS NULL OR core_r IS NULL OR core_l = '' OR core_r = ''", "unknown"),
        ("core_l = core_r", "same"),
        ("name_sorted_l = name_sorted_r", "same words"),
        (
            "len(tokens_l) = len(tokens_r) AND len(sorted_tokens_l) = len(sorted_tokens_r) AND "
            "(list_max(list_transform(range(1, len(tokens_l) + 1), "
            "lambda i: damerau_levenshtein(tokens_l[i], tokens_r[i]))) <= 1 OR "
            "list_max(list_transform(range(1, len(tokens_l) + 1), "
            "lambda i: damerau_levenshtein(sorted_tokens_l[i], sorted_tokens_r[i]))) <= 1)",
            "one typo per word",
        ),
        ("jaro_winkler_similarity(name_sorted_l, name_sorted_r) >= 0.92", "similar"),
        ("list_has_all(tokens_l, tokens_r) OR list_has_all(tokens_r, tokens_l)", "one within the other"),
        ("ELSE", "different"),
    ],
    "place": [
        ("len(places_l) = 0 OR len(places_r) = 0", "unknown"),
        ("list_has_any(places_l, places_r)", "same"),
        ("is_unit_l OR is_unit_r", "differs, one is a unit"),
        ("ELSE", "different"),
    ],
    "postal_code": [
        ("postal_code_l IS NULL OR postal_code_r IS NULL", "unknown"),
        ("postal_code_l = postal_code_r", "same"),
        ("ELSE", "different"),
    ],
}
#: the level labels in Finnish, for the steward's review list
LABELS_FI = {
    "business_id": "Y-tunnus",
    "name": "nimi",
    "place": "paikkakunta",
    "postal_code": "postinumero",
    "unknown": "ei tiedossa",
    "same": "sama",
    "nearly the same": "lähes sama (tarkiste tai yksi numero eri)",
    "different": "eri",
    "same words": "samat sanat eri järjestyksessä",
    "one typo per word": "kirjoitusvirhe",
    "similar": "samankaltainen",
    "one within the other": "toinen sisältyy toiseen",
    "differs, one is a unit": "eri, toinen on toimipiste",
}
COLUMNS = (
    "record", "core", "name_sorted", "tokens", "sorted_tokens", "block_keys", "business_id", "business_id_digits",
    "places", "is_unit", "postal_code",
)  # fmt: skip


def _settings() -> dict:
    """The model's settings without trained parameters."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "record",
        "probability_two_random_records_match": 1e-4,
        "comparisons": [
            {
                "output_column_name": name,
                "comparison_levels": [
                    {
                        "sql_condition": condition,
                        "label_for_charts": label,
                        **({"is_null_level": True} if i == 0 else {}),
                    }
                    for i, (condition, label) in enumerate(levels)
                ],
            }
            for name, levels in COMPARISONS.items()
        ],
        "blocking_rules_to_generate_predictions": [
            block_on("substr(business_id_digits, 1, 7)"),
            block_on("core"),
            block_on("block_keys", arrays_to_explode=["block_keys"]),
        ],
        "retain_intermediate_calculation_columns": False,
        "retain_matching_columns": False,
        "additional_columns_to_retain": [],
    }


def with_features(records: pl.DataFrame, reference: str | None = None) -> pl.DataFrame:
    """``records`` with the columns the comparisons and blocking read beside ``core``, ``business_id`` (valid, or
    null), ``business_id_digits`` (the 8 digits as typed), ``places`` (stems), ``is_unit`` and ``postal_code``; the
    records of the ``reference`` system (PRH's register) only where they could be one of ours."""
    frame = records.with_row_index("_row")
    frame = frame.with_columns(
        pl.col("core").str.split(" ").list.eval(pl.element().filter(pl.element() != "")).alias("tokens")
    ).with_columns(
        pl.col("tokens").list.sort().alias("sorted_tokens"),
        pl.col("tokens").list.sort().list.join(" ").alias("name_sorted"),
    )
    words = frame.select("_row", pl.col("tokens").alias("word")).explode("word").drop_nulls().with_row_index("i")
    others = (
        words.join(words, on="_row", suffix="_other")
        .filter(pl.col("i") != pl.col("i_other"))
        .group_by("i")
        .agg(pl.col("word_other").sort().str.join(" ").alias("others"))
    )
    words = words.join(others, on="i", how="left").with_columns(pl.col("others").fill_null(""))
    keys = pl.concat(
        [
            # the word without its first letter beside the other words: one typo anywhere still meets
            words.select("_row", (pl.col("word").str.slice(1) + "|" + pl.col("others")).alias("key")),
            # a rare word alone: a name within another (``anna korhonen`` in ``anna korhonen kuljetus``)
            words.filter(pl.col("word").str.len_chars() >= 4)
            .select("_row", pl.col("word").alias("key"))
            .unique()
            .filter(pl.len().over("key") <= MAX_KEY_RECORDS),
        ]
    ).unique()
    keys = keys.group_by("_row").agg(pl.col("key").sort())
    frame = frame.join(keys.rename({"key": "block_keys"}), on="_row", how="left", maintain_order="left")
    frame = frame.with_columns(pl.col("block_keys").fill_null(pl.lit([], pl.List(pl.Utf8))))
    if reference is not None:
        frame = frame.filter(_could_be_ours(frame, frame["source_system"] == reference))
    return frame.drop("_row")


def _could_be_ours(frame: pl.DataFrame, is_reference: pl.Series) -> pl.Series:
    """Whether each record is one of ours, or a reference record that shares a Y-tunnus body, a core name or a
    blocking key with one of ours, or is another name of such a company: the only reference records worth scoring."""
    frame = frame.with_columns(
        is_reference.alias("is_reference"), pl.col("business_id_digits").str.slice(0, 7).alias("body")
    )
    keys = pl.concat(
        [
            frame.select("_row", "is_reference", pl.col("body").alias("key")),
            frame.select("_row", "is_reference", ("=" + pl.col("core")).alias("key")),
            frame.select("_row", "is_reference", pl.col("block_keys").alias("key")).explode("key"),
        ]
    ).drop_nulls("key")
    ours = keys.filter(~pl.col("is_reference")).select("key").unique()
    near = keys.filter(pl.col("is_reference")).join(ours, on="key", how="semi")["_row"].unique()
    companies = frame.filter(pl.col("_row").is_in(near.implode()))["body"].drop_nulls().unique()
    return (~frame["is_reference"]) | frame["_row"].is_in(near.implode()) | frame["body"].is_in(companies.implode())


def _linker(frame: pl.DataFrame, settings: dict | Path) -> Linker:
    connection = duckdb.connect()
    db_api = DuckDBAPI(connection=connection)
    return Linker(db_api.register(frame.to_arrow(), dataset_display_name="organisations"), settings, log_level=None)


def predict(records: pl.DataFrame, model: Path = MODEL, threshold: float = 0.01) -> pl.DataFrame:
    """Scored pairs (``record_l`` < ``record_r``, ``match_probability``, the level label of each comparison) with a
    probability of at least ``threshold`` (``records`` numbered by ``record``, with :func:`with_features`)."""
    frame = records.select(COLUMNS)
    if frame.height < 2:
        return _empty_pairs()
    linker = _linker(frame, _model(model))
    pairs = linker.inference.predict(threshold_match_probability=threshold).as_duckdbpyrelation().pl()
    labels = {name: [label for _, label in levels] for name, levels in COMPARISONS.items()}
    out = pairs.select(
        pl.col("record_l").cast(pl.UInt32),
        pl.col("record_r").cast(pl.UInt32),
        pl.col("match_probability").round(6),
        *(
            # gamma: -1 the null level, else the levels counted from the last (0 = the else level)
            pl.col(f"gamma_{name}")
            .replace_strict({-1: levels[0]} | {len(levels) - 1 - i: levels[i] for i in range(1, len(levels))})
            .alias(name)
            for name, levels in labels.items()
        ),
    )
    return out.sort("record_l", "record_r")


def _empty_pairs() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"record_l": pl.UInt32, "record_r": pl.UInt32, "match_probability": pl.Float64}
        | {name: pl.Utf8 for name in COMPARISONS}
    )


def _model(path: Path) -> dict:
    """The trained model, refused when its comparisons are not this code's (a model trained on other levels)."""
    model = json.loads(Path(path).read_text(encoding="utf-8"))
    trained = {
        c["output_column_name"]: [lvl["sql_condition"] for lvl in c["comparison_levels"]] for c in model["comparisons"]
    }
    expected = {name: [condition for condition, _ in levels] for name, levels in COMPARISONS.items()}
    if trained != expected:
        raise ValueError(f"{path}: the model was trained on other comparisons than this version's; train it again")
    return model | {"retain_matching_columns": True}  # (each comparison's level: the "why")


#: m probabilities of the Y-tunnus levels, set rather than estimated: the labels that train the other comparisons are
#: the pairs sharing a valid Y-tunnus, so they cannot tell how often one organisation's records disagree on it
BUSINESS_ID_M = {"same": 0.90, "nearly the same": 0.05, "different": 0.05}
#: m of a level no labelled pair reached, u of one no random pair reached (evidence taken as weak, never as absent)
UNSEEN_M, UNSEEN_U = 0.002, 1e-6


def train(records: pl.DataFrame, out: Path, seed: int = 1) -> dict:
    """Estimate the model's parameters on ``records`` with Splink's estimators and write it to ``out``: the chance
    that two random records match from deterministic rules, u from random pairs, m from the pairs that share a valid
    Y-tunnus (the data's own proof), ``BUSINESS_ID_M`` for the Y-tunnus levels."""
    logging.getLogger("splink").setLevel(logging.WARNING)
    linker = _linker(with_features(records).select(COLUMNS), SettingsCreator.from_path_or_dict(_settings()))
    linker.training.estimate_probability_two_random_records_match(
        [block_on("business_id"), block_on("core", "postal_code")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    linker.training.estimate_m_from_label_column("business_id")
    model = linker.misc.save_model_to_json(str(out), overwrite=True)
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            if comparison["output_column_name"] == "business_id":
                level["m_probability"] = BUSINESS_ID_M[level["label_for_charts"]]
            elif not level.get("m_probability"):
                level["m_probability"] = UNSEEN_M
        levels = [lvl for lvl in comparison["comparison_levels"] if not lvl.get("is_null_level")]
        total = sum(lvl["m_probability"] for lvl in levels)
        for lvl in levels:
            lvl["m_probability"] = round(lvl["m_probability"] / total, 8)
            lvl["u_probability"] = round(lvl.get("u_probability") or UNSEEN_U, 10)
    out.write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return model
