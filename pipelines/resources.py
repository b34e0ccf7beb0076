"""Dagster resources: where the exports land, where the warehouse is, the pseudonym key."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from dagster import ConfigurableResource, DagsterRun, InitResourceContext
from pydantic import PrivateAttr

from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.reading import CsvDialect
from pipelines.publishing.pseudonyms import pseudonym_key
from pipelines.publishing.warehouse import KEEP_VERSIONS, Warehouse

DEFAULT_SITE_CONFIG = Path(__file__).parent / "config" / "site.yaml"
DEFAULT_SEGMENTS = DEFAULT_SITE_CONFIG.parent / "customer_segments.yaml"
DEFAULT_MAX_FILE_MB = 4000
DEFAULT_RETENTION_DAYS = 180


class LandingArea(ConfigurableResource):
    """The landing folder: ``<path>/<source>/<export date>/``; the newest export is the current state."""

    path: str
    as_of: str | None = None
    site_config: str | None = None
    #: sources this run may publish without although the current release has them (``--allow-missing-source``)
    allow_missing_sources: list[str] = []
    #: this run may publish tables much smaller than the current release's (``--allow-shrink``)
    allow_shrink: bool = False
    #: the waiver file of a run without a site configuration of its own (beside the warehouse, never in the package)
    warehouse_waivers: str | None = None

    def as_of_date(self) -> dt.date | None:
        return dt.date.fromisoformat(self.as_of) if self.as_of else None

    def run_date(self) -> dt.date:
        """The as-of date of a run: given, else the date of the newest student-administration export."""
        return self.as_of_date() or dt.date.fromisoformat(self.export_folder("student_admin").name)

    def exports(self, source: str) -> list[Path]:
        """Every export folder of ``source``, oldest first, whatever the as-of date."""
        root = Path(self.path) / source
        return sorted(p for p in root.glob("*") if p.is_dir() and _is_date(p.name)) if root.is_dir() else []

    def export_folder(self, source: str) -> Path:
        root = Path(self.path) / source
        dated = self.exports(source)
        if self.as_of:
            dated = [p for p in dated if p.name <= self.as_of]
        if not dated:
            raise FileProblem(str(root), "no export folder (named by its date, e.g. 2026-11-20) was found here"
                              + (f" on or before {self.as_of}" if self.as_of else ""))
        return dated[-1]

    def _site(self) -> dict:
        with open(self.site_config or DEFAULT_SITE_CONFIG, encoding="utf-8") as f:
            return yaml.safe_load(f) or {}

    def _linked(self, name: str | None) -> dict | None:
        """A YAML file the site configuration names (relative to it), or None when it names none."""
        if not name:
            return None
        path = Path(self.site_config or DEFAULT_SITE_CONFIG).parent / name
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f) or {}

    def cost_groups(self) -> dict | None:
        """The cost-group weighting configuration named in the site configuration, if any."""
        return self._linked((self._site().get("student_years") or {}).get("cost_groups"))

    def customer_segments(self) -> dict | None:
        """The customer-segment rules named in the site configuration (default: the shipped rules)."""
        return self._linked(self._site().get("customer_segments") or str(DEFAULT_SEGMENTS))

    def waivers_path(self) -> Path | None:
        """The waiver file named in the site configuration, or beside the warehouse when the run has no site
        configuration of its own (it may not exist yet)."""
        if not self.site_config and self.warehouse_waivers:
            return Path(self.warehouse_waivers)
        name = self._site().get("waivers")
        return Path(self.site_config or DEFAULT_SITE_CONFIG).parent / name if name else None

    def waivers(self) -> dict | None:
        path = self.waivers_path()
        return self._linked(str(path)) if path and path.exists() else None

    def quality(self) -> dict:
        """Data-quality thresholds (``quality`` in the site configuration)."""
        return {"max_quarantine_share": 0.3, "min_rows": 20, **(self._site().get("quality") or {})}

    def missing_sources_allowed(self) -> set[str]:
        """Sources a run may publish without though the current release has them: named for the run, or for good in
        the site configuration (``release.allow_missing_sources``)."""
        return set(self.allow_missing_sources) | set((self._site().get("release") or {}).get("allow_missing_sources")
                                                     or [])

    def shrink_limit(self) -> tuple[float, int] | None:
        """(share, min_rows): a table of at least min_rows rows in the current release may not lose more than share of
        them (``release.max_shrink_share`` / ``release.min_rows``); None when this run is allowed to."""
        release = self._site().get("release") or {}
        return None if self.allow_shrink else (float(release.get("max_shrink_share", 0.5)),
                                               int(release.get("min_rows", 20)))

    def data_docs_enabled(self) -> bool:
        return bool((self._site().get("reports") or {}).get("data_docs", True))

    def organization_matching(self) -> dict:
        """Thresholds of the organisation master (``organization_matching`` in the site configuration)."""
        return self._site().get("organization_matching") or {}

    def retention_days(self) -> int:
        """How long a resolved failure keeps its masked value and record key (stewardship.retention_days)."""
        return int((self._site().get("stewardship") or {}).get("retention_days", DEFAULT_RETENTION_DAYS))

    def max_file_bytes(self) -> int:
        """The largest export file read (``limits.max_file_mb`` in the site configuration)."""
        return int(float((self._site().get("limits") or {}).get("max_file_mb", DEFAULT_MAX_FILE_MB)) * 1_000_000)

    def headers(self, source: str, table: str) -> dict[str, str]:
        return ((self._site().get(source) or {}).get("headers") or {}).get(table) or {}

    def dialect(self, source: str) -> CsvDialect:
        site = self._site().get(source) or {}
        return CsvDialect(delimiter=site.get("delimiter", ";"), quote=site.get("quote", '"'))


def _is_date(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
        return True
    except ValueError:
        return False


class WarehouseResource(ConfigurableResource):
    """The warehouse folder, and the secret that keys pseudonyms (never stored with the data)."""

    path: str
    pseudonym_key: str | None = None
    keep_versions: int = KEEP_VERSIONS
    #: take the warehouse's run lock for the whole run (``tiedolla run`` takes it itself and sets this off)
    lock_for_run: bool = True
    #: this run changes the pseudonym key on purpose (``--rotate-key``): older versions go with the old key
    rotate_key: bool = False
    _run_lock: Any = PrivateAttr(default=None)

    def open(self) -> Warehouse:
        return Warehouse(Path(self.path), self.keep_versions)

    def staging(self, run: DagsterRun) -> Path:
        """The staging folder of a run and of its re-executions (from failure, or of single assets in the UI):
        keyed by the run it re-executes, so a re-execution finds the tables its parent staged."""
        return self.open().staging(run.root_run_id or run.run_id)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """One run at a time per warehouse, also for runs started from the Dagster UI."""
        if self.lock_for_run:
            self._run_lock = self.open().lock("run")
            self._run_lock.__enter__()  # raises WarehouseBusy, in words, when another run holds it
            run = context.run
            self.open().clear_stale_staging(keep=(run.root_run_id or run.run_id) if run else None)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._run_lock is not None:
            self._run_lock.__exit__(None, None, None)
            self._run_lock = None

    def key(self) -> bytes:
        """The pseudonym key: given, or from the environment (never from the warehouse); the warehouse's own key."""
        key = pseudonym_key(self.pseudonym_key, keep_away_from=(Path(self.path),))
        self.open().check_key(key, self.rotate_key)
        return key
