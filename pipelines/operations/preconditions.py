"""What a run must not start with: refused before anything is touched, in words the person who started it can act on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipelines.ingestion.landing import STUDENT_RECORDS, Landing
from pipelines.site import Site, SiteConfigError
from schemas.sources import SOURCES


class Refused(Exception):
    """The request cannot be run as given: nothing was run or changed (the command line's usage error)."""


def site(site_config: str) -> Site:
    """The site configuration named (one that cannot be used is refused)."""
    try:
        return Site.read(site_config)
    except SiteConfigError as err:
        raise Refused(str(err)) from None


def opened(landing: str | Path, site_config: str | None = None) -> Landing:
    """The landing area read with its site configuration (one that cannot be used is refused)."""
    try:
        return Landing.at(landing, site_config)
    except SiteConfigError as err:
        raise Refused(str(err)) from None


def check_landing(landing: Path, as_of: dt.date | None, site_config: str | None) -> None:
    """A site configuration that cannot be used, a folder with no student records (neither a student-administration
    export nor a KOSKI delivery), or a source whose every export is dated after ``as_of`` (a typo that would
    otherwise publish empty tables over the good set). A source with no export at all may be missing (a provider
    without a CRM export)."""
    area = opened(landing, site_config)
    if not any(area.exports(s) for s in STUDENT_RECORDS):
        raise Refused(
            f"{landing} holds no student-administration export (student_admin/<YYYY-MM-DD>/) and no KOSKI delivery "
            "(koski_bulk/<YYYY-MM-DD>/): is it the landing folder?"
        )
    for source in SOURCES:
        exports = area.exports(source.system)
        if exports and as_of and exports[0].name > as_of.isoformat():
            raise Refused(
                f"--as-of {as_of} is before every {source.system} export (the earliest is "
                f"{exports[0].name}); nothing was run or changed"
            )
