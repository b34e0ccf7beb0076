"""Great Expectations suites over the published tables, generated from their published models, and Data Docs.

One suite per published table, written from ``schemas/`` (never a second copy of the rules):
the exact column list, not-null and unique columns, and every declarative rule (code list,
pattern, range). Each publish validates the Parquet just switched in (through pandas, see
the stack notes; tables over ``MAX_ROWS`` rows on an even sample of them) and rebuilds the
static Data Docs in ``<warehouse>/reports/data_docs/``, drawn to work offline (``data_docs_offline``): each
validation is named by the version it checked, and each suite says in Finnish what it is. A table a version keeps
unchanged from the one before (the same file, the same expectations) keeps that version's validation and pages.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb

from pipelines.files import atomic_write_json, replace_folder, sql_literal
from pipelines.formats import number
from schemas.metadata import Table
from schemas.published_base import GX_PATTERNS

SITE = "tiedolla"
#: in the Data Docs folder: each table's validation as GX wrote it, for a later version that keeps the table
RESULTS = ".validation_results"
#: rows of a table the suite is run on (spread evenly); larger tables are sampled, and the docs say so
MAX_ROWS = 20_000


def expectations(table: Table) -> list:
    """The table's published model as Great Expectations expectations."""
    import great_expectations as gx

    e = gx.expectations
    out = [e.ExpectTableColumnsToMatchOrderedList(column_list=table.names)]
    for c in table.columns:
        if not c.nullable:
            out.append(e.ExpectColumnValuesToNotBeNull(column=c.name))
        if c.unique:
            out.append(e.ExpectColumnValuesToBeUnique(column=c.name))
        if c.is_text:  # no personal data (one expectation for both patterns: GX's cost is per expectation)
            out.append(e.ExpectColumnValuesToNotMatchRegexList(column=c.name, regex_list=list(GX_PATTERNS)))
        for rule in c.rules:
            if rule.allowed is not None:
                out.append(e.ExpectColumnValuesToBeInSet(column=c.name, value_set=list(rule.allowed)))
            if rule.pattern is not None:
                out.append(e.ExpectColumnValuesToMatchRegex(column=c.name, regex=rule.pattern))
            if rule.between is not None:
                low, high = rule.between
                out.append(e.ExpectColumnValuesToBeBetween(column=c.name, min_value=low, max_value=high))
    return out


def _evenly(path: Path, max_rows: int):
    """At most ``max_rows`` rows spread evenly over the Parquet file (and how many it has), picked inside DuckDB so
    that only those reach pandas (GX on pandas is slow and memory-hungry at national size; the blocking pandera
    checks see every row)."""
    con = duckdb.connect()
    try:
        source = f"read_parquet({sql_literal(path)}, file_row_number = true, hive_partitioning = false)"
        rows = con.sql(f"SELECT count(*) FROM {source}").fetchall()[0][0]
        step = max(1, -(-rows // max_rows))  # every step-th row
        frame = (
            con.sql(
                f"SELECT * EXCLUDE (file_row_number) FROM {source} WHERE file_row_number % {step} = 0 "
                "ORDER BY file_row_number"
            )
            .to_arrow_table()
            .to_pandas()
        )  # (the types pandas gets from Parquet)
        return frame, rows
    finally:
        con.close()


def _notes(table: Table, rows_validated: int, rows: int) -> list[str]:
    """The suite's notes (GX shows them on the suite's page), in the stewards' language."""
    sample = (
        f"Tarkistettu {number(rows_validated)} riviä {number(rows)} rivistä, tasaisesti koko taulusta poimittuna; "
        "julkaisun estävät säännöt (pandera) tarkistavat jokaisen rivin."
        if rows_validated < rows
        else f"Tarkistettu jokainen rivi ({number(rows)})."
    )
    return [
        f"Julkaistun taulun **{table.name}** tarkistukset, luotu sen tietomallista (`schemas/`): sarakkeet "
        "järjestyksessään, pakolliset ja yksilölliset sarakkeet, koodistot, muodot ja vaihteluvälit sekä se, "
        "ettei yhdessäkään tekstisarakkeessa ole henkilötunnusta tai sähköpostiosoitetta.",
        sample,
    ]


def _fingerprint(suite: list) -> str:
    """What a table's expectations are, as one digest: a validation is kept only for the same ones."""
    configurations = [e.configuration.to_json_dict() for e in suite]
    return hashlib.sha256(json.dumps(configurations, sort_keys=True).encode()).hexdigest()


def _kept(published: Path, earlier: Path | None, name: str, fingerprint: str) -> dict | None:
    """The validation of ``name`` in the ``earlier`` version's Data Docs, when this version kept that table (the same
    file, linked: ``pipelines/incremental.py``) and its expectations are the same: the same bytes need no second
    look, nor its pages a second drawing."""
    if earlier is None:
        return None
    table, saved = earlier / f"{name}.parquet", earlier / "reports" / "data_docs" / RESULTS / f"{name}.json"
    if not (table.exists() and saved.exists() and os.path.samefile(published / f"{name}.parquet", table)):
        return None
    if not all((earlier / "reports" / "data_docs" / page).exists() for page in _pages(name)):
        return None
    kept = json.loads(saved.read_text(encoding="utf-8"))
    return kept if kept.get("suite") == fingerprint else None


def _pages(name: str) -> tuple[Path, Path]:
    """A table's pages in Data Docs: its suite's and the folder of its validation's (under the version that made it)."""
    return Path("expectations") / f"{name}.html", Path("validations") / name


def _copy_pages(earlier_docs: Path, docs: Path, name: str) -> None:
    """A kept table's pages as the earlier version drew them (its validation named by the version that made it, so
    the same path)."""
    suite_page, validation = _pages(name)
    (docs / suite_page).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(earlier_docs / suite_page, docs / suite_page)
    shutil.copytree(earlier_docs / validation, docs / validation)


def build_data_docs(
    published: Path,
    tables: list[Table],
    reports: Path,
    max_rows: int = MAX_ROWS,
    version: str | None = None,
    progress: Callable[[str], None] | None = None,
    earlier: Path | None = None,
) -> dict[str, dict]:
    """Validate every published table and rebuild ``reports/data_docs``; returns per table the outcome.
    ``version`` (default: the published folder's name) names each validation's run; ``progress`` hears each table
    done. A table the ``earlier`` version holds in the same file keeps that version's validation."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import expectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from pipelines.stewardship.data_docs_offline import copy_vendor_assets, site_config

    shutil.rmtree(reports / ".gx_project", ignore_errors=True)  # (left by earlier versions)
    docs = reports / "data_docs"
    tmp_docs = reports / ".data_docs.tmp"
    shutil.rmtree(tmp_docs, ignore_errors=True)
    # in memory: suites are generated every run (the models are the truth); only the Data Docs are written
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    ctx.add_data_docs_site(SITE, site_config(tmp_docs))
    run_id = RunIdentifier(run_name=version or published.name)
    source = ctx.data_sources.add_or_update_pandas("published")
    outcome, results, drawn = {}, {}, []
    for done, table in enumerate(tables, 1):
        suite_expectations = expectations(table)
        fingerprint = _fingerprint(suite_expectations)
        kept = _kept(published, earlier, table.name, fingerprint)
        if kept is None:
            frame, rows = _evenly(published / f"{table.name}.parquet", max_rows)
            validated = len(frame)
        else:
            validated, rows = kept["outcome"]["rows_validated"], kept["rows"]
        suite = ctx.suites.add(
            gx.ExpectationSuite(name=table.name, expectations=suite_expectations, notes=_notes(table, validated, rows))
        )
        suite_id = ExpectationSuiteIdentifier(name=table.name)
        if kept is None:
            batch = source.add_dataframe_asset(table.name).add_batch_definition_whole_dataframe("whole table")
            definition = ctx.validation_definitions.add(
                gx.ValidationDefinition(name=table.name, data=batch, suite=suite)
            )
            checkpoint = ctx.checkpoints.add(gx.Checkpoint(name=table.name, validation_definitions=[definition]))
            result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=run_id)
            (key, validation), *_ = result.run_results.items()
            # a dataframe's batch spec has no asset name, and its page would say "Data asset: None"
            validation.meta.setdefault("batch_spec", {})["data_asset_name"] = table.name
            stats = validation.statistics
            outcome[table.name] = {
                "success": bool(result.success),
                "evaluated": int(stats["evaluated_expectations"]),
                "failed": int(stats["unsuccessful_expectations"]),
                "rows_validated": validated,
            }
            saved = validation.to_json_dict()
            drawn += [key, suite_id]
        else:
            saved = kept["validation"]
            validation = expectationSuiteValidationResultSchema.load(saved)
            # (under the run that validated it: the index links the page drawn then, copied from its Data Docs)
            key = ValidationResultIdentifier(suite_id, RunIdentifier(**saved["meta"]["run_id"]), kept["batch"])
            _copy_pages(earlier / "reports" / "data_docs", tmp_docs, table.name)
            outcome[table.name] = kept["outcome"]
        ctx.validation_results_store.set(key, validation)
        results[table.name] = {
            "rows": rows,
            "batch": key.batch_identifier,
            "outcome": outcome[table.name],
            "suite": fingerprint,
            "validation": saved,
        }
        if progress:
            progress(f"Data Docs: {done} of {len(tables)} tables validated")
    # once, with every validation (an action per checkpoint rebuilds it each time); the pages of what was validated
    # now and the index (GX's incremental build: no list, every page)
    ctx.build_data_docs(site_names=[SITE], resource_identifiers=drawn or None)
    copy_vendor_assets(tmp_docs)
    for name, saved in results.items():  # (for the next version that keeps the table)
        atomic_write_json(tmp_docs / RESULTS / f"{name}.json", saved)
    replace_folder(tmp_docs, docs)
    return outcome
