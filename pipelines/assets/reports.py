"""Reports: the failure history, the steward review report with correction lists, Data Docs of every publish,
and the management dashboard."""

import datetime as dt
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, MetadataValue, Output, asset

from pipelines.assets.koski_differences import DIFFERENCES, DifferencesOutcome, mart_koski_differences
from pipelines.assets.koski_differences import SYSTEM as DIFFERENCES_SYSTEM
from pipelines.assets.organization_master import REVIEW
from pipelines.assets.published import INTERMEDIATE_INPUTS, RELEASE, SYSTEM
from pipelines.assets.reconciliation import RECONCILIATION, KoskiOutcome
from pipelines.assets.reconciliation import SOURCE_SYSTEM as KOSKI_SYSTEM
from pipelines.assets.student_records import records_key
from pipelines.assets.student_years import CALCULATION
from pipelines.assets.validated import QUARANTINE_SUMMARY
from pipelines.dashboard.figures import read_figures
from pipelines.dashboard.network_page import NETWORK_PAGE
from pipelines.dashboard.page import write_dashboard
from pipelines.marts.student_year_history import TABLES, complete_history
from pipelines.marts.student_years import NUMBER, RIGHT, Calculation
from pipelines.pacing import throttled
from pipelines.resources import LandingArea, WarehouseResource
from pipelines.stewardship.corrections import write_correction_lists
from pipelines.stewardship.data_docs import build_data_docs
from pipelines.stewardship.failure_history import history_path, record_run, runs_path
from pipelines.stewardship.impact import figures_at_risk as at_risk
from pipelines.stewardship.impact import held_back_at_most
from pipelines.stewardship.match_review import write_review_lists
from pipelines.stewardship.steward_report import WORDS, write_report
from pipelines.validation import TableOutcome
from pipelines.waivers import load_waivers
from schemas import published
from schemas.identifiers import business_id_normalised
from schemas.sources import RULES, SOURCES

HISTORY = "failure_history"
SUMMARIES = {f"{s.system}_summary": AssetIn(key=AssetKey([s.system, QUARANTINE_SUMMARY])) for s in SOURCES}
KOSKI = {
    "koski": AssetIn(key=AssetKey([SYSTEM, RECONCILIATION])),
    "differences": AssetIn(key=INTERMEDIATE_INPUTS[DIFFERENCES]),
}
#: every system a steward gets a correction list for: the sources, the differences from KOSKI's report and from
#: KOSKI's data
CORRECTED_SYSTEMS = [s.system for s in SOURCES] + [KOSKI_SYSTEM, DIFFERENCES_SYSTEM]


@asset(
    name=HISTORY,
    group_name="stewardship",
    ins={**SUMMARIES, **KOSKI},
    description="Every quarantined or flagged row by its stable failure id (rule + source system + source key): "
    "first and last seen, status new / open / waived / resolved; and per-run counts for trends. "
    "Kept in <warehouse>/stewardship/.",
)
def failure_history(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    landing: LandingArea,
    koski: KoskiOutcome,
    differences: DifferencesOutcome,
    **summaries,
):
    wh = warehouse.open()
    files = {name: f for s in SOURCES for name, f in summaries[f"{s.system}_summary"].items()} | koski.files
    files |= differences.files
    tables = [f["table"] for f in files.values()]
    quarantine = pl.concat(
        [pl.read_parquet(wh.quarantine(t)) for t in tables if wh.quarantine(t).exists()], how="diagonal_relaxed"
    )
    read = {f["table"] for f in files.values()} - _not_checked(files)
    history, runs = record_run(
        wh.root,
        quarantine,
        read,
        context.run.run_id,
        landing.open().run_date(),
        dt.datetime.now(dt.UTC),
        landing.open().site.retention_days,
        restart=warehouse.rotate_key,
    )
    if warehouse.rotate_key:
        context.log.info("failure history: started afresh with the new pseudonym key (the old one's is removed)")
    now = runs.filter(pl.col("run_id") == context.run.run_id)
    context.log.info(
        f"failure history: {int(now['failing'].sum())} failing rows, {int(now['new'].sum())} new, "
        f"{int(now['resolved'].sum())} resolved since the previous run"
    )
    return Output(
        {
            "files": files,
            "run_id": context.run.run_id,
            "koski": [
                rec.totals.with_columns(
                    pl.lit(rec.report.file).alias("file"),
                    pl.lit(rec.matched).alias("matched"),
                    pl.lit(rec.report.oppilaitos_oid).alias("oppilaitos_oid"),
                    pl.lit(str(rec.report.first)).alias("period_first_day"),
                    pl.lit(str(rec.report.last)).alias("period_last_day"),
                )
                .with_columns(notices=pl.lit("\n".join(koski.files[rec.report.file]["notices"])))
                .to_dicts()
                for rec in koski.reconciliations
            ],
            "differences": mart_koski_differences(differences).to_dicts(),
        },
        metadata={
            "failing_rows": int(now["failing"].sum()),
            "new_rows": int(now["new"].sum()),
            "resolved_rows": int(now["resolved"].sum()),
            "by_status": MetadataValue.json(
                dict(zip(*history.group_by("status").len().sort("status").to_dict(as_series=False).values()))
            ),
        },
    )


def _not_checked(files: dict[str, dict]) -> set[str]:
    """The tables whose rules could not be judged this run: a file that could not be read, and every table whose
    parent is one of them (its rows were not checked either). Their earlier failures are not resolved by it."""
    unread = {f["table"] for f in files.values() if f["problem"]}
    for source in SOURCES:
        for child, _, parent in source.parents:  # (parents come before children)
            if parent in unread:
                unread.add(child)
    return unread


AT_RISK = "figures_at_risk"


@asset(
    name=AT_RISK,
    group_name="stewardship",
    ins={
        "history": AssetIn(key=AssetKey(HISTORY)),
        "calculation": AssetIn(key=AssetKey([SYSTEM, CALCULATION])),
        "matches": AssetIn(key=INTERMEDIATE_INPUTS["organization_matches"]),
        **{t: AssetIn(key=records_key(t)) for t in TABLES},
    },
    description="For each open failure group (rule): the study rights, students and hosting employers it touches, "
    "the student-years of the current year they carry, and the most student-years it holds back (the "
    "held-back study rights' open days of the year). The steward report opens with it.",
)
def figures_at_risk(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    landing: LandingArea,
    history: dict,
    calculation: Calculation,
    matches: pl.DataFrame,
    **outcomes: TableOutcome,
):
    as_of = landing.open().run_date()
    first = dt.date(as_of.year, 1, 1)
    failures = pl.read_parquet(history_path(warehouse.open().root)).filter(
        (pl.col("last_seen_run") == history["run_id"]) & pl.col("status").is_in(["new", "open"])
    )
    _, held = complete_history(outcomes)
    rights = outcomes["study_rights"].rows()
    places = (
        outcomes["workplace_periods"]
        .rows()
        .select(RIGHT, "workplace_name", business_id_normalised("business_id").alias("business_id"))
        .join(
            matches.filter(pl.col("source_system") == SYSTEM).select(
                pl.col("source_id").alias("workplace_name"), "business_id", "organization_key"
            ),
            on=["workplace_name", "business_id"],
            how="left",
            nulls_equal=True,
        )
    )
    frame = at_risk(
        failures,
        rights.select(RIGHT, "student_number"),
        _student_years(calculation, first),
        held_back_at_most(held, rights, outcomes["status_periods"].rows(), first, as_of),
        places.select(RIGHT, "organization_key"),
    )
    top = frame.row(0, named=True) if frame.height else None
    context.log.info(
        "figures at risk: "
        + (
            f"first {top['rule_id']} ({top['student_years_held_back']:.1f} "
            f"student-years held back, {top['student_years_touched']:.1f} touched)"
            if top
            else "no open failures"
        )
    )
    return Output(
        frame,
        metadata={"groups": frame.height, "student_years_held_back": float(frame["student_years_held_back"].sum())},
    )


def _student_years(calculation: Calculation, first: dt.date) -> pl.DataFrame:
    """This year's student-years (current formula) of every study right the published figures count."""
    summed = (
        calculation.by_study_right()
        .filter(pl.col("piece_start") >= first)
        .group_by(NUMBER, maintain_order=True)
        .agg((pl.col("student_year_days_current").fill_null(0).sum() / 365).alias("student_years"))
        .collect()
    )
    return calculation.history.with_ids(summed)


@asset(
    name="steward_report",
    group_name="stewardship",
    ins={
        "history": AssetIn(key=AssetKey(HISTORY)),
        "at_risk": AssetIn(key=AssetKey(AT_RISK)),
        "organization_review": AssetIn(key=AssetKey(REVIEW)),
    },
    description="<warehouse>/reports/steward/index.html (Finnish; index.en.html in English): failures by source "
    "system, table and rule with counts, new and resolved since the previous run, trend and masked "
    "examples; correction lists per source system (CSV for Excel); the organisation pairs to review; waivers; a "
    "link to the Data Docs.",
)
def steward_report(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    landing: LandingArea,
    history: dict,
    at_risk: pl.DataFrame,
    organization_review: dict,
):
    wh = warehouse.open()
    folder = wh.root / "reports" / "steward"
    run_id, as_of = history["run_id"], landing.open().run_date()
    failures, runs = pl.read_parquet(history_path(wh.root)), pl.read_parquet(runs_path(wh.root))
    waivers = load_waivers(landing.open().site.waivers(), set(RULES))
    seen = set(failures.filter(pl.col("last_seen_run") == run_id).select("rule_id", "record_key").iter_rows())
    unmatched = [w for w in waivers if (w.rule, w.source_key) not in seen]
    for w in unmatched:
        context.log.warning(f"waiver {w.rule} for {w.source_key} matches no failure of this run")
    corrections = write_correction_lists(failures, CORRECTED_SYSTEMS, run_id, folder)
    systems = {language: words["systems"] for language, words in WORDS.items()}
    corrections[REVIEW] = write_review_lists(organization_review["review"], folder, systems)
    paths = write_report(
        folder,
        failures,
        runs,
        run_id,
        as_of,
        RULES,
        history["files"],
        corrections,
        waivers,
        unmatched,
        "../data_docs/index.html",
        history["koski"],
        at_risk,
        history["differences"],
        organization_review,
    )
    context.log.info(f"steward report: {paths[0]}")
    return Output(
        str(paths[0]), metadata={"report": MetadataValue.path(str(paths[0])), "unmatched_waivers": len(unmatched)}
    )


@asset(
    name="data_docs",
    group_name="stewardship",
    ins={"release": AssetIn(key=AssetKey(RELEASE))},
    description="Great Expectations suites generated from the published models, run on the set just published; "
    "Data Docs in the version's reports/data_docs/, seen as <warehouse>/reports/data_docs/ while the "
    "version is published (linked from the steward report).",
)
def data_docs(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingArea, release: str):
    wh = warehouse.open()
    if not landing.open().site.data_docs_enabled:
        context.log.info("Data Docs are switched off in the site configuration (reports.data_docs)")
        return Output("", metadata={"tables": 0})
    before = [v["version"] for v in wh.versions() if v["version"] != Path(release).name]
    outcome = build_data_docs(
        Path(release),
        list(published.TABLES),
        wh.version_reports(Path(release)),
        progress=throttled(context.log.info),
        earlier=wh.root / "versions" / before[0] if before else None,
    )
    failed = {name: o for name, o in outcome.items() if not o["success"]}
    for name, o in failed.items():
        context.log.warning(f"Great Expectations: {name} failed {o['failed']} of {o['evaluated']} expectations")
    context.log.info(
        f"Data Docs: {len(outcome)} tables, {sum(o['evaluated'] for o in outcome.values())} "
        f"expectations, {len(failed)} tables failing"
    )
    return Output(
        str(wh.root / "reports" / "data_docs" / "index.html"),
        metadata={
            "tables": len(outcome),
            "tables_failing": len(failed),
            "expectations": sum(o["evaluated"] for o in outcome.values()),
        },
    )


@asset(
    name="dashboard",
    group_name="reports",
    ins={"release": AssetIn(key=AssetKey(RELEASE))},
    description="Johdon työpöytä: <warehouse>/reports/dashboard/index.html (kept in the version it shows, so a "
    "rollback brings it back with the set), written from the published set only "
    "(what a BI tool sees): student-years vs target and forecast, campuses, qualification types, "
    "graduations and osaamispisteet, employers and the CRM, segments, partnerships, NPS, data quality.",
)
def dashboard(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingArea, release: str):
    wh = warehouse.open()
    figures = read_figures(Path(release))
    network_page = f"../{NETWORK_PAGE}/index.html" if warehouse.network else None
    write_dashboard(
        figures,
        wh.version_reports(Path(release)) / "dashboard",
        "../steward/index.html",
        network_page,
        provider=landing.provider_name(),
    )
    path = wh.root / "reports" / "dashboard" / "index.html"
    context.log.info(f"dashboard: {path}")
    return Output(
        str(path),
        metadata={
            "dashboard": MetadataValue.path(str(path)),
            "student_years_to_date": figures.headline["student_years_to_date"] or 0.0,
        },
    )


REPORT_ASSETS = [failure_history, figures_at_risk, steward_report, data_docs, dashboard]
