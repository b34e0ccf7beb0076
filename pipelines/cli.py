"""tiedolla: generate demo exports, run the pipeline, run the demo.

Exit codes: 0 done (``run``: published and every report made; quarantined rows are normal), 1 refused or failed
(``run``: not published, the previous version stays), 2 usage error (nothing was run or changed) or an object store
that cannot be worked on (no such bucket, no answer: named in words), 3 published but a report step failed (named on
stderr), 4 busy: another run holds the warehouse (nothing was changed; try again, or ``--wait``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path

from pipelines.demo_data.crm_synapse import LAYOUTS as SYNAPSE_LAYOUTS
from pipelines.ingestion.secrets import PASSWORD_FILE_VARIABLE
from pipelines.publishing.pseudonyms import KEY_FILE_VARIABLE, KEY_VARIABLE

DEMO_AS_OF = dt.date(2026, 11, 20)
SITE_VARIABLE = "TIEDOLLA_SITE_CONFIG"
SITE_HELP = (
    f"the site configuration YAML (headers, thresholds, waivers…; default: ${SITE_VARIABLE}, else the shipped one)"
)
PROJECT = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    pass


#: the exit code of a command refused because another run holds the warehouse (a scheduler may try again)
BUSY = 4


def _date(text: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise argparse.ArgumentTypeError(f"'{text}' is not a date written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as err:  # written right, but no such day
        raise argparse.ArgumentTypeError(f"'{text}' is no such day ({err})") from None


def _local_time(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a time written YYYY-MM-DDTHH:MM:SS") from None
    if moment.tzinfo is not None:
        raise argparse.ArgumentTypeError(f"'{text}': give Helsinki local time without a zone, as KOSKI reads it")
    return moment


def cmd_generate(args) -> int:
    from pipelines.demo_data.export import generate

    out, day = Path(args.out), args.as_of.isoformat()
    if not 0 <= args.august_surge <= 10:
        raise UsageError(f"--august-surge {args.august_surge} is not a share from 0 to 10 (0.3 = 30 % more)")
    if args.providers is not None:
        return _generate_network(args, out)
    folder = generate(
        args.size, args.seed, out, args.as_of, clean=args.clean, august_surge=args.august_surge, crm_layout=args.crm
    )
    crm_as = "" if args.crm == "flat" else f" (as Synapse Link writes it, {args.crm})"
    print(f"wrote {folder}, {out / 'crm' / day}{crm_as} and the intake plans in {out / 'plans'}")
    print(
        f"truth of injected defects: {out / 'truth' / '<source>' / day / 'defects.csv'}; "
        f"of which records are one organisation: {out / 'truth' / 'crm' / day / 'organizations.csv'}"
    )
    return 0


def _check_providers(count: int) -> None:
    if not 1 <= count <= 99:
        raise UsageError(f"--providers {count} is not a number of providers from 1 to 99")


def _generate_network(args, out: Path) -> int:
    from pipelines.demo_data.network import generate_network

    _check_providers(args.providers)
    if args.august_surge:
        raise UsageError("--august-surge is for a single provider, not with --providers")
    ids = generate_network(args.providers, args.size, args.seed, out, args.as_of, clean=args.clean)
    print(f"wrote a network of {len(ids)} providers in {out}: one folder each (<provider>/student_admin/, crm/, …)")
    print(f"their names and groups: {out / 'providers.csv'}")
    return 0


def _report(done) -> int:
    """A run's outcome as its reader needs it (exit code as the run's): what was published, or why not."""
    from pipelines.execution import BUSY as BUSY_OUTCOME
    from pipelines.execution import PUBLISHED, REPORT_FAILED, UNCHANGED

    summary, warehouse = done.summary, done.warehouse
    if done.outcome == BUSY_OUTCOME:
        print(f"tiedolla: {summary['reason']}", file=sys.stderr)
        return done.code
    if done.outcome == UNCHANGED:
        print(f"\nnothing new: {summary['reason']}; the published version {summary['version']} stays, nothing was run")
        print(f"  run summary:      {warehouse / 'run.json'}")
        return done.code
    for failed in summary["failed_steps"]:
        print(f"step {failed['step']} failed: {failed['error']}", file=sys.stderr)
    manifest_path = warehouse / "manifest.json"
    if done.outcome not in (PUBLISHED, REPORT_FAILED):
        print("\nNOT PUBLISHED: the previous published version (if any) is unchanged.", file=sys.stderr)
        report = warehouse / "reports" / "steward" / "index.html"
        if report.exists():
            print(f"  what failed, for the data stewards: {report}", file=sys.stderr)
        for check in summary["failed_checks"]:
            print(f"  failing check: {check}", file=sys.stderr)
        for table in summary["tables"].values():  # (the cause, last: what a reader sees first)
            if table.get("problem"):
                print(f"  a file could not be read: {table['problem']}", file=sys.stderr)
    else:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        print(f"\npublished run {manifest['run_id']} (as of {manifest['as_of']})")
        _print_files(manifest["files"])
        _report_koski(warehouse / "versions" / manifest["run_id"] / "mart_koski_reconciliation.parquet")
        print(f"\n  published tables: {warehouse / 'published'}/*.parquet")
        print(f"  the release:      {warehouse / 'release.json'} (the version and its files, for object storage)")
        print(f"  DuckDB database: {warehouse / 'tiedolla.duckdb'}")
        print(f"  quarantine:       {warehouse / 'quarantine'}/*.parquet")
        print(f"  manifest:         {manifest_path}")
        for label, page in (("steward report", "steward"), ("dashboard", "dashboard"), ("Data Docs", "data_docs")):
            path = warehouse / "reports" / page / "index.html"
            if path.exists():
                print(f"  {label + ':':<18}{path}")
        if summary["failed_steps"]:  # the set is published; a report made from it is not (or is stale)
            steps = ", ".join(failed["step"] for failed in summary["failed_steps"])
            print(f"\nPUBLISHED, but these steps failed: {steps} (exit 3)", file=sys.stderr)
    print(f"  run summary:      {warehouse / 'run.json'}\n  log:              {summary['log']}")
    return done.code


def _print_files(files: dict[str, dict]) -> None:
    """One line per export file: rows read = published + rejected, the cleared and flagged beside; its notes."""
    print(
        f"  {'source':<15}{'file':<34}{'read':>10}{'published':>11}{'rejected':>10}   "
        f"{'of the published: cleared':>26}{'flagged':>9}"
    )
    for name, f in files.items():
        note = f"  CANNOT READ: {f['problem']}" if f["problem"] else ""
        print(
            f"  {f['source_system']:<15}{name:<34}{f['rows_read']:>10}{f['rows_published']:>11}"
            f"{f['rows_rejected']:>10}   {f['rows_cleared']:>26}{f['rows_flagged']:>9}{note}"
        )
        for notice in f["notices"]:
            print(f"    note: {notice}")


def _report_koski(mart: Path) -> None:
    """One line per KOSKI report reconciled: how many study rights in both, only in one, and figures differing."""
    import polars as pl

    if not mart.exists():
        return
    for (oid, first, last), rows in pl.read_parquet(mart).group_by(
        "oppilaitos_oid", "period_first_day", "period_last_day", maintain_order=True
    ):
        r = rows.row(0, named=True)
        print(
            f"\n  KOSKI's report {oid} {first}–{last}: {r['rows_matched']} study rights in both, "
            f"{r['rows_only_in_koski']} only in KOSKI, {r['rows_only_ours']} only ours, "
            f"{int(rows['rows_differing'].sum())} figure(s) differ (reports/steward/corrections_koski.csv)"
        )


def _printed(done, as_json: bool) -> int:
    """A run's report (on standard error when ``--json`` asks for its summary alone on standard output)."""
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        code = _report(done)
    if as_json:
        print(json.dumps(done.summary, ensure_ascii=False))
    return code


def _refused(call, *args, **kwargs):
    """``call``'s answer; its refusal (nothing was run or changed) as the command line's usage error."""
    from pipelines.operations.preconditions import Refused

    try:
        return call(*args, **kwargs)
    except Refused as err:
        raise UsageError(str(err)) from None


def _options(args):
    from pipelines.operations.run import Options

    return Options(
        as_of=args.as_of,
        site_config=args.site_config,
        wait=args.wait,
        allow_missing_sources=tuple(args.allow_missing_source or ()),
        allow_shrink=args.allow_shrink,
        rotate_key=args.rotate_key,
        parallel_steps=args.parallel_steps,
        full=args.full,
    )


def cmd_run(args) -> int:
    from pipelines.object_storage import is_remote
    from pipelines.operations.storage import landing_at, warehouse_at
    from pipelines.publishing.warehouse import WarehouseBusy

    try:
        with warehouse_at(args.warehouse, args.wait) as warehouse:
            code = _run(args, landing_at(args.landing), warehouse)
    except WarehouseBusy as err:
        print(f"tiedolla: {err}", file=sys.stderr)
        if args.json:
            print(json.dumps({"outcome": "busy", "reason": str(err), "run_id": None}, ensure_ascii=False))
        return BUSY
    if is_remote(args.warehouse):
        print(f"  written back to {args.warehouse} (its release: {args.warehouse.rstrip('/')}/release.json)")
    return code


def _run(args, landing: Path, warehouse: Path) -> int:
    """A run into a warehouse folder (a working copy, for one on object storage)."""
    from pipelines.ingestion.providers import is_network
    from pipelines.operations.preconditions import check_landing
    from pipelines.operations.run import run
    from pipelines.publishing.pseudonyms import KeyProblem, pseudonym_key
    from pipelines.publishing.warehouse import Warehouse

    if not landing.is_dir():
        raise UsageError(f"landing folder {landing} does not exist")
    if args.koski_password_file:  # (read where KOSKI's reports are, in the run's own process or its workers)
        if not Path(args.koski_password_file).is_file():
            raise UsageError(f"--koski-password-file {args.koski_password_file} is not a file")
        os.environ[PASSWORD_FILE_VARIABLE] = str(Path(args.koski_password_file).resolve())
    if not 1 <= args.parallel_steps <= 64:
        raise UsageError(f"--parallel-steps {args.parallel_steps} is not a number of steps from 1 to 64")
    try:
        key = pseudonym_key(key_file=args.pseudonym_key_file, keep_away_from=(warehouse, landing))
        Warehouse(warehouse).check_key(key, args.rotate_key)  # (a network's: the demo key needs a demo warehouse)
    except KeyProblem as err:
        raise UsageError(str(err)) from None
    if args.dagster:
        return _queued(args.dagster, landing, warehouse)
    if is_network(landing):
        return _network(landing, warehouse, key, _options(args), args.jobs)
    _refused(check_landing, landing, args.as_of, args.site_config)
    print(f"running the pipeline on {landing} -> {warehouse}", file=sys.stderr)
    return _printed(run(landing, warehouse, key.decode(), _options(args)), args.json)


def _network(landing: Path, warehouse: Path, key: bytes, options, jobs: int) -> int:
    """A network's runs (``pipelines/operations/network.py``): each provider's report as it finishes, then the
    network's summary."""
    from pipelines.operations.network import run_network

    done = _refused(run_network, landing, warehouse, key, options, jobs, on_member=_member_report)
    print(f"\nnetwork of {len(done.members)} providers ({landing / 'providers.csv'}):")
    for member in done.members:
        print(f"  {member.provider:<30}{member.name:<40}{member.line}")
    print(f"  {'benchlearning':<70}{done.benchlearning} ({done.benchlearning_seconds:.1f} s)")
    return done.code


def _queued(address: str, landing: Path, warehouse: Path) -> int:
    """The runs submitted to a Dagster instance's run queue (``pipelines/operations/queue.py``), waited for."""
    from pipelines.ingestion.providers import is_network, providers
    from pipelines.operations.queue import Instance, check_serves, run_queued
    from pipelines.publishing.warehouse import NETWORK_FOLDER, Warehouse, provider_folder

    instance = _refused(Instance, address)
    _refused(check_serves, instance, landing, warehouse)
    found = [p.id for p in providers(landing)] if is_network(landing) else None
    done = _refused(run_queued, instance, found, warehouse, lambda line: print(line, file=sys.stderr))
    print(f"\nruns of the Dagster instance at {address} (its UI shows them with their logs):")
    for run in done:
        folder = provider_folder(run.provider) if found and run.provider != NETWORK_FOLDER else run.provider or ""
        version = Warehouse(warehouse / folder).current_version()
        print(f"  {run.provider or 'the run':<30}{run.run_id:<40}{run.status:<10}published version: {version}")
    return 0 if all(run.status == "SUCCESS" for run in done) else 1


def _member_report(member) -> None:
    if member.run is not None:
        _report(member.run)


def cmd_check(args) -> int:
    """A steward's dry run: every export read and validated as a run would, the outcome printed, nothing published."""
    from pipelines.execution import check_landing as validate_landing
    from pipelines.operations.preconditions import check_landing, opened
    from schemas.sources import SOURCES

    landing = Path(args.landing).resolve()
    if not landing.is_dir():
        raise UsageError(f"landing folder {landing} does not exist")
    _refused(check_landing, landing, args.as_of, args.site_config)
    area = _refused(opened, landing, args.site_config)
    area = area.known_on(args.as_of) if args.as_of else area
    present = tuple(s for s in SOURCES if area.exports(s.system))
    files, stopping = validate_landing(area, present)
    print(f"checked {landing} as a run would (nothing published):")
    _print_files(files)
    for system in sorted({s.system for s in SOURCES} - {s.system for s in present}):
        print(f"  {system}: no export in the landing area")
    unreadable = [f["problem"] for f in files.values() if f["problem"]]
    if unreadable or stopping:
        print("\nA RUN WOULD NOT PUBLISH:", file=sys.stderr)
        for line in unreadable + stopping:
            print(f"  {line}", file=sys.stderr)
        return 1
    print("\na run would publish (quarantined rows are normal: they are listed for the stewards)")
    return 0


def cmd_diff(args) -> int:
    """What changed between two kept releases: rows per table and student-years by month."""
    from pipelines.publishing.diff import compared_versions, student_years_by_month, table_changes
    from pipelines.publishing.warehouse import Warehouse

    wh = Warehouse(Path(args.warehouse))
    versions = wh.versions()  # newest first
    try:
        before, after = compared_versions(versions, wh.current_version(), args.from_, args.to)
    except ValueError as err:
        raise UsageError(f"{wh.root / 'versions'}: {err}") from None
    old, new = wh.root / "versions" / before, wh.root / "versions" / after
    as_of = {v["version"]: v["as_of"] for v in versions}
    print(f"from {before} (as of {as_of[before]}) to {after} (as of {as_of[after]}):")
    print(f"  {'table':<36}{'before':>10}{'after':>10}{'added':>9}{'removed':>9}{'changed':>9}")
    for c in table_changes(old, new):
        changed = "" if c.changed is None else c.changed
        print(f"  {c.table:<36}{c.rows_before:>10}{c.rows_after:>10}{c.added:>9}{c.removed:>9}{changed:>9}")
    months = [m for m in student_years_by_month(old, new) if abs((m[2] or 0) - (m[3] or 0)) >= 0.005]
    if not months:
        print("\n  student-years (current formula, all funding): the same in every month")
    else:
        print("\n  student-years by month (current formula, all funding), where they differ:")
        for year, month, b, a in months:
            print(f"    {year}-{month:02d}  {b or 0:>10.2f} -> {a or 0:>10.2f}  ({(a or 0) - (b or 0):+.2f})")
    return 0


def cmd_rollback(args) -> int:
    from pipelines.operations.storage import warehouse_at
    from pipelines.publishing.warehouse import WarehouseBusy

    try:
        with warehouse_at(args.warehouse, everything=not args.list) as warehouse:
            return _versions(args.warehouse, warehouse) if args.list else _rollback(warehouse, args.to)
    except WarehouseBusy as err:
        print(f"tiedolla: {err}", file=sys.stderr)
        return BUSY


def _versions(location: str, warehouse: Path) -> int:
    from pipelines.publishing.warehouse import Warehouse

    wh = Warehouse(warehouse)
    if not (wh.root / "versions").is_dir():
        raise UsageError(f"{location} has no published versions")
    current = wh.current_version()
    for v in wh.versions():
        mark = "*" if v["version"] == current else " "
        print(
            f"{mark} {v['version']}  released {v['released_at']}  as of {v['as_of']}  "
            f"{v['rows_published']} rows published"
        )
    return 0


def _rollback(warehouse: Path, to: str | None) -> int:
    from pipelines.operations.rollback import rollback

    done = _refused(rollback, warehouse, to)
    print(
        f"the release now points at version {done.version} (as of {done.as_of}); published/, tiedolla.duckdb, "
        f"the dashboard and the Data Docs are that version's"
        + ("; the steward report (of the latest run) is marked as not describing it" if done.report_marked else "")
    )
    return 0


def cmd_forecast(args) -> int:
    from pipelines.marts.forecast_answer import answer
    from pipelines.publishing.warehouse import Warehouse

    published = Warehouse(Path(args.warehouse)).published
    if not (published / "mart_student_year_forecast.parquet").is_file():
        raise UsageError(f"{args.warehouse} has no published set: run 'tiedolla run' first")
    if args.month is not None and not 1 <= args.month <= 12:
        raise UsageError(f"--month {args.month} is not a month 1-12")
    print("\n".join(answer(published, args.funding, args.month)))
    return 0


def cmd_demo(args) -> int:
    from pipelines.operations.demo import prepare_demo
    from pipelines.operations.run import Options, run
    from pipelines.publishing.pseudonyms import DEMO_KEY

    if args.network:
        _check_providers(args.providers)
    out = Path(args.dir).resolve() / ("network" if args.network else "")  # (the two demos live side by side)
    what = f"a network of {args.providers} small demo providers" if args.network else "the small demo export"
    print(f"generating {what} into {out / 'landing'} (synthetic data, demo pseudonym key)", file=sys.stderr)
    landing, warehouse = prepare_demo(out, args.providers if args.network else None, args.seed, DEMO_AS_OF)
    if args.network:
        return _network(landing, warehouse, DEMO_KEY.encode(), Options(), args.jobs)
    return _printed(run(landing, warehouse, DEMO_KEY, Options()), as_json=False)


def _landing(args):
    from pipelines.operations.preconditions import opened

    if not Path(args.landing).is_dir():
        raise UsageError(f"landing folder {args.landing} does not exist")
    return _refused(opened, args.landing, args.site_config)


def cmd_student_years(args) -> int:
    from pipelines.execution import calculable_history
    from pipelines.ingestion.problems import FileProblem
    from pipelines.marts.student_year_history import CannotCalculate
    from pipelines.marts.student_year_report import write_held_back, write_report

    if args.to < args.from_:
        raise UsageError(f"--to {args.to} is before --from {args.from_}")
    landing = _landing(args)
    try:
        source = landing.records_source()
        folder = landing.export_folder(source)
        history, held = calculable_history(landing)
    except (FileProblem, CannotCalculate) as err:
        print(f"tiedolla: cannot calculate student-years: {err}", file=sys.stderr)
        return 1
    out = Path(args.out)
    rows = write_report(history, args.from_, args.to, out, args.format)
    print(
        f"{rows} study rights with days from {args.from_} to {args.to} written to {out} ({source} {folder.name})",
        file=sys.stderr,
    )
    held_out = out.with_name(f"{out.stem}_held_back.csv")
    write_held_back(held, held_out)
    print(
        f"{held['study_right_id'].n_unique()} study rights held back or annulled: a rule failed in their own "
        "status timeline, additional periods or type, so their figures are unknown, or they are annulled "
        f"(mitatoity), which KOSKI counts nowhere; listed with the rule in {held_out}",
        file=sys.stderr,
    )
    return 0


def cmd_backtest(args) -> int:
    from pipelines.execution import calculable_history
    from pipelines.ingestion.problems import FileProblem
    from pipelines.marts.backtest import backtest, summary
    from pipelines.marts.student_year_history import CannotCalculate

    try:
        by_member = backtest(
            _landing(args), args.year, args.by, use_plan=not args.without_plan, read=calculable_history
        )
    except (FileProblem, CannotCalculate) as err:
        print(f"tiedolla: cannot backtest {args.year}: {err}", file=sys.stderr)
        return 1
    print(
        f"forecast of {args.year}'s student-years (current formula, all funding) at each month end, "
        "from the export known then; measured over January-November (December's export holds the whole year)"
    )
    # the members first, the total last: the last line is always the whole provider's
    for member in sorted(by_member, key=lambda m: (m == "total", m)):
        results = by_member[member]
        if args.by != "total":
            print(f"\n{args.by}: {member}" if member != "total" else "\ntotal")
        print(
            f"{'month end':<12}{'export':<12}{'forecast':>10}{'low 80%':>10}{'high 80%':>10}{'actual':>10}"
            f"{'error':>9}  inside 80%"
        )
        for r in results:
            print(
                f"{r.month_end.isoformat():<12}{r.export:<12}{r.forecast:>10.1f}{r.low:>10.1f}{r.high:>10.1f}"
                f"{r.actual:>10.1f}{100 * r.error:>8.1f}%  {'yes' if r.inside else 'no'}"
            )
        print(summary(results).line())
    return 0


def cmd_forget(args) -> int:
    from pipelines.forgetting import LookupProblem, Request, with_landing
    from pipelines.operations.preconditions import opened, site
    from pipelines.operations.storage import warehouse_at
    from pipelines.publishing.warehouse import WarehouseBusy

    if args.hetu and not args.landing:
        raise UsageError("--hetu needs --landing: the student number is looked up in its exports")
    request = Request(
        tuple(args.student_number or ()),
        tuple(args.hetu or ()),
        tuple(args.study_right or ()),
        tuple(args.contact_id or ()),
        tuple(args.learner_oid or ()),
    )
    named = (request.student_numbers, request.hetus, request.study_rights, request.contacts, request.learner_oids)
    people = sum(map(len, named))
    if not people:
        raise UsageError(
            "name someone: --student-number, --hetu (with --landing), --study-right, --learner-oid or --contact-id"
        )
    try:
        request = with_landing(request, _refused(opened, args.landing, args.site_config)) if args.landing else request
    except LookupProblem as err:
        raise UsageError(str(err)) from None
    site_waivers = _refused(site, args.site_config).waivers_path if args.site_config else None
    try:
        with warehouse_at(args.warehouse, args.wait, everything=True) as warehouse:
            return _forget(args, warehouse, request, people, site_waivers)
    except WarehouseBusy as err:
        print(f"tiedolla: {err}", file=sys.stderr)
        return BUSY


def _forget(args, warehouse: Path, request, people: int, site_waivers: Path | None) -> int:
    from pipelines.forgetting import forget, warehouse_key
    from pipelines.publishing.pseudonyms import KeyProblem, pseudonym_key
    from pipelines.publishing.warehouse import Warehouse

    wh = Warehouse(warehouse)
    try:
        key = pseudonym_key(key_file=args.pseudonym_key_file, keep_away_from=(warehouse,))
        key = warehouse_key(wh, key)
    except KeyProblem as err:
        raise UsageError(str(err)) from None
    removed = forget(wh, key, request, site_waivers, wait_seconds=args.wait)
    if not removed:
        print(
            f"tiedolla: nothing about {'this person' if people == 1 else 'these people'} was found in "
            f"{args.warehouse}: check the {'contact id' if request.contacts else 'student number'} (an id as the "
            "export writes it, e.g. without spaces); the key is the warehouse's own",
            file=sys.stderr,
        )
        return 1
    print(
        f"removed {sum(removed.values())} row(s) or file(s) about {people} person(s):"
        + "".join(f"\n  {place}: {n}" for place, n in sorted(removed.items()))
    )
    print("Delete or correct them in the source system too: the next run reads what the export holds.", file=sys.stderr)
    return 0


def cmd_waive(args) -> int:
    from pipelines.definitions import WAIVER_FILE
    from pipelines.operations.preconditions import site
    from pipelines.waivers import WaiverError, add_waiver
    from schemas.sources import RULES

    if args.site_config:
        path = _refused(site, args.site_config).waivers_path
        if path is None:
            raise UsageError("the site configuration names no waiver file (waivers: waivers.yaml)")
    elif args.warehouse:
        path = Path(args.warehouse).resolve() / WAIVER_FILE
    else:
        raise UsageError(
            "name the warehouse whose runs the waiver is for (--warehouse), or the site configuration "
            "that names the waiver file (--site-config)"
        )
    entry = {
        "rule": args.rule,
        "source_key": args.key,
        "reason": args.reason,
        "approved_by": args.approved_by,
        "expires": args.expires,
    }
    try:
        waiver = add_waiver(path, entry, set(RULES), dt.date.today())
    except WaiverError as err:
        raise UsageError(str(err)) from None
    print(
        f"waived {waiver.rule} for {waiver.source_key} until {waiver.expires} in {path}; it takes effect in the "
        "next run, whose report lists it"
    )
    return 0


def cmd_decide_match(args) -> int:
    from pipelines.matching.decisions import REVIEW_FILE, DecisionError, add_decision, decide
    from pipelines.operations.preconditions import site
    from pipelines.site import DECISIONS_FILE

    warehouse = Path(args.warehouse).resolve()
    path = _refused(site, args.site_config).decisions_path if args.site_config else warehouse / DECISIONS_FILE
    if path is None:
        raise UsageError("the site configuration names no decisions file (organization_matching.decisions)")
    try:
        decision = decide(
            warehouse / REVIEW_FILE, args.pair, args.decision == "same", args.by, dt.date.today(), args.note or ""
        )
        add_decision(path, decision)
    except DecisionError as err:
        raise UsageError(str(err)) from None
    print(
        f"decided {args.pair} {args.decision}: {decision.a[1]} ({decision.a[0]}) and {decision.b[1]} "
        f"({decision.b[0]}) in {path}; the next run applies it"
    )
    return 0


def cmd_docs(args) -> int:
    from pipelines import docs

    if args.check:
        stale = docs.stale()
        for name in stale:
            print(f"stale: docs/architecture/{name}", file=sys.stderr)
        return 1 if stale else 0
    for name in docs.write():
        print(f"updated docs/architecture/{name}")
    return 0


def cmd_koski_fetch(args) -> int:
    from pipelines.ingestion.koski_fetch import Credentials, FetchProblem, Query, fetch
    from pipelines.ingestion.secrets import SecretProblem, koski_api_user

    landing = Path(args.landing)
    try:
        user, password = koski_api_user(args.password_file, keep_away_from=(landing,))
    except SecretProblem as err:
        raise UsageError(str(err)) from None
    query = Query(
        organisation_oid=args.organisation,
        started_from=args.started_from or Query.started_from,
        changed_since=args.since,
        partitioned=args.partitioned,
    )
    day = args.date or dt.date.today()
    try:
        folder = fetch(args.base_url, Credentials(user, password), query, landing, day, args.poll_seconds)
    except FetchProblem as err:
        print(f"tiedolla: {err}", file=sys.stderr)
        return 1
    print(f"KOSKI's delivery is in {folder}" + (" (changes only)" if query.changed_since else ""))
    return 0


def cmd_key(args) -> int:
    from pipelines.publishing.pseudonyms import new_key

    print(new_key())
    return 0


def parser() -> argparse.ArgumentParser:
    from pipelines.manifest import code_version
    from schemas.sources import SOURCES

    p = argparse.ArgumentParser(
        prog="tiedolla",
        description=__doc__.split("\n")[0],
        epilog=" ".join(__doc__.split("\n\n")[1].replace("``", "'").split()),
    )
    p.add_argument("--version", action="version", version=f"tiedolla {code_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="write a synthetic landing folder with documented defects")
    g.add_argument(
        "--size",
        choices=["small", "medium", "large", "national"],
        default="small",
        help="300, 3,000, 30,000 or 350,000 students (default %(default)s)",
    )
    g.add_argument("--seed", type=int, default=1, help="the random seed: the same seed writes the same data")
    g.add_argument("--out", required=True, help="landing folder to write")
    g.add_argument(
        "--providers",
        type=int,
        metavar="N",
        help="a network of N fictional providers of about --size each, with different profiles (size, fields, "
        "dropout, CRM use): one folder per provider and providers.csv",
    )
    g.add_argument("--as-of", type=_date, default=DEMO_AS_OF, help="export date, YYYY-MM-DD (default %(default)s)")
    g.add_argument(
        "--august-surge",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="a new group starting in August of the previous year, as a share of that August's usual "
        "intake (0.3 = 30 %% more); the intake plans know it, history does not (default 0)",
    )
    g.add_argument(
        "--clean",
        action="store_true",
        help="the same world without its defects: what every figure would be if all records were right",
    )
    g.add_argument(
        "--crm",
        choices=("flat", *SYNAPSE_LAYOUTS),
        default="flat",
        help="the CRM as a flat CSV export, or the same records as Azure Synapse Link for Dataverse writes them: a "
        "table copy written in place or append-only, or incremental folders (default %(default)s)",
    )
    g.set_defaults(func=cmd_generate)
    r = sub.add_parser("run", help="ingest, validate, quarantine and publish a landing folder")
    r.add_argument("--landing", required=True, help="the landing folder: <source>/<YYYY-MM-DD>/ export folders")
    r.add_argument(
        "--warehouse",
        required=True,
        help="the warehouse folder: published/, versions/, quarantine/, reports/ (created if missing)",
    )
    r.add_argument("--as-of", type=_date, help="use the newest export on or before this date (YYYY-MM-DD)")
    r.add_argument("--site-config", default=os.environ.get(SITE_VARIABLE), help=SITE_HELP)
    r.add_argument(
        "--pseudonym-key-file",
        help=f"file holding the pseudonym key (default: ${KEY_FILE_VARIABLE}, else ${KEY_VARIABLE})",
    )
    r.add_argument(
        "--json",
        action="store_true",
        help="print the run's summary (as <warehouse>/run.json has it: outcome, reason, rows per table, seconds per "
        "step) as JSON on stdout; the human summary goes to stderr",
    )
    r.add_argument(
        "--koski-password-file",
        help="file holding the password KOSKI's reports were downloaded with (default: $TIEDOLLA_KOSKI_PASSWORD); "
        "kept outside the landing folder",
    )
    r.add_argument(
        "--allow-missing-source",
        action="append",
        metavar="SOURCE",
        choices=[s.system for s in SOURCES],
        help="publish although the current release has an export of SOURCE (student_admin, crm) and the "
        "landing area has none: its tables are published empty (repeatable)",
    )
    r.add_argument(
        "--allow-shrink",
        action="store_true",
        help="publish although a table would lose more than release.max_shrink_share (site configuration, "
        "default 50 %%) of the current release's rows",
    )
    r.add_argument(
        "--rotate-key",
        action="store_true",
        help="this run changes the pseudonym key on purpose: every pseudonym changes, and the kept older "
        "versions (made with the old key) are removed so no two keys mix (without it, a key other "
        "than the warehouse's is refused)",
    )
    r.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="a network landing area: run N providers at once, each in a process of its own (default 1)",
    )
    r.add_argument(
        "--dagster",
        metavar="HOST:PORT",
        help="submit the runs to the Dagster instance whose webserver is there (its TIEDOLLA_LANDING and "
        "TIEDOLLA_WAREHOUSE must be these) and wait: its run queue runs them, a run per provider, then the "
        "benchlearning, as from its UI or schedule",
    )
    r.add_argument(
        "--full",
        action="store_true",
        help="run every step, even when only some sources changed since the published version (by default a run "
        "recomputes only what a changed export, code or setting reaches, and a run with nothing new runs nothing)",
    )
    r.add_argument(
        "--parallel-steps",
        type=int,
        default=1,
        metavar="N",
        help="run up to N steps of a run at once in N worker processes, each started once per run (a Dagster "
        "executor of this project's: pipelines/step_workers.py; default 1: one at a time in this process)",
    )
    r.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="if another run holds the warehouse, wait this long for it (default: refuse at once)",
    )
    r.set_defaults(func=cmd_run)
    ck = sub.add_parser(
        "check",
        help="a dry run for a steward: read and validate a landing folder exactly as a run would, print what a "
        "run would publish and quarantine and whether it would be refused; publishes and keeps nothing",
    )
    ck.add_argument("--landing", required=True, help="the landing folder: <source>/<YYYY-MM-DD>/ export folders")
    ck.add_argument("--as-of", type=_date, help="use the newest export on or before this date (YYYY-MM-DD)")
    ck.add_argument("--site-config", default=os.environ.get(SITE_VARIABLE), help=SITE_HELP)
    ck.set_defaults(func=cmd_check)
    df = sub.add_parser(
        "diff",
        help="what changed between two kept releases: rows added, removed and changed per table, and the "
        "student-years by month (no row is shown, only counts)",
    )
    df.add_argument("--warehouse", required=True, help="the warehouse folder a run has published into")
    df.add_argument("--from", dest="from_", metavar="RUN", help="the earlier release (default: the one before --to)")
    df.add_argument("--to", metavar="RUN", help="the later release (default: the published one)")
    df.set_defaults(func=cmd_diff)
    rb = sub.add_parser("rollback", help="point the release (and published/) at an earlier kept version")
    rb.add_argument(
        "--warehouse",
        required=True,
        help="the warehouse folder a run has published into",
    )
    rb.add_argument("--to", help="the version (run id) to restore (default: the one before the current)")
    rb.add_argument("--list", action="store_true", help="list the kept versions, * = published now")
    rb.set_defaults(func=cmd_rollback)
    fc = sub.add_parser(
        "forecast",
        help="the published forecast of this year's student-years against the target, "
        "how many more starters reach it, and the intake plan against the actual",
    )
    fc.add_argument("--warehouse", required=True, help="the warehouse folder a run has published into")
    fc.add_argument(
        "--funding",
        choices=["all", "1"],
        default="all",
        help="all funding (default) or funding code 1 (valtionosuusrahoitteinen) only",
    )
    fc.add_argument(
        "--month",
        type=int,
        help="also answer for all the additional starters starting in this month "
        "(1-12), e.g. 8 for an extra August group",
    )
    fc.set_defaults(func=cmd_forecast)
    d = sub.add_parser("demo", help="generate the small demo and run the pipeline on it")
    d.add_argument(
        "--dir",
        default=str(PROJECT / "demo"),
        help="where to put landing/ and warehouse/ (with --network: network/landing/ and network/warehouse/ in it, "
        "beside the single provider's demo)",
    )
    d.add_argument("--seed", type=int, default=1, help="the random seed of the demo data (default %(default)s)")
    d.add_argument(
        "--network",
        action="store_true",
        help="a network of fictional providers instead (one partition each, published into provider=<id>/)",
    )
    d.add_argument("--providers", type=int, default=7, help="with --network: how many (default %(default)s)")
    d.add_argument("--jobs", type=int, default=2, help="with --network: providers run at once (default %(default)s)")
    d.set_defaults(func=cmd_demo)
    y = sub.add_parser("student-years", help="KOSKI's opiskelijavuositiedot per study right for a period, as CSV")
    y.add_argument("--landing", required=True, help="the landing folder: <source>/<YYYY-MM-DD>/ export folders")
    y.add_argument("--from", dest="from_", type=_date, required=True, help="first day, YYYY-MM-DD (inclusive)")
    y.add_argument("--to", type=_date, required=True, help="last day, YYYY-MM-DD (inclusive)")
    y.add_argument(
        "--out",
        required=True,
        help="CSV file to write; the study rights held back are listed beside it (<name>_held_back.csv)",
    )
    y.add_argument(
        "--format",
        choices=["ours", "koski"],
        default="ours",
        help="ours: our column names, ',' and decimal point (default); koski: KOSKI's Finnish headers, "
        "';', decimal comma, dates d.m.yyyy, kyllä/ei",
    )
    y.add_argument("--site-config", default=os.environ.get(SITE_VARIABLE), help=SITE_HELP)
    y.set_defaults(func=cmd_student_years)
    b = sub.add_parser("backtest", help="forecast a past year at each month end from the export known then")
    b.add_argument("--landing", required=True, help="the landing folder: <source>/<YYYY-MM-DD>/ export folders")
    b.add_argument("--year", type=int, required=True, help="the past year to forecast, e.g. 2025")
    b.add_argument(
        "--without-plan",
        action="store_true",
        help="forecast new starts from history alone, ignoring landing/plans/ (to see what the plan adds)",
    )
    b.add_argument(
        "--by",
        choices=["total", "campus", "type"],
        default="total",
        help="also measure each campus or qualification type (type), the total last (default: total only)",
    )
    b.add_argument("--site-config", default=os.environ.get(SITE_VARIABLE), help=SITE_HELP)
    b.set_defaults(func=cmd_backtest)
    f = sub.add_parser(
        "forget",
        help="remove every trace of a person from the warehouse (a data-subject request): "
        "quarantine, failure history, kept versions, step storage, steward reports",
    )
    f.add_argument(
        "--warehouse",
        required=True,
        help="the warehouse folder a run has published into; in a network, the provider's "
        "<warehouse>/provider=<id>/ (with the network's key)",
    )
    f.add_argument("--student-number", action="append", help="a student's number (repeatable)")
    f.add_argument("--hetu", action="append", help="a henkilötunnus, looked up in --landing (repeatable)")
    f.add_argument(
        "--study-right",
        action="append",
        help="a local study-right id (repeatable): one whose student number was mistyped is linked to no one",
    )
    f.add_argument(
        "--landing",
        help="landing folder whose exports (every one of them) give each --hetu its student numbers and each "
        "student number its study rights",
    )
    f.add_argument("--contact-id", action="append", help="a CRM contactid (repeatable)")
    f.add_argument(
        "--learner-oid", action="append", help="a learner OID, as KOSKI's data names the person (repeatable)"
    )
    f.add_argument(
        "--site-config",
        default=os.environ.get(SITE_VARIABLE),
        help=SITE_HELP + "; the waiver file it names loses the person's waivers too",
    )
    f.add_argument(
        "--pseudonym-key-file",
        help=f"file holding the pseudonym key (default: ${KEY_FILE_VARIABLE}, else ${KEY_VARIABLE})",
    )
    f.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="if a run holds the warehouse, wait this long for it (default: refuse at once)",
    )
    f.set_defaults(func=cmd_forget)
    wv = sub.add_parser("waive", help="let one failure be published (flagged) until a date, with a reason")
    wv.add_argument("--rule", required=True, help="rule id, e.g. students.hetu_matches_sex")
    wv.add_argument("--key", required=True, help="the record key the steward report shows")
    wv.add_argument("--reason", required=True, help="why the failure may be published (shown in the steward report)")
    wv.add_argument("--approved-by", required=True, help="who approved the waiver")
    wv.add_argument("--expires", required=True, help="last as-of date it applies (YYYY-MM-DD)")
    wv.add_argument(
        "--site-config",
        default=os.environ.get(SITE_VARIABLE),
        help=f"the site configuration whose waiver file gets the waiver (default: ${SITE_VARIABLE})",
    )
    wv.add_argument(
        "--warehouse",
        help="without a site configuration: the warehouse whose runs the waiver is for "
        "(written to <warehouse>/waivers.yaml)",
    )
    wv.set_defaults(func=cmd_waive)
    dm = sub.add_parser("decide-match", help="settle a doubtful organisation pair of the review queue, once")
    dm.add_argument("pair", help="the pair id the steward report's review list shows")
    dm.add_argument("decision", choices=["same", "different"], help="one organisation, or two")
    dm.add_argument("--by", required=True, help="who decided (kept with the decision)")
    dm.add_argument("--note", help="why (kept with the decision)")
    dm.add_argument("--warehouse", required=True, help="the warehouse whose last run's review queue names the pair")
    dm.add_argument(
        "--site-config",
        default=os.environ.get(SITE_VARIABLE),
        help=f"the site configuration whose decisions file gets the decision (default: ${SITE_VARIABLE}; without "
        "one: <warehouse>/organization_decisions.csv)",
    )
    dm.set_defaults(func=cmd_decide_match)
    doc = sub.add_parser("docs", help="regenerate docs/architecture/ from the schemas")
    doc.add_argument("--check", action="store_true", help="only report stale pages (exit 1 if any)")
    doc.set_defaults(func=cmd_docs)
    ko = sub.add_parser("koski", help="KOSKI's bulk data: fetch the provider's study rights into the landing area")
    ko_sub = ko.add_subparsers(dest="koski_command", required=True, help="fetch: run KOSKI's bulk-data query")
    kf = ko_sub.add_parser(
        "fetch",
        help="run KOSKI's bulk-data query (massaluovutus) and keep its files in <landing>/koski_bulk/<date>/; "
        "the service user from ${TIEDOLLA_KOSKI_API_USER} and its password from --password-file or "
        "${TIEDOLLA_KOSKI_API_PASSWORD}",
    )
    kf.add_argument("--landing", required=True, help="the landing area the delivery goes into")
    kf.add_argument("--base-url", required=True, help="KOSKI's address, e.g. https://virkailija.opintopolku.fi/koski")
    kf.add_argument("--organisation", help="the koulutustoimija's or oppilaitos's OID (default: the user's own)")
    kf.add_argument(
        "--since",
        type=_local_time,
        metavar="DATETIME",
        help="only study rights changed since then (Helsinki time, e.g. 2026-11-01T06:00:00; an hour earlier is "
        "asked, as KOSKI advises): an incremental delivery",
    )
    kf.add_argument(
        "--started-from",
        type=_date,
        metavar="DATE",
        help="only study rights started on or after this day, YYYY-MM-DD (default 2000-01-01)",
    )
    kf.add_argument("--partitioned", action="store_true", help="split large files into parts (*.csv.01, …)")
    kf.add_argument(
        "--date",
        type=_date,
        metavar="DATE",
        help="the delivery's date in the landing area, YYYY-MM-DD (default: today)",
    )
    kf.add_argument("--password-file", help="file holding the service user's password (outside the landing area)")
    kf.add_argument("--poll-seconds", type=float, default=10.0, help="how often the query's status is asked")
    kf.set_defaults(func=cmd_koski_fetch)
    k = sub.add_parser("key", help="a new pseudonym key for a warehouse (keep it outside the warehouse)")
    k.add_argument("action", choices=["new"], help="new: print 256 random bits as hex")
    k.set_defaults(func=cmd_key)
    return p


def _local_only(args) -> None:
    """Object storage (``s3://…``, ``abfs://…``) for the commands that work there; the others say so."""
    from pipelines.object_storage import is_remote
    from pipelines.operations.storage import ON_OBJECT_STORAGE

    for option in ("warehouse", "landing"):
        location = getattr(args, option, None)
        if not (location and is_remote(location)):
            continue
        if args.command not in ON_OBJECT_STORAGE or args.command == "forget" and option == "landing":
            raise UsageError(
                f"--{option} {location}: '{args.command}' works on a local folder; on object storage "
                f"{', '.join(c for c in ON_OBJECT_STORAGE)} do (copy the folder down for the others)"
            )
        if getattr(args, "dagster", None):
            raise UsageError(
                f"--{option} {location} with --dagster: the instance's own runs check the warehouse out of object "
                f"storage; start it with TIEDOLLA_{option.upper()}={location} and launch the runs from its UI or "
                "schedule (docs/architecture/deployment.md)"
            )
        if getattr(args, "parallel_steps", 1) > 1:
            raise UsageError(
                f"--{option} {location} with --parallel-steps: a run's steps in processes of their own would each "
                "check the warehouse out of object storage and take its lock; on object storage a run's steps run "
                "in its one process (leave --parallel-steps at 1, or run on a local folder)"
            )


def main(argv: list[str] | None = None) -> int:
    from pipelines.object_storage import Unreachable

    args = parser().parse_args(argv)
    try:
        _local_only(args)
        return args.func(args)
    except (UsageError, Unreachable) as err:
        print(f"tiedolla: {err}", file=sys.stderr)
        if getattr(args, "json", False):
            print(json.dumps({"outcome": "usage_error", "reason": str(err), "run_id": None}, ensure_ascii=False))
        return 2


if __name__ == "__main__":
    sys.exit(main())
