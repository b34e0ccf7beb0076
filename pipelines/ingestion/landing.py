"""The landing area: ``<path>/<source>/<export date>/``, one folder per export; the newest is the current state."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.reading import CsvDialect
from pipelines.site import Site

#: the sources a provider's student records come from, the preferred first (``pipelines/conforming``)
STUDENT_RECORDS = ("student_admin", "koski_bulk")


def _is_date(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
        return True
    except ValueError:
        return False


def dated_folders(root: Path) -> list[Path]:
    """The export folders in ``root`` (``<root>/<YYYY-MM-DD>/``), oldest first."""
    return sorted(p for p in root.glob("*") if p.is_dir() and _is_date(p.name)) if root.is_dir() else []


@dataclass(frozen=True)
class Landing:
    """A landing folder as a run sees it: its exports up to ``as_of`` (all of them when None), read by ``site``."""

    path: Path
    site: Site
    as_of: dt.date | None = None

    @classmethod
    def at(cls, path: str | Path, site_config: str | Path | None = None, as_of: dt.date | None = None) -> Landing:
        return cls(Path(path), Site.read(site_config), as_of)

    def known_on(self, day: dt.date) -> Landing:
        """The same landing folder as it stood on ``day`` (its exports up to then)."""
        return dataclasses.replace(self, as_of=day)

    def run_date(self) -> dt.date:
        """The as-of date of a run: given, else the date of the newest student-administration export (or, with none,
        of the newest KOSKI delivery: the provider's student records either way)."""
        if self.as_of:
            return self.as_of
        if not any(self.has_export(s) for s in STUDENT_RECORDS):
            raise FileProblem(
                str(self.path),
                "no student records: neither a student-administration export (student_admin/<date>/) nor a KOSKI "
                "delivery (koski_bulk/<date>/) was found here",
            )
        return dt.date.fromisoformat(self.export_folder(self.records_source()).name)

    def records_source(self) -> str:
        """The source the student records come from: the first of :data:`STUDENT_RECORDS` with an export."""
        return next((s for s in STUDENT_RECORDS if self.has_export(s)), STUDENT_RECORDS[0])

    def exports(self, source: str) -> list[Path]:
        """Every export folder of ``source``, oldest first, whatever the as-of date."""
        return dated_folders(self.path / source)

    def has_export(self, source: str) -> bool:
        """Whether ``source`` has an export folder on or before the as-of date."""
        return any(not self.as_of or p.name <= self.as_of.isoformat() for p in self.exports(source))

    def export_folder(self, source: str) -> Path:
        """The newest export folder of ``source`` on or before the as-of date."""
        dated = self.exports(source)
        if self.as_of:
            dated = [p for p in dated if p.name <= self.as_of.isoformat()]
        if not dated:
            raise FileProblem(
                str(self.path / source),
                "no export folder (named by its date, e.g. 2026-11-20) was "
                "found here" + (f" on or before {self.as_of}" if self.as_of else ""),
            )
        return dated[-1]

    def dialect(self, source: str) -> CsvDialect:
        delimiter, quote = self.site.delimiter_and_quote(source)
        return CsvDialect(delimiter=delimiter, quote=quote)
