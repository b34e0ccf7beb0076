"""The one Dagster code location: ``dagster dev -w workspace.yaml`` and ``tiedolla run`` both use it."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import (
    AssetSelection,
    Definitions,
    StaticPartitionsDefinition,
    define_asset_job,
    definitions,
    in_process_executor,
)

from pipelines.assets.automation import DAILY_AT, daily_schedule, network_sensor, new_export_sensor
from pipelines.assets.checks import CHECKS, model_check
from pipelines.assets.koski_differences import DIFFERENCE_ASSETS
from pipelines.assets.network import GROUP as NETWORK_GROUP
from pipelines.assets.network import NETWORK_ASSETS
from pipelines.assets.organization_master import ORGANIZATION_ASSETS
from pipelines.assets.published import PUBLISHED_ASSETS, published_release
from pipelines.assets.raw import RAW_ASSETS
from pipelines.assets.reconciliation import RECONCILIATION_ASSETS
from pipelines.assets.reports import REPORT_ASSETS
from pipelines.assets.student_records import RECORD_ASSETS
from pipelines.assets.student_years import (
    STUDENT_YEAR_ASSETS,
    intake_plan,
    student_year_calculation,
    student_year_history,
)
from pipelines.assets.validated import VALIDATE_ASSETS
from pipelines.ingestion.providers import is_network, providers
from pipelines.object_storage import is_remote
from pipelines.publishing.warehouse import provider_folder
from pipelines.publishing.working_copy import cache_folder, landing_copy
from pipelines.resources import LandingArea, WarehouseResource
from pipelines.run_storage import RunStorage
from pipelines.step_workers import step_workers_executor
from schemas.network import BENCHMARK

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_LANDING = PROJECT / "demo" / "landing"
DEFAULT_WAREHOUSE = PROJECT / "demo" / "warehouse"
#: a run without a site configuration of its own keeps its waivers beside the warehouse
WAIVER_FILE = "waivers.yaml"
#: the job of every asset and check: what ``tiedolla run`` executes, and "Materialize all" in the UI
PIPELINE_JOB = "tiedolla"
#: a network's own job: its benchlearning assets (unpartitioned), after every provider's partition
NETWORK_JOB = "network"
ASSETS = [
    *RAW_ASSETS,
    *VALIDATE_ASSETS,
    *RECORD_ASSETS,
    student_year_history,
    student_year_calculation,
    intake_plan,
    *ORGANIZATION_ASSETS,
    *PUBLISHED_ASSETS,
    *STUDENT_YEAR_ASSETS,
    *RECONCILIATION_ASSETS,
    *DIFFERENCE_ASSETS,
    published_release,
    *REPORT_ASSETS,
]


def _by_provider(assets: list, providers: list[str]) -> list:
    """Every asset partitioned by the network's providers: a run is one provider's."""
    partitions = StaticPartitionsDefinition(providers)
    return [a.map_asset_specs(lambda spec: spec.replace_attributes(partitions_def=partitions)) for a in assets]


def make_definitions(
    landing: Path | str,
    warehouse: Path | str,
    as_of: str | None = None,
    pseudonym_key: str | None = None,
    site_config: str | None = None,
    loggers: dict | None = None,
    lock_for_run: bool = True,
    allow_missing_sources: list[str] | None = None,
    allow_shrink: bool = False,
    rotate_key: bool = False,
    parallel_steps: int = 1,
    daily_at: str = DAILY_AT,
) -> Definitions:
    remote_landing = str(landing) if is_remote(landing) else None
    remote = str(warehouse) if is_remote(warehouse) else None
    # on object storage: local copies (the landing area's fetched now, the warehouse checked out by each run)
    landing = landing_copy(remote_landing) if remote_landing else Path(landing).resolve()
    warehouse = cache_folder(remote, "warehouse") if remote else Path(warehouse).resolve()
    network = is_network(landing)
    provider_ids = [p.id for p in providers(landing)] if network else None
    waivers = warehouse / (provider_folder("{provider}") if network else "") / WAIVER_FILE
    network_jobs = [define_asset_job(NETWORK_JOB, selection=AssetSelection.groups(NETWORK_GROUP))] if network else []
    return Definitions(
        loggers=loggers,
        assets=[*_by_provider(ASSETS, provider_ids), *NETWORK_ASSETS] if network else ASSETS,
        asset_checks=[*CHECKS, model_check(BENCHMARK)] if network else CHECKS,
        jobs=[
            define_asset_job(PIPELINE_JOB, selection=AssetSelection.all() - AssetSelection.groups(NETWORK_GROUP)),
            *network_jobs,
        ],
        sensors=[
            new_export_sensor(PIPELINE_JOB, landing, provider_ids, remote_landing),
            *([network_sensor(NETWORK_JOB, remote or warehouse, provider_ids, PIPELINE_JOB)] if network else []),
        ],
        schedules=[daily_schedule(PIPELINE_JOB, landing, provider_ids, daily_at)],
        resources={
            "landing": LandingArea(
                path=str(landing),
                as_of=as_of,
                site_config=site_config,
                allow_missing_sources=list(allow_missing_sources or []),
                allow_shrink=allow_shrink,
                warehouse_waivers=str(waivers),
                network=network,
            ),
            "warehouse": WarehouseResource(
                path=str(warehouse),
                remote=remote,
                pseudonym_key=pseudonym_key,
                lock_for_run=lock_for_run,
                rotate_key=rotate_key,
                network=network,
            ),
            # intermediate values (text tables, validated frames) live beside the warehouse
            "io_manager": RunStorage(base_dir=str(warehouse / ".dagster" / "storage")),
        },
        # one step at a time in the run's process, or up to ``parallel_steps`` at once in as many worker processes
        # started once per run (the same definitions run on Dagster's Kubernetes or Celery executors:
        # docs/architecture/deployment.md)
        executor=in_process_executor
        if parallel_steps == 1
        else step_workers_executor.configured({"workers": parallel_steps}),
    )


@definitions
def defs() -> Definitions:
    """What ``dagster dev -w workspace.yaml`` loads: the landing area and warehouse of ``$TIEDOLLA_LANDING`` and
    ``$TIEDOLLA_WAREHOUSE`` (the demo's by default; a folder, or object storage: ``s3://…``). Loaded only when
    Dagster's tools ask for it: ``tiedolla`` builds its own definitions from the folders it is given and never reads
    these."""
    return make_definitions(
        landing=os.environ.get("TIEDOLLA_LANDING") or DEFAULT_LANDING,
        warehouse=os.environ.get("TIEDOLLA_WAREHOUSE") or DEFAULT_WAREHOUSE,
        as_of=os.environ.get("TIEDOLLA_AS_OF") or None,
        daily_at=os.environ.get("TIEDOLLA_DAILY_AT") or DAILY_AT,
        site_config=str(Path(os.environ["TIEDOLLA_SITE_CONFIG"]).resolve())
        if os.environ.get("TIEDOLLA_SITE_CONFIG")
        else None,
    )
