"""Published layer: the star schema as Parquet, checked, then switched in as one version."""

from collections.abc import Callable
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, AssetsDefinition, Failure, Output, asset

from pipelines.assets.validated import QUALITY_GATE
from pipelines.files import write_parquet
from pipelines.manifest import build_manifest
from pipelines.publishing import star
from pipelines.publishing.relationships import violations
from pipelines.publishing.warehouse import missing_sources, shrunk_tables
from pipelines.resources import LandingArea, WarehouseResource
from pipelines.validation import TableOutcome
from schemas import published, student_admin
from schemas.sources import SOURCE_TABLES, SOURCES

RELEASE = "published_release"
SYSTEM = student_admin.SYSTEM


def _input(name: str) -> tuple[str, AssetIn]:
    """An input by name: a published table, a source table (its validated rows) or ``prefix/asset``."""
    if name in published.BY_NAME:
        return name, AssetIn(key=AssetKey(name))
    if name in SOURCE_TABLES:
        return name, AssetIn(key=AssetKey([SOURCE_TABLES[name].source_system, f"validated_{name}"]))
    path = name.split("/")
    return path[-1], AssetIn(key=AssetKey(path))


def _upstream(value, columns: list[str] | None = None):
    """Staged published tables arrive as their Parquet path (read whole, or only ``columns``), validated tables
    as outcomes."""
    if isinstance(value, str):
        return pl.read_parquet(value, columns=columns)
    return value.rows() if isinstance(value, TableOutcome) else value


def published_asset(
    name: str, inputs: list[str], build: Callable[..., pl.DataFrame], columns: dict[str, list[str]] | None = None
) -> AssetsDefinition:
    """An asset that builds one published table into this run's staging folder (``build`` returns the table, or
    its parts in order for a table too large to hold whole).

    ``inputs`` name validated source tables (their valid rows arrive as frames), other
    published tables (their staged Parquet arrives read back) or other assets as
    ``prefix/name`` (as they are, under ``name``). ``columns`` limits what is read of a large published input.
    """
    table = published.BY_NAME[name]

    @asset(
        name=name,
        group_name="published",
        ins=dict(_input(i) for i in inputs),
        description=f"{table.description} Grain: {table.grain}",
    )
    def _published(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingArea, **upstream):
        frames = {k: _upstream(v, (columns or {}).get(k)) for k, v in upstream.items()}
        frame = build(frames, key=warehouse.key(), landing=landing)  # (a frame, or its parts in order)
        path = warehouse.staging(context.run) / f"{name}.parquet"
        rows = write_parquet(frame, path, table.arrow_schema())
        context.log.info(f"built {name}: {rows} rows")
        return Output(str(path), metadata={"rows": rows, "staged_at": str(path)})

    return _published


FACTS = [
    "fact_study_right",
    "fact_status_period",
    "fact_additional_period",
    "fact_assessed_unit",
    "fact_workplace_period",
    "fact_crm_activity",
    "fact_partnership",
    "fact_survey_response",
]
MATCHES = "organization_matches"

PUBLISHED_ASSETS = [
    published_asset("dim_student", ["students"], lambda f, key, **_: star.dim_student(f["students"], key)),
    published_asset("dim_qualification", [], lambda f, **_: star.dim_qualification()),
    published_asset("dim_campus", ["study_rights"], lambda f, **_: star.dim_campus(f["study_rights"])),
    published_asset(
        "fact_study_right",
        ["study_rights", "dim_qualification", "dim_campus"],
        lambda f, key, **_: star.fact_study_right(f["study_rights"], f["dim_qualification"], f["dim_campus"], key),
    ),
    published_asset(
        "fact_status_period",
        ["status_periods", "study_rights"],
        lambda f, key, **_: star.fact_status_period(f["status_periods"], f["study_rights"], key),
    ),
    published_asset(
        "fact_additional_period",
        ["additional_periods", "study_rights"],
        lambda f, key, **_: star.fact_additional_period(f["additional_periods"], f["study_rights"], key),
    ),
    published_asset(
        "fact_assessed_unit",
        ["assessed_units", "study_rights", "dim_qualification"],
        lambda f, key, **_: star.fact_assessed_unit(
            f["assessed_units"], f["study_rights"], f["dim_qualification"], key
        ),
    ),
    published_asset(
        "fact_workplace_period",
        ["workplace_periods", "study_rights", MATCHES],
        lambda f, key, **_: star.fact_workplace_period(
            f["workplace_periods"], f["study_rights"], f["organization_matches"], key
        ),
    ),
    published_asset(
        "fact_student_year_target", ["targets"], lambda f, **_: star.fact_student_year_target(f["targets"])
    ),
    published_asset(
        "dim_date", FACTS, lambda f, landing, **_: star.dim_date(list(f.values()), landing.open().run_date())
    ),
]


@asset(
    name=RELEASE,
    group_name="published",
    ins={
        **{t.name: AssetIn(key=AssetKey(t.name)) for t in published.TABLES},
        **{f"{s.system}_summary": AssetIn(key=AssetKey([s.system, QUALITY_GATE])) for s in SOURCES},
    },
    description="Switches the checked tables in as one published version (published/ → versions/<run>), "
    "writes manifest.json and the DuckDB views in tiedolla.duckdb. Runs only when every "
    "blocking check of the published tables passed, and releases nothing when a key of the model "
    "is not unique or a foreign key (a date key to dim_date included) does not resolve.",
)
def published_release(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingArea, **inputs):
    summaries = {s.system: inputs.pop(f"{s.system}_summary") for s in SOURCES}
    tables: dict[str, str] = inputs
    manifest = build_manifest(context.run.run_id, landing.open().run_date(), summaries, landing.open())
    gone = missing_sources(warehouse.open(), manifest["sources"], landing.open().site.missing_sources_allowed)
    if gone:
        raise Failure(
            description="; ".join(gone) + ": the release would publish those tables empty, so nothing is "
            "released (the previous version stays). To publish without a source, say so: tiedolla run "
            "--allow-missing-source SOURCE, or release.allow_missing_sources in the site configuration"
        )
    # (a source the run was allowed to do without empties its tables: that loss was asked for)
    limit = None if missing_sources(warehouse.open(), manifest["sources"], set()) else landing.open().site.shrink_limit
    shrunk = shrunk_tables(warehouse.open(), {k: Path(v) for k, v in tables.items()}, *limit) if limit else []
    if shrunk:
        raise Failure(
            description="; ".join(shrunk) + f" (more than {limit[0]:.0%} fewer than the current release): "
            "nothing is released (the previous version stays). If the export really is that much smaller, "
            "run again with tiedolla run --allow-shrink"
        )
    broken = violations({k: Path(v) for k, v in tables.items()})
    if broken:
        raise Failure(
            description="the staged set breaks the model's keys or relationships, so it is not released "
            "(the previous version stays): " + "; ".join(broken)
        )
    version = warehouse.open().release(
        context.run.run_id,
        {k: Path(v) for k, v in tables.items()},
        manifest,
        warehouse.key(),
        rotate=warehouse.rotate_key,
    )
    context.log.info(f"published {len(tables)} tables: {warehouse.open().published} -> {version.name}")
    return Output(
        str(version),
        metadata={
            "version": version.name,
            "tables": len(tables),
            "rows_read": manifest["totals"]["rows_read"],
            "rows_published": manifest["totals"]["rows_published"],
            "rows_rejected": manifest["totals"]["rows_rejected"],
        },
    )
