"""Dagster resources, thin adapters over plain objects: the landing area and its site configuration
(``pipelines/ingestion/landing.py``, ``pipelines/site.py``), the warehouse and the pseudonym key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, DagsterRun, InitResourceContext
from pydantic import PrivateAttr

from pipelines.ingestion.landing import Landing
from pipelines.publishing.pseudonyms import pseudonym_key
from pipelines.publishing.warehouse import KEEP_VERSIONS, Warehouse
from pipelines.site import Site


class LandingArea(ConfigurableResource):
    """Where the exports land and the run's site configuration; ``open()`` gives the plain :class:`Landing`."""

    path: str
    as_of: str | None = None
    site_config: str | None = None
    #: sources this run may publish without although the current release has them (``--allow-missing-source``)
    allow_missing_sources: list[str] = []
    #: this run may publish tables much smaller than the current release's (``--allow-shrink``)
    allow_shrink: bool = False
    #: the waiver file of a run without a site configuration of its own (beside the warehouse, never in the package)
    warehouse_waivers: str | None = None
    _landing: Landing | None = PrivateAttr(default=None)

    def open(self) -> Landing:
        """The landing area and its site configuration, read once (a setting of the wrong kind stops here)."""
        if self._landing is None:
            site = Site.read(
                self.site_config,
                allow_missing_sources=self.allow_missing_sources,
                allow_shrink=self.allow_shrink,
                warehouse_waivers=self.warehouse_waivers,
            )
            self._landing = Landing(Path(self.path), site, dt.date.fromisoformat(self.as_of) if self.as_of else None)
        return self._landing


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
