"""A network's own assets (benchlearning): unpartitioned, after every provider's partition of the release.

They read each provider's published release (never its landing or staging), publish the aggregate mart into
``<warehouse>/network/`` as a version of its own, and write the network page there and each provider's standing
beside its own reports. A provider without a release yet is left out, and one whose latest run was refused is
compared by its last good release, marked stale.
"""

import datetime as dt
import json
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, Failure, MetadataValue, Output, asset

from pipelines.assets.published import RELEASE
from pipelines.dashboard.figures import read_figures
from pipelines.dashboard.network_page import NETWORK_PAGE, standing, write_network_pages
from pipelines.dashboard.page import write_dashboard
from pipelines.files import write_parquet
from pipelines.marts.network import Member, mart_network_benchmark
from pipelines.resources import LandingArea, WarehouseResource
from schemas.network import BENCHMARK

GROUP = "network"
NETWORK_RELEASE = "network_release"


def _members(landing: LandingArea, warehouse: WarehouseResource) -> tuple[list[Member], list[str]]:
    """The providers with a published release (as members), and those without one."""
    members, without = [], []
    for p in landing.providers():
        wh = warehouse.provider_warehouse(p.id)
        if wh.current_version() is None:
            without.append(p.id)
            continue
        release = wh.published.resolve()
        as_of = dt.date.fromisoformat(json.loads((release / "manifest.json").read_text(encoding="utf-8"))["as_of"])
        members.append(Member(p.id, p.name, p.group, release, as_of, wh.stale() is not None))
    return members, without


@asset(
    name=BENCHMARK.name,
    group_name=GROUP,
    deps=[AssetKey(RELEASE)],
    description=BENCHMARK.description,
)
def network_benchmark(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingArea):
    members, without = _members(landing, warehouse)
    if not members:
        raise Failure(description="no provider of the network has a published release yet: there is nothing to compare")
    for pid in without:
        context.log.warning(f"{pid}: no published release yet, left out of the network's figures")
    frame = mart_network_benchmark(members)
    path = warehouse.staging(context.run) / f"{BENCHMARK.name}.parquet"
    write_parquet(frame, path, BENCHMARK.arrow_schema())
    stale = [m.provider_id for m in members if m.is_stale]
    # (the release records the very releases the figures were counted from, even if a provider releases meanwhile)
    return Output(
        {"path": str(path), "members": members},
        metadata={
            "providers": len(members),
            "providers_without_release": MetadataValue.json(without) if without else "none",
            "providers_stale": MetadataValue.json(stale) if stale else "none",
            "rows": frame.height,
            "suppressed": int(frame["is_suppressed"].sum()),
        },
    )


@asset(
    name=NETWORK_RELEASE,
    group_name=GROUP,
    ins={"benchmark": AssetIn(key=AssetKey(BENCHMARK.name))},
    description="Switches the checked network mart in as a version of <warehouse>/network/ (network/published/), "
    "then writes the network page (network/reports/dashboard/index.html, Finnish), each provider's page in the "
    "network (provider=<id>/reports/network/index.html) and its standing on its own dashboard.",
)
def network_release(context: AssetExecutionContext, warehouse: WarehouseResource, benchmark: dict):
    members: list[Member] = benchmark["members"]
    network = warehouse.open()
    manifest = {
        "run_id": context.run.run_id,
        "as_of": max(m.as_of for m in members).isoformat(),
        "providers": {
            m.provider_id: {"version": m.release.name, "as_of": m.as_of.isoformat(), "stale": m.is_stale}
            for m in members
        },
    }
    version = network.release(context.run.run_id, {BENCHMARK.name: Path(benchmark["path"])}, manifest, key=None)
    mart = pl.read_parquet(version / f"{BENCHMARK.name}.parquet")
    pages = write_network_pages(
        mart,
        network.version_reports(version) / "dashboard",
        {m.provider_id: warehouse.provider_warehouse(m.provider_id).root / "reports" / NETWORK_PAGE for m in members},
    )
    for m in members:  # each provider's dashboard (of its published release) gets where it stands now
        wh = warehouse.provider_warehouse(m.provider_id)
        pages.append(
            write_dashboard(
                read_figures(m.release),
                wh.version_reports(m.release) / "dashboard",
                "../steward/index.html",
                f"../{NETWORK_PAGE}/index.html",
                standing(mart, m.provider_id),
                provider=m.name,
            )
        )
    context.log.info(f"network page: {network.root / 'reports' / 'dashboard' / 'index.html'}")
    return Output(str(version), metadata={"version": version.name, "pages": len(pages)})


NETWORK_ASSETS = [network_benchmark, network_release]
