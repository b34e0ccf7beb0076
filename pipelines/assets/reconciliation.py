"""Reconciliation with KOSKI's own student-year report: differences for stewards, totals for management."""

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import polars as pl
from dagster import AssetExecutionContext, AssetIn, MetadataValue, Output, asset

from pipelines.assets.published import INTERMEDIATE_INPUTS, published_asset
from pipelines.assets.student_records import records_key
from pipelines.files import write_parquet
from pipelines.ingestion.folder import safe_path
from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.reading import opened_export
from pipelines.ingestion.secrets import SecretProblem, koski_password
from pipelines.ingestion.spreadsheet import KoskiReport, read_koski_report
from pipelines.marts.reconciliation import Reconciliation, likely_causes, place_in_oppilaitos, reconcile
from pipelines.marts.student_year_history import TABLES, complete_history, unreadable
from pipelines.marts.student_years import per_study_right
from pipelines.masking import mask_keys, mask_shapes, mask_text
from pipelines.quarantine import quarantine_rows
from pipelines.resources import LandingArea, WarehouseResource
from pipelines.validation import FAILURE_SCHEMA, PERSON_ID, TableOutcome
from schemas import koski_report, student_admin
from schemas.metadata import LINE
from schemas.published import MART_KOSKI_RECONCILIATION
from schemas.sources import RULES

RECONCILIATION = "koski_reconciliation"
SOURCE_SYSTEM, TABLE = koski_report.KOSKI_FILE.source_system, koski_report.KOSKI_FILE.name


@dataclass
class KoskiOutcome:
    """Every KOSKI report of the newest KOSKI folder, reconciled (nothing when the landing area has none)."""

    downloaded: str | None = None
    reconciliations: list[Reconciliation] = field(default_factory=list)
    #: file → what it yielded, in the shape of a source file's summary (the steward report lists it)
    files: dict[str, dict] = field(default_factory=dict)
    failures: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=FAILURE_SCHEMA | {PERSON_ID: pl.Utf8}))


def _file_summary(file: str, rows: int, problem: FileProblem | None, notices: list[str] = ()) -> dict:
    return comparison_summary(SOURCE_SYSTEM, TABLE, rows, problem, notices)


def comparison_summary(
    system: str, table: str, rows: int, problem: FileProblem | None = None, notices: list[str] = ()
) -> dict:
    """A comparison with KOSKI as a file of the failure history: its quarantine table is read, its failures resolve
    (in the shape of a source file's summary, which the steward report lists)."""
    return {
        "source_system": system,
        "table": table,
        "rows_read": rows,
        "rows_published": 0,
        "rows_rejected": 0,
        "rows_cleared": 0,
        "rows_flagged": 0,
        "sha256": None,
        "encoding": None,
        "problem": str(problem) if problem else None,
        "notices": list(notices),
        "failures_by_rule": [],
    }


def _failure_id(rule: pl.Expr, key: pl.Expr, column: pl.Expr, report: str = "") -> pl.Expr:
    """Stable across runs and across reports of the same oppilaitos from the same first day (``report``), so a
    difference fixed in a later download shows as resolved; a report of another period has ids of its own."""
    parts = [pl.lit(SOURCE_SYSTEM), rule, key.fill_null(""), column.fill_null("")] + (
        [pl.lit(report)] if report else []
    )
    text = pl.concat_str(parts, separator="\x1f")
    return text.map_elements(lambda v: hashlib.sha256(v.encode()).hexdigest()[:24], return_dtype=pl.Utf8)


def _report_id(rec: Reconciliation) -> str:
    """A report's oppilaitos and first day: a later download of the same report keeps them."""
    return f"{rec.report.oppilaitos_oid}:{rec.report.first}"


def _failures(rec: Reconciliation, owners: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """The differences (and unreadable cells) as failure rows: quarantine, history and the correction list."""
    d = rec.differences.with_columns(pl.lit("koski_report.").add(pl.col("kind")).alias("rule_id"))
    key = pl.coalesce("study_right_id", "study_right_oid")

    def detail(ours: str, difference: str) -> pl.Expr:
        return (
            pl.when(pl.col("kind") == "figure_differs")
            .then(
                pl.format(
                    f"{ours} {{}}, KOSKI {{}} ({difference} {{}}); ",
                    pl.col("ours").fill_null("–"),
                    pl.col("koski").fill_null("–"),
                    pl.col("difference").round(2).cast(pl.Utf8).fill_null("–"),
                )
            )
            .otherwise(pl.lit(""))
        )

    described = {r.id: r for r in koski_report.RECONCILIATION_RULES}
    rows = d.join(owners, on="study_right_id", how="left").select(
        pl.lit(run_id).alias("run_id"),
        pl.lit(SOURCE_SYSTEM).alias("source_system"),
        pl.lit(TABLE).alias("table"),
        pl.lit(rec.report.file).alias("source_file"),
        pl.col("koski_row").alias(LINE),
        mask_keys(key).alias("record_key"),
        "rule_id",
        pl.lit("warning").alias("severity"),
        pl.lit("flag").alias("consequence"),
        "column",
        pl.col("koski_header").alias("source_header"),
        (
            pl.col("rule_id").replace_strict({k: r.description for k, r in described.items()})
            + pl.lit(": ")
            + detail("ours", "difference")
            + pl.lit("likely cause: ")
            + pl.col("likely_cause")
        ).alias("message"),
        (
            pl.col("rule_id").replace_strict({k: r.description_fi for k, r in described.items()})
            + pl.lit(": ")
            + detail("omat", "ero")
            + pl.lit("todennäköinen syy: ")
            + pl.col("likely_cause_fi")
        ).alias("message_fi"),
        mask_shapes(pl.col("koski").cast(pl.Utf8)).alias("masked_value"),
        _failure_id(pl.col("rule_id"), key, pl.col("column"), _report_id(rec)).alias("failure_id"),
        pl.col(PERSON_ID),
    )
    cells = pl.DataFrame(
        [
            {
                "run_id": run_id,
                "source_system": SOURCE_SYSTEM,
                "table": TABLE,
                "source_file": rec.report.file,
                LINE: line,
                "record_key": None,
                "rule_id": "koski_report.unreadable_cell",
                "severity": "warning",
                "consequence": "flag",
                "column": None,
                "source_header": header,
                "message": f"{RULES['koski_report.unreadable_cell'].description}: '{mask_text(text[:40])}'",
                "message_fi": f"{RULES['koski_report.unreadable_cell'].description_fi}: '{mask_text(text[:40])}'",
                "masked_value": None,
                "failure_id": None,
                PERSON_ID: None,
            }
            for line, header, text in rec.report.unreadable
        ],
        schema=FAILURE_SCHEMA | {PERSON_ID: pl.Utf8},
    )
    cells = cells.with_columns(
        _failure_id(pl.col("rule_id"), pl.col(LINE).cast(pl.Utf8), pl.col("source_header"), _report_id(rec)).alias(
            "failure_id"
        )
    )
    return pl.concat([rows.cast(FAILURE_SCHEMA | {PERSON_ID: pl.Utf8}), cells])


def _unplaced(ours: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """One ``koski_report.oppilaitos_unknown`` row per study right with figures that no KOSKI file was compared with."""
    rule = RULES["koski_report.oppilaitos_unknown"]
    rows = ours.select(
        pl.lit(run_id).alias("run_id"),
        pl.lit(SOURCE_SYSTEM).alias("source_system"),
        pl.lit(TABLE).alias("table"),
        pl.lit(None, pl.Utf8).alias("source_file"),
        pl.lit(None, pl.Int64).alias(LINE),
        pl.col("study_right_id").alias("record_key"),
        pl.lit(rule.id).alias("rule_id"),
        pl.lit("warning").alias("severity"),
        pl.lit("flag").alias("consequence"),
        pl.lit("campus").alias("column"),
        pl.lit("Toimipiste").alias("source_header"),
        pl.lit(rule.description).alias("message"),
        pl.lit(rule.description_fi).alias("message_fi"),
        mask_shapes(pl.col("campus")).alias("masked_value"),
        _failure_id(pl.lit(rule.id), pl.col("study_right_id"), pl.lit(None, pl.Utf8)).alias("failure_id"),
        pl.col(PERSON_ID),
    )
    return rows.cast(FAILURE_SCHEMA | {PERSON_ID: pl.Utf8})


def _notices(report: KoskiReport) -> list[str]:
    """What a steward should know of a file that was read beyond its figures (the columns not compared stand in its
    table): the rows left out."""
    return [
        f"{report.file}, sheet '{report.sheet}', row {line}: not a study right (no Opiskeluoikeuden oid or "
        f"tunniste; it reads '{mask_text(text[:40])}'), left out of the comparison"
        for line, text in report.skipped
    ]


def _read_reports(
    context: AssetExecutionContext, landing: LandingArea, folder, result: KoskiOutcome
) -> list[KoskiReport]:
    """Every KOSKI report of the folder that reads; each that does not is named (with its file summary)."""
    area = landing.open()
    try:
        password = koski_password(keep_away_from=(area.path,))
    except SecretProblem as problem:
        context.log.error(f"KOSKI reports not reconciled: {problem}")
        password = None
    reports = []
    for path in sorted(folder.glob("*.xlsx")):
        try:
            with opened_export(safe_path(area, path), area.site.max_file_bytes) as (_, data):
                report = read_koski_report(
                    path.name, data, password, area.site.max_workbook_unpacked_bytes, area.site.max_workbook_cells
                )
        except FileProblem as problem:
            context.log.error(f"KOSKI report not reconciled: {problem}")
            result.files[path.name] = _file_summary(path.name, 0, problem)
            continue
        reports.append(report)
        result.files[path.name] = _file_summary(path.name, report.rows.height, None, _notices(report))
    return reports


@asset(
    key=INTERMEDIATE_INPUTS[RECONCILIATION],
    group_name="validated",
    ins={t: AssetIn(key=records_key(t)) for t in TABLES},
    description="KOSKI's own student-year reports (landing/koski/<date>/opiskelijavuositiedot_*.xlsx, the newest "
    "folder on or before the as-of date; decrypted with TIEDOLLA_KOSKI_PASSWORD) against our figures for each "
    "report's period and oppilaitos, column by column: rows only in KOSKI, only ours, and figures that differ, with "
    "the likely cause. A report that cannot be read is named with its sheet and header; the rest of the run "
    "publishes.",
)
def koski_reconciliation(
    context: AssetExecutionContext, landing: LandingArea, warehouse: WarehouseResource, **outcomes: TableOutcome
):
    try:
        folder = landing.open().export_folder(SOURCE_SYSTEM)
    except FileProblem:
        context.log.info("no KOSKI report in the landing area (koski/<date>/): nothing to reconcile")
        return Output(KoskiOutcome(), metadata={"reports": 0})
    result = KoskiOutcome(downloaded=folder.name)
    for problem in unreadable(outcomes):
        context.log.error(f"KOSKI reconciliation: {problem}")
    history, held = complete_history(outcomes)
    rights = outcomes["study_rights"].rows()
    own_failures = pl.concat([outcomes[t].failures.select("record_key", "rule_id", "severity") for t in TABLES])
    causes = likely_causes(held, own_failures, outcomes["status_periods"].rows(), dt.date.fromisoformat(folder.name))
    owners = rights.select("study_right_id", "campus", pl.col("student_number").alias(PERSON_ID)).unique(
        "study_right_id"
    )
    reports = _read_reports(context, landing, folder, result)
    placed = place_in_oppilaitos(
        rights.select("study_right_id", "study_right_oid", "campus"), reports, landing.open().site.koski_oppilaitokset
    )
    parts, unplaced, figures = [], [], {}
    for report in reports:  # (the files of one download share a period: its figures are counted once)
        period = (report.first, report.last)
        if period not in figures:
            figures[period] = per_study_right(history, *period).join(placed, on="study_right_id", how="left")
        ours = figures[period]
        unplaced.append(ours.filter(pl.col("oppilaitos_oid").is_null()).select("study_right_id"))
        ours = ours.filter(pl.col("oppilaitos_oid") == report.oppilaitos_oid).drop("oppilaitos_oid", "placed_by")
        rec = reconcile(report, ours, causes)
        result.reconciliations.append(rec)
        parts.append(_failures(rec, owners.drop("campus"), context.run.run_id))
        context.log.info(
            f"KOSKI {report.file}: {rec.matched} study rights in both, "
            + ", ".join(f"{n} {k}" for k, n in rec.differences.group_by("kind").len().sort("kind").rows())
            + (f"; not compared: {', '.join(report.not_compared)}" if report.not_compared else "")
        )
    if unplaced:
        parts.append(_unplaced(pl.concat(unplaced).unique().join(owners, on="study_right_id"), context.run.run_id))
    if parts:
        result.failures = pl.concat(parts)
    write_parquet(
        quarantine_rows(result.failures, warehouse.key(), student_admin.SOURCE),
        warehouse.open().quarantine(TABLE),
        private=True,
    )
    return Output(
        result,
        metadata={
            "reports": len(result.reconciliations),
            "downloaded": folder.name,
            "problems": MetadataValue.json({f: s["problem"] for f, s in result.files.items() if s["problem"]}),
            "differences": result.failures.height,
            "placed_by": MetadataValue.json(
                dict(placed.group_by(pl.col("placed_by").fill_null("unknown")).len().sort("placed_by").rows())
            ),
        },
    )


def mart_koski_reconciliation(koski_reconciliation: KoskiOutcome) -> pl.DataFrame:
    """Per report and KOSKI column: our total, KOSKI's total and how many rows differ."""
    table = MART_KOSKI_RECONCILIATION
    frames = [
        rec.totals.with_columns(
            pl.lit(rec.report.oppilaitos_oid).alias("oppilaitos_oid"),
            pl.lit(rec.report.first).alias("period_first_day"),
            pl.lit(rec.report.last).alias("period_last_day"),
            pl.lit(rec.matched).alias("rows_matched"),
            *(
                pl.lit(rec.differences.filter(pl.col("kind") == kind).height).alias(f"rows_{kind}")
                for kind in ("only_in_koski", "only_ours")
            ),
            pl.lit(dt.date.fromisoformat(koski_reconciliation.downloaded)).alias("downloaded_on"),
        )
        for rec in koski_reconciliation.reconciliations
    ]
    frame = pl.concat(frames) if frames else pl.DataFrame(schema={c.name: c.dtype for c in table.columns})
    return frame.select(pl.col(c.name).cast(c.dtype) for c in table.columns).sort(
        "oppilaitos_oid", "period_first_day", "period_last_day"
    )


RECONCILIATION_ASSETS = [koski_reconciliation, published_asset(mart_koski_reconciliation)]
