"""Waivers: a steward's decision that one failure may be published (flagged) until a date.

They live in ``pipelines/config/waivers.yaml`` (named by ``waivers:`` in site.yaml)::

    waivers:
      - rule: students.hetu_matches_sex
        source_key: "100123"          # the record key the report and correction list show
        reason: Sex corrected in the register; export fixed next month
        approved_by: Data steward M. M.
        expires: 2027-01-31           # on the run's as-of date after this, the failure is open again
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from pipelines.files import atomic_write_bytes
from pipelines.site import Site
from schemas.sources import RULES

FIELDS = ("rule", "source_key", "reason", "approved_by", "expires")


class WaiverError(ValueError):
    """A waiver that cannot be used; the message says which one and why."""


@dataclass(frozen=True)
class Waiver:
    rule: str
    source_key: str
    reason: str
    approved_by: str
    expires: dt.date

    def active_on(self, day: dt.date) -> bool:
        return day <= self.expires


def _waiver(entry: dict, where: str, rules: set[str] | None) -> Waiver:
    missing = [f for f in FIELDS if not str((entry or {}).get(f) or "").strip()]
    if missing:
        raise WaiverError(f"{where}: missing {', '.join(missing)}")
    expires = entry["expires"]
    if not isinstance(expires, dt.date):
        try:
            expires = dt.date.fromisoformat(str(expires))
        except ValueError:
            raise WaiverError(f"{where}: expires '{expires}' is not a date written YYYY-MM-DD") from None
    if rules is not None and entry["rule"] not in rules:
        raise WaiverError(f"{where}: there is no rule '{entry['rule']}' (see docs/architecture/ for rule ids)")
    return Waiver(
        str(entry["rule"]).strip(),
        str(entry["source_key"]).strip(),
        str(entry["reason"]).strip(),
        str(entry["approved_by"]).strip(),
        expires,
    )


def load_waivers(config: dict | None, rules: set[str] | None = None) -> list[Waiver]:
    entries = (config or {}).get("waivers") or []
    return [_waiver(e, f"waiver {i}", rules) for i, e in enumerate(entries, start=1)]


def active_pairs(waivers: list[Waiver], day: dt.date) -> frozenset[tuple[str, str]]:
    """(rule, record key) of the waivers in force on ``day``."""
    return frozenset((w.rule, w.source_key) for w in waivers if w.active_on(day))


def in_force(site: Site, on: dt.date) -> frozenset[tuple[str, str]]:
    """(rule, record key) of the site's waivers in force on ``on``: what every validation of an export applies, in
    the pipeline and in the commands that read an export themselves alike."""
    return active_pairs(load_waivers(site.waivers(), set(RULES)), on)


def add_waiver(path: Path, entry: dict, rules: set[str], today: dt.date) -> Waiver:
    """Check one waiver and append it to the file (written atomically)."""
    waiver = _waiver(entry, "the new waiver", rules)
    if waiver.expires < today:
        raise WaiverError(f"the new waiver: expires {waiver.expires} is already past")
    config = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    existing = load_waivers(config, rules)
    if any((w.rule, w.source_key) == (waiver.rule, waiver.source_key) for w in existing):
        raise WaiverError(f"the new waiver: {waiver.rule} for {waiver.source_key} is already waived in {path}")
    _write(path, [{**asdict(w), "expires": w.expires.isoformat()} for w in [*existing, waiver]])
    return waiver


def _write(path: Path, entries: list[dict]) -> None:
    text = "# Waivers: see pipelines/waivers.py; add one with `tiedolla waive`.\n" + yaml.safe_dump(
        {"waivers": entries}, allow_unicode=True, sort_keys=False
    )
    atomic_write_bytes(path, text.encode("utf-8"), private=True)


def forget_waivers(path: Path, about: Callable[[str], bool]) -> int:
    """Remove the waivers whose record key is about a forgotten person (``about(source_key)``), rewriting the file
    atomically; returns how many were removed. A waiver names its record by the source's own id."""
    if not path.exists():
        return 0
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = config.get("waivers") or []
    kept = [e for e in entries if not about(str((e or {}).get("source_key") or "").strip())]
    if len(kept) != len(entries):
        _write(path, kept)
    return len(entries) - len(kept)
