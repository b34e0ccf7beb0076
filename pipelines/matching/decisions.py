"""A steward's decisions on doubtful organisation pairs: ``same`` or ``different``, who, when.

They live in a CSV file (``organization_matching.decisions`` in site.yaml, or
``organization_decisions.csv`` beside the warehouse of a run without a site configuration)
that ``tiedolla decide-match`` appends to and a steward may also edit in Excel. A decision
names both records by their keys in ``bridge_organization_source`` (source system, source id,
Y-tunnus), so it survives new exports and is never applied to records it does not name; the
run never rewrites the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.files import atomic_write_bytes

FIELDS = (
    "pair_id", "decision", "decided_by", "decided_on", "system_a", "record_a", "business_id_a", "system_b",
    "record_b", "business_id_b", "note",
)  # fmt: skip
DECISIONS = ("same", "different")
#: the review queue of a warehouse's last run (in the warehouse), kept for ``tiedolla decide-match``
REVIEW_FILE = Path("stewardship") / "organization_review.parquet"
RecordKey = tuple[str, str, str]  # (source system, source id, Y-tunnus or "")


class DecisionError(ValueError):
    """A decision that cannot be used; the message says which line and why."""


def record_key(system: str, source_id: str, business_id: str | None) -> RecordKey:
    return (system, source_id, business_id or "")


def pair_id(a: RecordKey, b: RecordKey) -> str:
    """A short stable name of a pair of records (the same whichever way round; organisation keys only)."""
    first, second = sorted([a, b])
    return hashlib.sha256("\x1f".join(first + second).encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Decision:
    a: RecordKey
    b: RecordKey
    same: bool
    decided_by: str
    decided_on: dt.date
    note: str = ""
    line: int = 0

    @property
    def pair(self) -> frozenset[RecordKey]:
        return frozenset((self.a, self.b))

    def row(self) -> dict[str, str]:
        return {
            "pair_id": pair_id(self.a, self.b),
            "decision": "same" if self.same else "different",
            "decided_by": self.decided_by,
            "decided_on": self.decided_on.isoformat(),
            "system_a": self.a[0],
            "record_a": self.a[1],
            "business_id_a": self.a[2],
            "system_b": self.b[0],
            "record_b": self.b[1],
            "business_id_b": self.b[2],
            "note": self.note,
        }


def _decision(row: dict[str, str], where: str, line: int) -> Decision:
    missing = [f for f in ("decision", "decided_by", "decided_on", "system_a", "record_a", "system_b", "record_b")
               if not (row.get(f) or "").strip()]  # fmt: skip
    if missing:
        raise DecisionError(f"{where}, line {line}: missing {', '.join(missing)}")
    decision = row["decision"].strip().lower()
    if decision not in DECISIONS:
        raise DecisionError(f"{where}, line {line}: decision '{row['decision']}' is not 'same' or 'different'")
    try:
        day = dt.date.fromisoformat(row["decided_on"].strip())
    except ValueError:
        raise DecisionError(
            f"{where}, line {line}: decided_on '{row['decided_on']}' is not a date YYYY-MM-DD"
        ) from None
    a = record_key(row["system_a"].strip(), row["record_a"].strip(), (row.get("business_id_a") or "").strip())
    b = record_key(row["system_b"].strip(), row["record_b"].strip(), (row.get("business_id_b") or "").strip())
    if a == b:
        raise DecisionError(f"{where}, line {line}: both sides name the same record")
    return Decision(a, b, decision == "same", row["decided_by"].strip(), day, (row.get("note") or "").strip(), line)


def read_decisions(path: Path | None) -> list[Decision]:
    """Every decision in the file, in file order (a later decision on the same pair replaces an earlier one)."""
    if path is None or not path.exists():
        return []
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    absent = {"decision", "system_a", "record_a", "system_b", "record_b"} - set(reader.fieldnames or ())
    if absent:
        raise DecisionError(f"{path}: the header lacks {', '.join(sorted(absent))} (expected {', '.join(FIELDS)})")
    return [_decision(row, str(path), number) for number, row in enumerate(reader, start=2)]


def latest(decisions: list[Decision]) -> dict[frozenset[RecordKey], Decision]:
    """The decision in force for each pair: the last one in the file."""
    return {d.pair: d for d in decisions}


def add_decision(path: Path, decision: Decision) -> None:
    """Append one decision (the file is written whole and atomically; a new file gets the header)."""
    old = path.read_bytes().decode("utf-8-sig") if path.exists() else ""
    read_decisions(path)  # (refuse to append to a file that is already broken)
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS, lineterminator="\r\n")
    if not old:
        writer.writeheader()
    elif not old.endswith(("\n", "\r")):
        out.write("\r\n")
    writer.writerow(decision.row())
    atomic_write_bytes(path, ("\ufeff" + old + out.getvalue()).encode("utf-8"))  # (Excel reads UTF-8 by the BOM)


def decide(review_file: Path, pair: str, same: bool, by: str, day: dt.date, note: str = "") -> Decision:
    """The decision on the pair ``pair`` names in the last run's review queue (``REVIEW_FILE`` of its warehouse: rows
    with ``pair_id`` and both sides' ``source_system``, ``source_id`` and ``business_id`` as ``_a`` / ``_b``)."""
    if not review_file.exists():
        raise DecisionError(f"{review_file.parent.parent} has no review queue yet: run the pipeline first")
    found = pl.read_parquet(review_file).filter(pl.col("pair_id") == pair.strip()).to_dicts()
    if not found:
        raise DecisionError(f"the last run's review queue has no pair '{pair}' (see the steward report's review list)")
    if not by.strip():
        raise DecisionError("say who decided (--by)")
    r = found[0]
    a = record_key(r["source_system_a"], r["source_id_a"], r["business_id_a"])
    b = record_key(r["source_system_b"], r["source_id_b"], r["business_id_b"])
    return Decision(a, b, same, by.strip(), day, note.strip())
