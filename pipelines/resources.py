"""Dagster resources, thin adapters over plain objects: the landing area and its site configuration
(``pipelines/ingestion/landing.py``, ``pipelines/site.py``), the warehouse and the pseudonym key."""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, DagsterRun, InitResourceContext
from pydantic import PrivateAttr

from pipelines.ingestion.landing import Landing
from pipelines.ingestion.providers import Provider, providers
from pipelines.publishing.pseudonyms import provider_key, pseudonym_key
from pipelines.publishing.warehouse import KEEP_VERSIONS, NETWORK_FOLDER, Warehouse, provider_folder
from pipelines.publishing.working_copy import working_copy
from pipelines.run_storage import PARTITION_TAG
from pipelines.site import Site


def run_provider(context: InitResourceContext, network: bool) -> str | None:
    """The provider a run of a network is for: its partition. None outside a network, and for the network's own run
    (its unpartitioned benchlearning assets: Dagster runs a provider's assets only with a partition)."""
    return context.run.tags.get(PARTITION_TAG) if network and context.run else None


class LandingArea(ConfigurableResource):
    """Where the exports land and the run's site configuration; ``open()`` gives the plain :class:`Landing`."""

    path: str
    as_of: str | None = None
    site_config: str | None = None
    #: sources this run may publish without although the current release has them (``--allow-missing-source``)
    allow_missing_sources: list[str] = []
    #: this run may publish tables much smaller than the current release's (``--allow-shrink``)
    allow_shrink: bool = False
    #: the waiver file of a run without a site configuration of its own (beside the warehouse, never in the package);
    #: in a network, ``{provider}`` in it is the run's provider
    warehouse_waivers: str | None = None
    #: a network landing area: each run is one provider's (its partition), ``<path>/<provider>/``
    network: bool = False
    _landing: Landing | None = PrivateAttr(default=None)
    _provider: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._provider = run_provider(context, self.network)

    def open(self) -> Landing:
        """The landing area (a network's: the run's provider's) and its site configuration, read once (a setting
        of the wrong kind stops here)."""
        if self.network and not self._provider:
            raise ValueError("a network's own run reads no export: choose a provider's partition to read its landing")
        if self._landing is None:
            waivers = self.warehouse_waivers
            site = Site.read(
                self.site_config,
                allow_missing_sources=self.allow_missing_sources,
                allow_shrink=self.allow_shrink,
                warehouse_waivers=waivers.format(provider=self._provider) if waivers else None,
            )
            path = Path(self.path) / self._provider if self.network else Path(self.path)
            self._landing = Landing(path, site, dt.date.fromisoformat(self.as_of) if self.as_of else None)
        return self._landing

    def provider_name(self) -> str | None:
        """The name of the provider this run of a network is for (``providers.csv``); None outside a network."""
        return next((p.name for p in self.providers() if p.id == self._provider), None) if self._provider else None

    def providers(self) -> list[Provider]:
        """A network's providers (``providers.csv``), as its partitions are made from them."""
        return providers(Path(self.path))


class WarehouseResource(ConfigurableResource):
    """The warehouse folder, and the secret that keys pseudonyms (never stored with the data)."""

    path: str
    pseudonym_key: str | None = None
    keep_versions: int = KEEP_VERSIONS
    #: take the warehouse's run lock for the whole run (``tiedolla run`` takes it itself and sets this off)
    lock_for_run: bool = True
    #: this run changes the pseudonym key on purpose (``--rotate-key``): older versions go with the old key
    rotate_key: bool = False
    #: a network's: each run is one provider's (its partition), published into ``<path>/provider=<id>/`` with a
    #: pseudonym key of its own
    network: bool = False
    #: the warehouse on object storage (``s3://…``), of which ``path`` is the local working copy: a run launched by
    #: the UI or the daemon (on a machine or pod that shares no disk) checks it out when it starts and pushes it
    #: back when it ends (``pipelines/publishing/working_copy.py``); ``tiedolla run`` does that itself
    remote: str | None = None
    #: the run's lock and working copy, let go of in the reverse order when the run ends
    _held: Any = PrivateAttr(default=None)
    _provider: str | None = PrivateAttr(default=None)

    def open(self) -> Warehouse:
        """The run's warehouse: a network's provider's (``provider=<id>/``) or the network's own (``network/``)."""
        root = Path(self.path)
        if self.network:
            root = root / (provider_folder(self._provider) if self._provider else NETWORK_FOLDER)
        return Warehouse(root, self.keep_versions)

    def provider_warehouse(self, provider: str) -> Warehouse:
        """A network's provider's warehouse, as its own runs open it (for the network's run, which reads them)."""
        return Warehouse(Path(self.path) / provider_folder(provider), self.keep_versions)

    def staging(self, run: DagsterRun) -> Path:
        """The staging folder of a run and of its re-executions (from failure, or of single assets in the UI):
        keyed by the run it re-executes, so a re-execution finds the tables its parent staged."""
        return self.open().staging(run.root_run_id or run.run_id)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """One run at a time per warehouse (a network's: per provider), also for runs started from the Dagster UI;
        on object storage, the run's working copy."""
        self._provider = run_provider(context, self.network)
        with ExitStack() as held:  # (let go of at once if the setup fails, else when the run ends)
            if self.remote:  # a provider's run works on its own warehouse; the network's run on all of them
                url = f"{self.remote.rstrip('/')}/{provider_folder(self._provider)}" if self._provider else self.remote
                held.enter_context(working_copy(url))  # raises WarehouseBusy, in words, when a command holds it
            if self.lock_for_run:
                held.enter_context(self.open().lock("run"))  # raises WarehouseBusy when another run holds it
                run = context.run
                self.open().clear_stale_staging(keep=(run.root_run_id or run.run_id) if run else None)
                self.open().follow_release()  # (a crash may have come between the release and its links)
            self._held = held.pop_all()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Let go of the run's lock; on object storage push what the run wrote (a refused run's quarantine and
        failure history too, as ``tiedolla run`` does)."""
        if self._held is not None:
            held, self._held = self._held, None
            held.close()

    def key(self) -> bytes:
        """The pseudonym key: given, or from the environment (never from the warehouse); the warehouse's own key."""
        given = pseudonym_key(self.pseudonym_key, keep_away_from=(Path(self.path),))
        key = provider_key(given, self._provider) if self._provider else given
        self.open().check_key(key, self.rotate_key, given)
        return key
