"""Reconciling our student-years with KOSKI's own report (``koski-report.md``), column by column.

Our figures are computed for the KOSKI file's own reporting period from the same calculation as
everything else. Rows are matched on our study-right id (KOSKI's "tunniste lähdejärjestelmässä"),
failing that on the study-right OID. Three kinds of difference: a row only in KOSKI, a study right
only in our figures, and a figure that differs; each with the likely cause where the pipeline knows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from pipelines.ingestion.spreadsheet import KoskiReport
from schemas.koski_report import DAY_MEASURES, RECONCILED

RIGHT, OID = "study_right_id", "study_right_oid"
ONLY_IN_KOSKI, ONLY_OURS, FIGURE_DIFFERS = "only_in_koski", "only_ours", "figure_differs"
#: a day figure differs when it differs by more than this (KOSKI's file may carry rounded decimals)
TOLERANCE = 0.005
DIFFERENCE_SCHEMA = {
    "kind": pl.Utf8,
    RIGHT: pl.Utf8,
    OID: pl.Utf8,
    "column": pl.Utf8,
    "koski_header": pl.Utf8,
    "ours": pl.Utf8,
    "koski": pl.Utf8,
    "difference": pl.Float64,
    "likely_cause": pl.Utf8,
    "likely_cause_fi": pl.Utf8,
    "koski_row": pl.Int64,
}


TOTALS_SCHEMA = {
    "column": pl.Utf8,
    "koski_header": pl.Utf8,
    "is_compared": pl.Boolean,
    "not_compared_because": pl.Utf8,
    "our_total": pl.Float64,
    "koski_total": pl.Float64,
    "rows_differing": pl.Int64,
}


@dataclass
class Reconciliation:
    """One KOSKI file against our figures for its period."""

    report: KoskiReport
    differences: pl.DataFrame  # DIFFERENCE_SCHEMA
    totals: pl.DataFrame  # per reconciled column: our total, KOSKI's total, rows that differ
    matched: int


def _as_text(column: str, dtype) -> pl.Expr:
    value = pl.col(column)
    if dtype == pl.Float64:
        return value.round(6).cast(pl.Utf8).str.replace(r"\.0+$", "")
    return value.cast(pl.Utf8)


def _match(ours: pl.DataFrame, koski: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(matched pairs, KOSKI rows matching nothing, our rows matching nothing); our columns get a ``our_`` prefix."""
    mine = ours.rename({c: f"our_{c}" for c in ours.columns})
    by_id = koski.filter(pl.col(RIGHT).is_not_null()).join(
        mine, left_on=RIGHT, right_on=f"our_{RIGHT}", how="inner", coalesce=False
    )
    rest_koski = koski.join(by_id.select("source_line"), on="source_line", how="anti")
    rest_ours = mine.join(by_id.select(pl.col(f"our_{RIGHT}")), on=f"our_{RIGHT}", how="anti")
    by_oid = rest_koski.filter(pl.col(OID).is_not_null()).join(
        rest_ours.filter(pl.col(f"our_{OID}").is_not_null()),
        left_on=OID,
        right_on=f"our_{OID}",
        how="inner",
        coalesce=False,
    )
    matched = pl.concat([by_id, by_oid], how="diagonal_relaxed")
    only_koski = rest_koski.join(by_oid.select("source_line"), on="source_line", how="anti")
    only_ours = rest_ours.join(by_oid.select(f"our_{RIGHT}"), on=f"our_{RIGHT}", how="anti")
    return matched, only_koski, only_ours


def reconcile(report: KoskiReport, ours: pl.DataFrame, causes: pl.DataFrame) -> Reconciliation:
    """``ours``: our per-study-right report for ``report``'s period; ``causes``: study_right_id → likely_cause and
    likely_cause_fi (what the pipeline knows of a study right: held back, failures on its rows, …)."""
    koski = report.rows
    matched, only_koski, only_ours = _match(ours, koski)
    figure_rows = []
    for c in (c for c in RECONCILED if c.name in report.compared):
        a, b = pl.col(f"our_{c.name}"), pl.col(c.name)
        differs = ((a - b).abs() > TOLERANCE) if c.dtype == pl.Float64 else (a.fill_null("") != b.fill_null(""))
        figure_rows.append(
            matched.filter(differs.fill_null(a.is_null() != b.is_null())).select(
                pl.lit(FIGURE_DIFFERS).alias("kind"),
                pl.col(f"our_{RIGHT}").alias(RIGHT),
                pl.col(f"our_{OID}").alias(OID),
                pl.lit(c.name).alias("column"),
                pl.lit(c.source_header).alias("koski_header"),
                _as_text(f"our_{c.name}", c.dtype).alias("ours"),
                _as_text(c.name, c.dtype).alias("koski"),
                (a - b).alias("difference") if c.dtype == pl.Float64 else pl.lit(None, pl.Float64).alias("difference"),
                pl.col("source_line").alias("koski_row"),
            )
        )
    differences = pl.concat(
        [
            *[f.cast({k: v for k, v in DIFFERENCE_SCHEMA.items() if k in f.columns}) for f in figure_rows],
            only_koski.select(
                pl.lit(ONLY_IN_KOSKI).alias("kind"), RIGHT, OID, pl.col("source_line").alias("koski_row")
            ),
            only_ours.select(
                pl.lit(ONLY_OURS).alias("kind"), pl.col(f"our_{RIGHT}").alias(RIGHT), pl.col(f"our_{OID}").alias(OID)
            ),
        ],
        how="diagonal_relaxed",
    )
    differences = (
        differences.join(causes, on=RIGHT, how="left")
        .with_columns(
            pl.col("likely_cause").fill_null(_default_cause("en")),
            pl.col("likely_cause_fi").fill_null(_default_cause("fi")),
        )
        .select(pl.col(k).cast(v) for k, v in DIFFERENCE_SCHEMA.items())
        .sort("kind", RIGHT, "column", nulls_last=True)
    )
    days = [c for c in RECONCILED if c.name in DAY_MEASURES]  # (a total of percentages means nothing)
    totals = pl.DataFrame(
        [
            {
                "column": c.name,
                "koski_header": c.source_header,
                "is_compared": c.name in report.compared,
                "not_compared_because": report.not_compared.get(c.name),
                "our_total": ours[c.name].sum() if c in days else None,
                "koski_total": koski[c.name].sum() if c in days and c.name in report.compared else None,
                "rows_differing": differences.filter(
                    (pl.col("kind") == FIGURE_DIFFERS) & (pl.col("column") == c.name)
                ).height,
            }
            for c in RECONCILED
        ],
        schema=TOTALS_SCHEMA,
    )
    return Reconciliation(report, differences, totals, matched.height)


_DEFAULT_CAUSES = {
    "en": (
        "not a study right of our export with a day in the period",
        "not transferred to KOSKI yet (no Opiskeluoikeuden OID)",
        "KOSKI has no day of it in the period",
        "unknown: compare its status periods in KOSKI and in the student administration",
    ),
    "fi": (
        "ei opiskeluoikeus, jolla olisi viennissämme päiviä aikajaksolla",
        "ei vielä siirretty KOSKIin (ei opiskeluoikeuden OID:ta)",
        "KOSKIssa sillä ei ole päiviä aikajaksolla",
        "ei tiedossa: vertaa sen jaksoja KOSKIssa ja opiskelijahallinnossa",
    ),
}
_CAUSE_WORDS = {
    "en": (
        "held back, its figures unknown: ",
        "failures on its rows: ",
        "a status period dated after KOSKI's report was downloaded ({}), from ",
    ),
    "fi": (
        "jätetty laskematta, luvut eivät ole tiedossa: ",
        "sen riveillä on virheitä: ",
        "jakso, joka alkaa KOSKIn raportin lataamisen ({}) jälkeen: ",
    ),
}


def _default_cause(language: str) -> pl.Expr:
    kind = pl.col("kind")
    koski_only, not_sent, no_days, unknown = _DEFAULT_CAUSES[language]
    return (
        pl.when(kind == ONLY_IN_KOSKI)
        .then(pl.lit(koski_only))
        .when((kind == ONLY_OURS) & pl.col(OID).is_null())
        .then(pl.lit(not_sent))
        .when(kind == ONLY_OURS)
        .then(pl.lit(no_days))
        .otherwise(pl.lit(unknown))
    )


def likely_causes(
    held_back: pl.DataFrame, failures: pl.DataFrame, status_periods: pl.DataFrame, downloaded: dt.date
) -> pl.DataFrame:
    """study_right_id → what the pipeline knows that may explain a difference (one text per study right and language).

    ``held_back``: study_right_id, rule_id (figures unknown); ``failures``: the study right's rows' failures
    (record_key = study_right_id, rule_id, severity); ``status_periods``: the export's valid status periods."""
    held = (
        held_back.group_by(RIGHT)
        .agg(pl.col("rule_id").unique().sort().str.join(", ").alias("detail"))
        .with_columns(pl.lit(0).alias("rank"), pl.lit(0).alias("words"))
    )
    flagged = (
        failures.group_by(pl.col("record_key").alias(RIGHT))
        .agg(pl.col("rule_id").unique().sort().str.join(", ").alias("detail"))
        .with_columns(pl.lit(1).alias("rank"), pl.lit(1).alias("words"))
    )
    late = (
        status_periods.filter(pl.col("start_date") > downloaded)
        .group_by(RIGHT)
        .agg(pl.col("start_date").min().cast(pl.Utf8).alias("detail"))
        .with_columns(pl.lit(2).alias("rank"), pl.lit(2).alias("words"))
    )
    known = pl.concat([held, flagged, late]).drop_nulls(RIGHT).sort(RIGHT, "rank")
    causes = [
        pl.col("words")
        .replace_strict({i: w.format(downloaded) for i, w in enumerate(_CAUSE_WORDS[lang])})
        .add(pl.col("detail"))
        .str.join("; ")
        .alias(name)
        for lang, name in (("en", "likely_cause"), ("fi", "likely_cause_fi"))
    ]
    return known.group_by(RIGHT, maintain_order=True).agg(*causes)


def _campus_key(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.to_lowercase()


def place_in_oppilaitos(rights: pl.DataFrame, reports: list[KoskiReport], campus_map: dict[str, str]) -> pl.DataFrame:
    """study_right_id → oppilaitos_oid and placed_by: which oppilaitos's KOSKI file a study right is compared with.

    KOSKI reports per oppilaitos, and a provider with several downloads one file each. In order: the export names
    the oppilaitos (its Toimipiste is an OID of one of the files); the site maps the toimipiste
    (``koski.oppilaitokset``); KOSKI's own files hold the study right (by id or OID); most of the study rights of
    its toimipiste that KOSKI's files hold are in one oppilaitos; the download has only one oppilaitos. Otherwise
    the oppilaitos is unknown (null) and the study right is compared with no file.

    ``rights``: study_right_id, study_right_oid, campus; ``campus_map``: toimipiste name → oppilaitos OID."""
    files = sorted({r.oppilaitos_oid for r in reports})
    found = pl.concat(
        [
            pl.concat(
                [
                    rights.join(
                        r.rows.filter(pl.col(key).is_not_null()).select(key).unique(), on=key, how="semi"
                    ).select(RIGHT)
                    for key in (RIGHT, OID)
                    if key in r.rows.columns
                ]
            ).with_columns(pl.lit(r.oppilaitos_oid).alias("oid"))
            for r in reports
        ]
        or [pl.DataFrame(schema={RIGHT: pl.Utf8, "oid": pl.Utf8})]
    ).unique()
    in_koski = found.group_by(RIGHT).agg(pl.col("oid").sort().first(), pl.len().alias("files"))
    campus_votes = (
        rights.join(in_koski.filter(pl.col("files") == 1), on=RIGHT)
        .group_by(_campus_key("campus").alias("campus_key"), "oid")
        .len()
        .sort("len", "oid", descending=[True, False])
        .group_by("campus_key", maintain_order=True)
        .agg(
            pl.col("oid").first(),
            (pl.col("len").first() > pl.col("len").slice(1, 1).first().fill_null(0)).alias("clear"),
        )
        .filter("clear")
        .select("campus_key", pl.col("oid").alias("by_campus"))
    )
    site = pl.DataFrame(
        {"campus_key": [k.strip().lower() for k in campus_map], "by_site": list(campus_map.values())},
        schema={"campus_key": pl.Utf8, "by_site": pl.Utf8},
    )
    placed = (
        rights.select(RIGHT, "campus")
        .with_columns(_campus_key("campus").alias("campus_key"))
        .join(site, on="campus_key", how="left")
        .join(in_koski.select(RIGHT, pl.col("oid").alias("by_koski")), on=RIGHT, how="left")
        .join(campus_votes, on="campus_key", how="left")
    )
    candidates = [
        ("export", pl.when(pl.col("campus").str.strip_chars().is_in(files)).then(pl.col("campus").str.strip_chars())),
        ("site", pl.col("by_site")),
        ("koski", pl.col("by_koski")),
        ("campus", pl.col("by_campus")),
        ("only_oppilaitos", pl.lit(files[0] if len(files) == 1 else None, pl.Utf8)),
    ]
    return placed.select(
        RIGHT,
        pl.coalesce(*(e for _, e in candidates)).alias("oppilaitos_oid"),
        pl.coalesce(*(pl.when(e.is_not_null()).then(pl.lit(name)) for name, e in candidates)).alias("placed_by"),
    )
