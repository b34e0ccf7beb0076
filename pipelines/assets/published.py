"""Published layer: the star schema as Parquet, checked, then switched in as one version."""

import datetime as dt
import filecmp
import inspect
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, AssetsDefinition, Failure, Output, asset

from pipelines.assets.student_records import records_key
from pipelines.assets.validated import QUALITY_GATE
from pipelines.files import write_parquet
from pipelines.manifest import build_manifest
from pipelines.pacing import throttled
from pipelines.publishing import star
from pipelines.publishing.relationships import ModelBroken
from pipelines.publishing.warehouse import missing_sources, shrunk_tables
from pipelines.resources import LandingArea, WarehouseResource
from pipelines.validation import TableOutcome
from schemas import plans, published, student_admin
from schemas.metadata import TIMESTAMP
from schemas.sources import SOURCE_TABLES, SOURCES

RELEASE = "published_release"
SYSTEM = student_admin.SYSTEM


#: the assets other than tables that a published table is built from, by the name its builder's parameter gives them
INTERMEDIATE_INPUTS = {
    "organization_matches": AssetKey("organization_matches"),
    "student_year_calculation": AssetKey([SYSTEM, "student_year_calculation"]),
    "koski_reconciliation": AssetKey([SYSTEM, "koski_reconciliation"]),
    "koski_differences": AssetKey([SYSTEM, "koski_differences"]),
    "intake_plan": AssetKey([plans.SYSTEM, plans.INTAKE_PLAN.name]),
    "pseudonyms": AssetKey([SYSTEM, "pseudonyms"]),
}
#: what a builder may ask for besides its inputs: the run's pseudonym key, as-of date, site configuration, landing,
#: and a ``progress`` callback for a long loop (its messages reach the run's progress lines, a few a minute)
RUN_CONTEXT = ("key", "as_of", "site", "landing", "progress")
#: the facts dim_date spans (every fact that declares a date or a timestamp), each with those columns: all dim_date
#: reads of them (the five million assessed units' other columns are most of what it read before)
DATED_FACTS = {
    t.name: dated
    for t in published.TABLES
    if t.name.startswith("fact_") and (dated := [c.name for c in t.columns if c.dtype in (pl.Date, TIMESTAMP)])
}


def _input(name: str) -> AssetIn:
    """A published table, a source table (its validated rows) or an intermediate asset, by name."""
    if name in published.BY_NAME:
        return AssetIn(key=AssetKey(name))
    if name in student_admin.BY_NAME:  # (the student records: from the export or from KOSKI)
        return AssetIn(key=records_key(name))
    if name in SOURCE_TABLES:
        return AssetIn(key=AssetKey([SOURCE_TABLES[name].source_system, f"validated_{name}"]))
    if name in INTERMEDIATE_INPUTS:
        return AssetIn(key=INTERMEDIATE_INPUTS[name])
    raise ValueError(f"{name!r} is neither a published table, a source table nor one of {sorted(INTERMEDIATE_INPUTS)}")


def _this_runs_or_published(staged: str, here: Path, published: Path) -> Path:
    """A published table's Parquet: staged ``here`` by this run, else (a table this run did not rebuild, its sources
    unchanged: ``pipelines/incremental.py``) the ``published`` version's."""
    path = Path(staged)
    return path if path.parent == here else published / path.name


def _upstream(value, here: Path, published: Path, columns: list[str] | None = None):
    """Staged published tables arrive as their Parquet path (read whole, or only ``columns``), validated tables
    as outcomes."""
    if isinstance(value, str):
        return pl.read_parquet(_this_runs_or_published(value, here, published), columns=columns)
    return value.rows() if isinstance(value, TableOutcome) else value


def published_asset(
    build: Callable[..., pl.DataFrame | Iterable[pl.DataFrame]],
    reads: dict[str, list[str]] | None = None,
    spans: list[str] | None = None,
) -> AssetsDefinition:
    """The asset of the published table ``build`` is named for, derived from the table's declaration
    (``schemas/published.py``: description, grain, Parquet schema) and ``build``'s signature.

    Each parameter of ``build`` names an input: a published table (its staged Parquet, read back: only the
    ``reads[name]`` columns of a large one), a source table (its valid rows) or an intermediate asset
    (:data:`INTERMEDIATE_INPUTS`); or the run's context (:data:`RUN_CONTEXT`). A ``**tables`` parameter receives
    the published tables in ``spans``. ``build`` returns the table, or its parts in order for a table too large to
    hold whole; the asset writes it into this run's staging folder.
    """
    name = build.__name__
    if name not in published.BY_NAME:
        raise KeyError(f"{name}: a builder is named for the published table it builds (schemas/published.py)")
    table = published.BY_NAME[name]
    parameters = inspect.signature(build).parameters.values()
    spread = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    inputs = [p.name for p in parameters if p.name not in RUN_CONTEXT and p.kind is not inspect.Parameter.VAR_KEYWORD]
    wanted = [p.name for p in parameters if p.name in RUN_CONTEXT]
    assert spread == bool(spans), f"{name}: a **tables parameter and spans= go together"

    @asset(
        name=name,
        group_name="published",
        ins={i: _input(i) for i in inputs + (spans or [])},
        description=f"{table.description} Grain: {table.grain}",
    )
    def _published(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingArea, **upstream):
        run = {
            "key": warehouse.key,
            "as_of": lambda: landing.open().run_date(),
            "site": lambda: landing.open().site,
            "landing": landing.open,
            "progress": lambda: throttled(context.log.info),
        }
        here, published = warehouse.staging(context.run), warehouse.open().published
        frames = {k: _upstream(v, here, published, (reads or {}).get(k)) for k, v in upstream.items()}
        frame = build(**frames, **{w: run[w]() for w in wanted})
        path = here / f"{name}.parquet"
        if not isinstance(frame, pl.DataFrame):  # (a table written part by part says how far it is)
            frame = _reported(frame, name, throttled(context.log.info))
        rows = write_parquet(frame, path, table.arrow_schema())
        context.log.info(f"built {name}: {rows} rows")
        return Output(str(path), metadata={"rows": rows, "staged_at": str(path)})

    return _published


def _reported(parts: Iterable[pl.DataFrame], name: str, progress) -> Iterator[pl.DataFrame]:
    rows = 0
    for number, part in enumerate(parts, 1):
        rows += part.height
        progress(f"{name}: {number} parts, {rows:,} rows written so far")
        yield part


@asset(
    key=INTERMEDIATE_INPUTS["pseudonyms"],
    group_name="validated",
    ins={"study_rights": AssetIn(key=records_key("study_rights")), "students": AssetIn(key=records_key("students"))},
    description="Every study right's and student's published key (a keyed HMAC of its id), made once per run for "
    "every table that publishes them; never published itself (it holds the source ids).",
)
def pseudonyms(warehouse: WarehouseResource, study_rights: TableOutcome, students: TableOutcome) -> star.Pseudonyms:
    return star.Pseudonyms.of(study_rights.rows(), students.rows(), warehouse.key())


def dim_date(as_of: dt.date, **facts: pl.DataFrame) -> pl.DataFrame:
    return star.dim_date(list(facts.values()), as_of)


PUBLISHED_ASSETS = [
    pseudonyms,
    published_asset(star.dim_student),
    published_asset(star.dim_qualification),
    published_asset(star.dim_campus),
    published_asset(star.fact_study_right),
    published_asset(star.fact_status_period),
    published_asset(star.fact_additional_period),
    published_asset(star.fact_assessed_unit),
    published_asset(star.fact_workplace_period),
    published_asset(star.fact_student_year_target),
    published_asset(dim_date, spans=list(DATED_FACTS), reads=DATED_FACTS),
]


def _release_set(staged: dict[str, str], here: Path, published: Path) -> tuple[dict[str, Path], set[str]]:
    """Each table's Parquet (:func:`_this_runs_or_published`) and the tables the release keeps as the published
    version has them: those this run did not rebuild, and those it rebuilt byte for byte the same."""
    tables = {name: _this_runs_or_published(path, here, published) for name, path in staged.items()}
    not_rebuilt = {name for name, path in tables.items() if path.parent != here}
    missing = sorted(name for name in not_rebuilt if not tables[name].exists())
    if missing:
        raise Failure(
            description=f"{', '.join(missing)}: neither built by this run nor in the published version, so nothing "
            "is released (the previous version stays); run again with tiedolla run --full"
        )
    same = {
        name
        for name, path in tables.items()
        if name not in not_rebuilt
        and (published / path.name).exists()
        and filecmp.cmp(path, published / path.name, shallow=False)
    }
    tables |= {name: published / f"{name}.parquet" for name in same}
    return tables, not_rebuilt | same


@asset(
    name=RELEASE,
    group_name="published",
    ins={
        **{t.name: AssetIn(key=AssetKey(t.name)) for t in published.TABLES},
        **{f"{s.system}_summary": AssetIn(key=AssetKey([s.system, QUALITY_GATE])) for s in SOURCES},
    },
    description="Releases the checked tables as one published version (release.json → versions/<run>), "
    "writes manifest.json and the DuckDB views in tiedolla.duckdb. Runs only when every "
    "blocking check of the published tables passed, and releases nothing when a key of the model "
    "is not unique or a foreign key (a date key to dim_date included) does not resolve.",
)
def published_release(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingArea, **inputs):
    summaries = {s.system: inputs.pop(f"{s.system}_summary") for s in SOURCES}
    here = warehouse.staging(context.run)
    tables, kept = _release_set(inputs, here, warehouse.open().published)
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
    shrunk = shrunk_tables(warehouse.open(), tables, *limit) if limit else []
    if shrunk:
        raise Failure(
            description="; ".join(shrunk) + f" (more than {limit[0]:.0%} fewer than the current release): "
            "nothing is released (the previous version stays). If the export really is that much smaller, "
            "run again with tiedolla run --allow-shrink"
        )
    try:  # (the keys are checked as the version's database declares them, the relationships on its tables)
        version = warehouse.open().release(
            context.run.run_id,
            tables,
            manifest,
            warehouse.key(),
            rotate=warehouse.rotate_key,
            kept=kept,
            staging=here,
        )
    except ModelBroken as broken:
        raise Failure(
            description="the staged set breaks the model's keys or relationships, so it is not released "
            f"(the previous version stays): {broken}"
        ) from None
    context.log.info(
        f"published {len(tables)} tables ({len(kept)} unchanged, kept from the previous version): release.json "
        f"now names version {version.name}"
    )
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
