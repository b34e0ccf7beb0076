"""Reports: the failure history, the steward review report with correction lists, Data Docs of every publish,
and the management dashboard."""

import datetime as dt
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, MetadataValue, Output, asset

from pipelines.assets.published import RELEASE
from pipelines.assets.validated import QUARANTINE_SUMMARY
from pipelines.dashboard.figures import read_figures
from pipelines.dashboard.page import write_dashboard
from pipelines.resources import LandingArea, WarehouseResource
from pipelines.stewardship.corrections import write_correction_lists
from pipelines.stewardship.data_docs import build_data_docs
from pipelines.stewardship.history import history_path, record_run, runs_path
from pipelines.stewardship.report import write_report
from pipelines.stewardship.waivers import load_waivers
from schemas import published
from schemas.sources import RULES, SOURCES

HISTORY = "failure_history"
SUMMARIES = {f"{s.system}_summary": AssetIn(key=AssetKey([s.system, QUARANTINE_SUMMARY])) for s in SOURCES}


@asset(name=HISTORY, group_name="stewardship", ins=SUMMARIES,
       description="Every quarantined or flagged row by its stable failure id (rule + source system + source key): "
                   "first and last seen, status new / open / waived / resolved; and per-run counts for trends. "
                   "Kept in <warehouse>/stewardship/.")
def failure_history(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingArea, **summaries):
    wh = warehouse.open()
    files = {name: f for s in SOURCES for name, f in summaries[f"{s.system}_summary"].items()}
    tables = [f["table"] for f in files.values()]
    quarantine = pl.concat([pl.read_parquet(wh.quarantine(t)) for t in tables if wh.quarantine(t).exists()],
                           how="diagonal_relaxed")
    read = {f["table"] for f in files.values() if not f["problem"]}
    history, runs = record_run(wh.root, quarantine, read, context.run.run_id, landing.run_date(),
                               dt.datetime.now(dt.timezone.utc))
    now = runs.filter(pl.col("run_id") == context.run.run_id)
    context.log.info(f"failure history: {int(now['failing'].sum())} failing rows, {int(now['new'].sum())} new, "
                     f"{int(now['resolved'].sum())} resolved since the previous run")
    return Output({"files": files, "run_id": context.run.run_id}, metadata={
        "failing_rows": int(now["failing"].sum()), "new_rows": int(now["new"].sum()),
        "resolved_rows": int(now["resolved"].sum()),
        "by_status": MetadataValue.json(dict(zip(*history.group_by("status").len().sort("status")
                                                 .to_dict(as_series=False).values())))})


@asset(name="steward_report", group_name="stewardship", ins={"history": AssetIn(key=AssetKey(HISTORY))},
       description="<warehouse>/reports/steward/index.html (Finnish; index.en.html in English): failures by source "
                   "system, table and rule with counts, new and resolved since the previous run, trend and masked "
                   "examples; correction lists per source system (CSV for Excel); waivers; a link to the Data Docs.")
def steward_report(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingArea, history: dict):
    wh = warehouse.open()
    folder = wh.root / "reports" / "steward"
    run_id, as_of = history["run_id"], landing.run_date()
    failures, runs = pl.read_parquet(history_path(wh.root)), pl.read_parquet(runs_path(wh.root))
    waivers = load_waivers(landing.waivers(), set(RULES))
    seen = set(failures.filter(pl.col("last_seen_run") == run_id).select("rule_id", "record_key").iter_rows())
    unmatched = [w for w in waivers if (w.rule, w.source_key) not in seen]
    for w in unmatched:
        context.log.warning(f"waiver {w.rule} for {w.source_key} matches no failure of this run")
    corrections = write_correction_lists(failures, [s.system for s in SOURCES], run_id, folder)
    paths = write_report(folder, failures, runs, run_id, as_of, RULES, history["files"], corrections, waivers,
                         unmatched, "../data_docs/index.html")
    context.log.info(f"steward report: {paths[0]}")
    return Output(str(paths[0]), metadata={"report": MetadataValue.path(str(paths[0])),
                                           "unmatched_waivers": len(unmatched)})


@asset(name="data_docs", group_name="stewardship", ins={"release": AssetIn(key=AssetKey(RELEASE))},
       description="Great Expectations suites generated from the published models, run on the set just published; "
                   "Data Docs in <warehouse>/reports/data_docs/ (linked from the steward report).")
def data_docs(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingArea, release: str):
    wh = warehouse.open()
    if not landing.data_docs_enabled():
        context.log.info("Data Docs are switched off in the site configuration (reports.data_docs)")
        return Output("", metadata={"tables": 0})
    outcome = build_data_docs(Path(release), list(published.TABLES), wh.root / "reports")
    failed = {name: o for name, o in outcome.items() if not o["success"]}
    for name, o in failed.items():
        context.log.warning(f"Great Expectations: {name} failed {o['failed']} of {o['evaluated']} expectations")
    context.log.info(f"Data Docs: {len(outcome)} tables, {sum(o['evaluated'] for o in outcome.values())} "
                     f"expectations, {len(failed)} tables failing")
    return Output(str(wh.root / "reports" / "data_docs" / "index.html"), metadata={
        "tables": len(outcome), "tables_failing": len(failed),
        "expectations": sum(o["evaluated"] for o in outcome.values())})




@asset(name="dashboard", group_name="reports", ins={"release": AssetIn(key=AssetKey(RELEASE))},
       description="Johdon työpöytä: <warehouse>/reports/dashboard/index.html, written from the published set only "
                   "(what a BI tool sees): student-years vs target and forecast, campuses, qualification types, "
                   "graduations and osaamispisteet, employers and the CRM, segments, partnerships, NPS, data quality.")
def dashboard(context: AssetExecutionContext, warehouse: WarehouseResource, release: str):
    figures = read_figures(Path(release))
    path = write_dashboard(figures, warehouse.open().root / "reports" / "dashboard", "../steward/index.html")
    context.log.info(f"dashboard: {path}")
    return Output(str(path), metadata={"dashboard": MetadataValue.path(str(path)),
                                       "student_years_to_date": figures.headline["student_years_to_date"] or 0.0})


REPORT_ASSETS = [failure_history, steward_report, data_docs, dashboard]
