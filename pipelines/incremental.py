"""What a run recomputes: nothing, the assets downstream of the sources that changed, or everything.

A published run leaves its step values in run storage (beside the warehouse, the owner's only) with ``state.json``:
the run and the versions it was made from (each landing folder's data version, the code version and the run's
settings: ``pipelines/versions.py``). The next run compares:

- the same versions, and the published version is still that run's: **nothing new**; nothing is run or published;
- only some sources' data versions differ, with the same code and settings: the assets that read those sources and
  every asset downstream of them (Dagster's own asset graph says which); the others' values are loaded from run
  storage, and the release keeps their published tables (linked, byte-identical, not copied);
- anything else (no state, another code version or setting, a rollback, a refused run, ``forget``, a run started
  from the Dagster UI, which writes values without a state): everything.

A run that does not publish clears the run storage (what it left would not match the published set), so the next run
computes everything again.
"""

from __future__ import annotations

import hmac
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from dagster import AssetKey, AssetSelection

from pipelines.assets.organization_master import ORGANIZATION_ASSETS
from pipelines.assets.reconciliation import RECONCILIATION
from pipelines.definitions import WAIVER_FILE, make_definitions
from pipelines.files import atomic_write_bytes
from pipelines.ingestion import ytj
from pipelines.ingestion.secrets import SecretProblem, koski_password
from pipelines.publishing.pseudonyms import fingerprint
from pipelines.publishing.warehouse import Warehouse, provider_folder
from pipelines.run_storage import STATE, apart
from pipelines.site import Site
from pipelines.versions import Checksums, code_version, file_version, source_versions
from schemas import koski_report, plans, student_admin
from schemas.sources import SOURCES

#: beside the run storage: the landing files' checksums by size and modification time
CHECKSUMS = "checksums.json"

#: each landing folder, and the assets that read it (the roots of what its change recomputes)
READERS: dict[str, tuple[AssetKey, ...]] = {
    **{s.system: tuple(AssetKey([s.system, f"raw_{t.name}"]) for t in s.tables) for s in SOURCES},
    plans.SYSTEM: (AssetKey([plans.SYSTEM, plans.INTAKE_PLAN.name]),),
    ytj.SYSTEM: tuple(key for a in ORGANIZATION_ASSETS for key in a.keys),
    koski_report.KOSKI_FILE.source_system: (AssetKey([student_admin.SYSTEM, RECONCILIATION]),),
}


@dataclass(frozen=True)
class Plan:
    """What this run does: ``selection`` None is everything, empty is nothing."""

    versions: dict
    selection: list[AssetKey] | None
    why: str

    @property
    def nothing_new(self) -> bool:
        return self.selection == []


def _password_version(key: bytes, landing: Path) -> str | None:
    """Which KOSKI password the run has (it decides which of KOSKI's encrypted reports open), keyed by the pseudonym
    key so that the state file never holds anything that leads to the password."""
    try:
        password = koski_password(keep_away_from=(landing,))
    except SecretProblem as err:
        return f"unusable: {err}"
    return hmac.new(key, password.encode(), "sha256").hexdigest()[:16] if password else None


def run_versions(landing: Path, storage: Path, site: Site, key: bytes, settings: dict) -> dict:
    """The versions this run would be made from: each source's data, the code, and the settings (the site
    configuration, waivers and match decisions files, the pseudonym key's fingerprint, the KOSKI password's and the
    run's options)."""
    checksums = Checksums(storage.parent / CHECKSUMS)
    sources = source_versions(landing, checksums, set(READERS))
    checksums.save()
    files = {"site": site.file if site.own else None, "waivers": site.waivers_path, "decisions": site.decisions_path}
    return {
        "code": code_version(),
        "settings": {
            **{name: file_version(path) for name, path in files.items()},
            "key": fingerprint(key),
            "koski_password": _password_version(key, landing),
            **settings,
        },
        "sources": sources,
    }


def _state(storage: Path) -> dict | None:
    try:
        return json.loads((storage / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def plan(storage: Path, warehouse: Warehouse, versions: dict, landing: Path, full: bool = False) -> Plan:
    """Compare ``versions`` with those of the run whose values ``storage`` keeps (see the module's docstring)."""
    state = _state(storage)
    if full:
        return Plan(versions, None, "a full run was asked for")
    if state is None:
        return Plan(versions, None, "no earlier run's values are kept")
    if warehouse.current_version() != state.get("run_id") or warehouse.stale():
        return Plan(versions, None, "the published version is not the one the kept values were made from")
    before = state.get("versions", {})
    if before.get("code") != versions["code"]:
        return Plan(versions, None, "the pipeline's code changed")
    if before.get("settings") != versions["settings"]:
        return Plan(versions, None, "the run's settings (site configuration, waivers, decisions, key) changed")
    old, new = before.get("sources", {}), versions["sources"]
    changed = tuple(sorted(s for s in set(old) | set(new) if old.get(s) != new.get(s)))
    if not changed:
        return Plan(versions, [], "the same exports, code and settings as the published version")
    graph = make_definitions(landing, warehouse.root).resolve_asset_graph()
    roots = [key for system in changed for key in READERS[system]]
    selected = AssetSelection.assets(*roots).downstream().resolve(graph)
    return Plan(versions, sorted(selected), f"changed since the published version: {', '.join(changed)}")


def settle(storage: Path, published: bool, run_id: str | None, versions: dict) -> None:
    """After a run: a published run's values stay with their versions (``state.json``); any other run's are cleared
    (they would not match the published set)."""
    if published and run_id and storage.is_dir():
        state = json.dumps({"run_id": run_id, "versions": versions}, indent=2) + "\n"
        atomic_write_bytes(storage / STATE, state.encode(), private=True)
    else:
        shutil.rmtree(storage, ignore_errors=True)


def prepare(
    landing: Path,
    warehouse: Path,
    provider: str | None,
    site_config: str | None,
    key: bytes,
    settings: dict,
    full: bool = False,
) -> tuple[Path, Plan]:
    """The run storage of this run (a network provider's apart) and what the run recomputes."""
    storage = apart(warehouse / ".dagster" / "storage", provider)
    target = warehouse / provider_folder(provider) if provider else warehouse
    site = Site.read(site_config, warehouse_waivers=target / WAIVER_FILE)
    versions = run_versions(landing / provider if provider else landing, storage, site, key, settings)
    return storage, plan(storage, Warehouse(target), versions, landing, full)
