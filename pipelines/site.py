"""The site configuration (``site.yaml`` and the files it names): a plain object, read and checked once per run.

Every layer reads its settings from here (ingestion the headers, delimiter and size limit; the marts the cost
groups and segments; publishing the release guards; stewardship the waivers); the Dagster resources only build it.
A setting of the wrong kind is refused when the file is read, naming the file, the setting and its line, so a run
never stops half-way over a typo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from schemas.crm import DATAVERSE_TABLES
from schemas.sources import SOURCES

DEFAULT_SITE_CONFIG = Path(__file__).parent / "config" / "site.yaml"
DEFAULT_SEGMENTS = "customer_segments.yaml"
DEFAULT_MAX_FILE_MB = 4000
DEFAULT_RETENTION_DAYS = 180
#: a KOSKI report of the largest oppilaitos unpacks to tens of megabytes and about a million cells
DEFAULT_MAX_WORKBOOK_UNPACKED_MB = 500
DEFAULT_MAX_WORKBOOK_CELLS = 5_000_000
SOURCE_SECTIONS = ("student_admin", "crm")


class SiteConfigError(ValueError):
    """A site configuration that cannot be used, in words: file, setting, line and what is expected."""

    def __init__(self, file: Path, setting: str, line: int | None, expected: str):
        where = f"{file}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: the setting {setting} must be {expected}")


def _number(low: float, high: float | None = None) -> tuple[Callable[[object], bool], str]:
    def ok(v: object) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v and (high is None or v <= high)

    return ok, f"a number from {low} to {high}" if high is not None else f"a number of at least {low}"


def _whole(low: int) -> tuple[Callable[[object], bool], str]:
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low), f"a whole number of at least {low}"


def _text_list(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _headers(v: object) -> bool:
    return isinstance(v, dict) and all(
        isinstance(t, dict) and all(isinstance(h, str) for h in t.values()) for t in v.values()
    )


def _oppilaitokset(v: object) -> bool:
    return isinstance(v, dict) and all(
        isinstance(k, str) and k.startswith("1.2.246.562.10.") and _text_list(names) for k, names in v.items()
    )


_CHARACTER = (lambda v: isinstance(v, str) and len(v) == 1), "one character"
_FILE = (lambda v: v is None or isinstance(v, str)), "a file name (relative to the site configuration)"
#: every setting the site configuration may have (a dotted name) → (its check, what it must be)
SETTINGS: dict[str, tuple[Callable[[object], bool], str]] = {
    **{
        f"{s}.{k}": check
        for s in SOURCE_SECTIONS
        for k, check in {
            "delimiter": _CHARACTER,
            "quote": _CHARACTER,
            "headers": (_headers, "table: {column: header} pairs"),
        }.items()
    },
    "organization_matching.match_probability": _number(0, 1),
    "organization_matching.review_probability": _number(0, 1),
    "organization_matching.company_forms": (_text_list, "a list of words"),
    "organization_matching.model": _FILE,
    "organization_matching.decisions": _FILE,
    "customer_segments": _FILE,
    "waivers": _FILE,
    "stewardship.retention_days": _whole(0),
    "quality.max_quarantine_share": _number(0, 1),
    "quality.min_rows": _whole(0),
    "reports.data_docs": ((lambda v: isinstance(v, bool)), "true or false"),
    "release.allow_missing_sources": (_text_list, "a list of source names"),
    "release.max_shrink_share": _number(0, 1),
    "release.min_rows": _whole(0),
    "limits.max_file_mb": _number(0),
    "limits.max_workbook_unpacked_mb": _number(1),
    "limits.max_workbook_cells": _whole(1000),
    "crm.dataverse_tables": (
        lambda v: isinstance(v, dict) and all(_text_list(t) for t in v.values()),
        "table: [Dataverse tables] (logical names, e.g. accounts: [account])",
    ),
    "crm.dataverse_columns": (
        _headers,
        "table: {column: Dataverse column} pairs (e.g. accounts: {business_id: new_ytunnus})",
    ),
    "koski.oppilaitokset": (_oppilaitokset, "oppilaitos OID: [the toimipisteet of the export that belong to it]"),
    "student_years.cost_groups": _FILE,
}
#: the decisions file of a run without a site configuration of its own (beside the warehouse's waivers)
DECISIONS_FILE = "organization_decisions.csv"
SECTIONS = {name.split(".")[0] for name in SETTINGS if "." in name}


def _lines(text: str) -> dict[str, int]:
    """Dotted setting name → the line it is on (for messages)."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = f"{prefix}{key.value}"
                lines[name] = key.start_mark.line + 1
                if name in SECTIONS or name.endswith(".headers") or ".headers." in name:
                    walk(value, name + ".")

    root = yaml.compose(text)
    if root is not None:
        walk(root, "")
    return lines


def _checked(file: Path, text: str) -> dict:
    try:
        settings = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise SiteConfigError(file, "file", mark.line + 1 if mark else None, f"valid YAML ({err})") from None
    if not isinstance(settings, dict):
        raise SiteConfigError(file, "file", 1, "a list of settings (name: value)")
    lines = _lines(text)
    for name, value in settings.items():
        if name in SECTIONS:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise SiteConfigError(file, name, lines.get(name), "a group of settings (name: value)")
            values = {f"{name}.{k}": v for k, v in value.items()}
        else:
            values = {name: value}
        for setting, v in values.items():
            if setting not in SETTINGS:
                raise SiteConfigError(
                    file,
                    setting,
                    lines.get(setting),
                    f"one of the known settings ({', '.join(sorted(SETTINGS))}); check its spelling",
                )
            check, expected = SETTINGS[setting]
            if v is not None and not check(v):
                raise SiteConfigError(file, setting, lines.get(setting), f"{expected} (it is {v!r})")
    _check_headers(file, settings, lines)
    return settings


#: the settings that name a source's tables (and, as a mapping, their columns)
TABLE_SETTINGS = ("headers", "dataverse_tables", "dataverse_columns")


def _check_headers(file: Path, settings: dict, lines: dict[str, int]) -> None:
    """A header mapping names the source's own tables and their columns (a misspelt one would silently map
    nothing, and the file would then fail with a header it lacks, far from the cause)."""
    for source in SOURCES:
        tables = {t.name: t for t in source.tables}
        section = settings.get(source.system) or {}
        named = [
            (kind, table, columns) for kind in TABLE_SETTINGS for table, columns in (section.get(kind) or {}).items()
        ]
        for kind, table, columns in named:
            where = f"{source.system}.{kind}.{table}"
            if table not in tables:
                raise SiteConfigError(
                    file, where, lines.get(where), f"one of the {source.system} tables ({', '.join(tables)})"
                )
            for column in columns if isinstance(columns, dict) else {}:
                if column not in tables[table].names:
                    raise SiteConfigError(
                        file,
                        f"{where}.{column}",
                        lines.get(f"{where}.{column}"),
                        f"one of the columns of {table} ({', '.join(tables[table].names)})",
                    )


@dataclass(frozen=True)
class Site:
    """One run's site configuration: the file's settings and the run's own exceptions to its release guards."""

    file: Path
    settings: dict = field(repr=False)
    #: the run named a site configuration of its own (not the shipped one)
    own: bool = False
    #: sources this run may publish without though the current release has them (``--allow-missing-source``)
    allow_missing_sources: frozenset[str] = frozenset()
    #: this run may publish tables much smaller than the current release's (``--allow-shrink``)
    allow_shrink: bool = False
    #: the waiver file of a run without a site configuration of its own (beside the warehouse, never in the package)
    warehouse_waivers: Path | None = None

    @classmethod
    def read(
        cls,
        file: str | Path | None = None,
        *,
        allow_missing_sources: Iterable[str] = (),
        allow_shrink: bool = False,
        warehouse_waivers: str | Path | None = None,
    ) -> Site:
        path = Path(file) if file else DEFAULT_SITE_CONFIG
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise SiteConfigError(path, "file", None, f"a readable file ({err.strerror})") from None
        return cls(
            path,
            _checked(path, text),
            own=bool(file),
            allow_missing_sources=frozenset(allow_missing_sources),
            allow_shrink=allow_shrink,
            warehouse_waivers=Path(warehouse_waivers) if warehouse_waivers else None,
        )

    def _section(self, name: str) -> dict:
        return self.settings.get(name) or {}

    def _linked(self, name: str | None) -> dict | None:
        """A YAML file the site configuration names (relative to it), or None when it names none."""
        if not name:
            return None
        path = self.file.parent / name
        try:
            with open(path, encoding="utf-8") as f:
                return yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as err:
            raise SiteConfigError(
                self.file, f"the file {path} it names", None, f"a readable YAML file ({err})"
            ) from None

    @cached_property
    def cost_groups(self) -> dict | None:
        """The cost-group weighting configuration named in the site configuration, if any."""
        return self._linked(self._section("student_years").get("cost_groups"))

    @cached_property
    def customer_segments(self) -> dict | None:
        """The customer-segment rules named in the site configuration (default: the shipped rules)."""
        named = self.settings.get("customer_segments")
        return self._linked(named) if named else self._linked(str(DEFAULT_SITE_CONFIG.parent / DEFAULT_SEGMENTS))

    @property
    def waivers_path(self) -> Path | None:
        """The waiver file named in the site configuration, or beside the warehouse when the run has no site
        configuration of its own (it may not exist yet)."""
        if not self.own and self.warehouse_waivers:
            return self.warehouse_waivers
        name = self.settings.get("waivers")
        return self.file.parent / name if name else None

    def waivers(self) -> dict | None:
        """The waivers in force (read when asked: ``tiedolla waive`` changes them between runs)."""
        path = self.waivers_path
        return self._linked(str(path)) if path and path.exists() else None

    @property
    def quality(self) -> dict:
        """Data-quality thresholds (``quality``)."""
        return {"max_quarantine_share": 0.3, "min_rows": 20, **self._section("quality")}

    @property
    def missing_sources_allowed(self) -> set[str]:
        """Sources a run may publish without though the current release has them: named for the run, or for good
        (``release.allow_missing_sources``)."""
        return set(self.allow_missing_sources) | set(self._section("release").get("allow_missing_sources") or [])

    @property
    def shrink_limit(self) -> tuple[float, int] | None:
        """(share, min_rows): a table of at least min_rows rows in the current release may not lose more than share of
        them (``release.max_shrink_share`` / ``release.min_rows``); None when this run is allowed to."""
        release = self._section("release")
        return (
            None
            if self.allow_shrink
            else (float(release.get("max_shrink_share", 0.5)), int(release.get("min_rows", 20)))
        )

    @property
    def data_docs_enabled(self) -> bool:
        return bool(self._section("reports").get("data_docs", True))

    @property
    def organization_matching(self) -> dict:
        """Thresholds of the organisation master (``organization_matching``)."""
        return self._section("organization_matching")

    @property
    def decisions_path(self) -> Path | None:
        """The stewards' organisation-pair decisions: the file the site configuration names, or
        ``organization_decisions.csv`` beside the warehouse when the run has no site configuration of its own (it may
        not exist yet)."""
        if not self.own and self.warehouse_waivers:
            return self.warehouse_waivers.with_name(DECISIONS_FILE)
        name = self.organization_matching.get("decisions")
        return self.file.parent / name if name else None

    @property
    def retention_days(self) -> int:
        """How long a resolved failure keeps its masked value and record key (``stewardship.retention_days``)."""
        return int(self._section("stewardship").get("retention_days", DEFAULT_RETENTION_DAYS))

    @property
    def max_file_bytes(self) -> int:
        """The largest export file read (``limits.max_file_mb``)."""
        return int(float(self._section("limits").get("max_file_mb", DEFAULT_MAX_FILE_MB)) * 1_000_000)

    @property
    def max_workbook_unpacked_bytes(self) -> int:
        """The most a workbook (KOSKI's report) may unpack to (``limits.max_workbook_unpacked_mb``)."""
        limit = self._section("limits").get("max_workbook_unpacked_mb", DEFAULT_MAX_WORKBOOK_UNPACKED_MB)
        return int(float(limit) * 1_000_000)

    @property
    def max_workbook_cells(self) -> int:
        """The most cells a workbook (KOSKI's report) may hold (``limits.max_workbook_cells``)."""
        return int(self._section("limits").get("max_workbook_cells", DEFAULT_MAX_WORKBOOK_CELLS))

    @property
    def koski_oppilaitokset(self) -> dict[str, str]:
        """Toimipiste (as the export writes it) → the oppilaitos OID whose KOSKI report it is compared with
        (``koski.oppilaitokset``: oppilaitos OID → its toimipisteet)."""
        mapping = self._section("koski").get("oppilaitokset") or {}
        return {name: oid for oid, names in mapping.items() for name in names}

    def dataverse_tables(self, table: str) -> tuple[str, ...]:
        """The Dataverse tables a CRM table is read from when the CRM comes through Synapse Link."""
        named = (self._section("crm").get("dataverse_tables") or {}).get(table)
        return tuple(named) if named is not None else DATAVERSE_TABLES.get(table, ())

    def dataverse_columns(self, table: str) -> dict[str, str]:
        """Our column → the Dataverse column it is read from, where it is not the flat export's header (a custom
        column such as the Y-tunnus)."""
        return (self._section("crm").get("dataverse_columns") or {}).get(table) or {}

    def headers(self, source: str, table: str) -> dict[str, str]:
        """The headers this site's ``source`` writes for ``table`` where they differ from the contract."""
        return (self._section(source).get("headers") or {}).get(table) or {}

    def delimiter_and_quote(self, source: str) -> tuple[str, str]:
        section = self._section(source)
        return section.get("delimiter", ";"), section.get("quote", '"')
