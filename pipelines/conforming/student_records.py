"""The student records a run counts: the Primus-style export's tables when the landing area has one, else KOSKI's.

With both, the provider's own export is the model (it is what KOSKI is fed from, and holds what KOSKI lacks: the
students' details, workplace periods, targets) and KOSKI's data is what it is reconciled against. With KOSKI alone,
its deliveries are the model: the newest full delivery, then every later incremental one in order (fetched with
``muuttunutJälkeen``), each replacing the study rights it holds and removing those KOSKI has annulled
(``koski-bulk.md`` A8). A full delivery replaces everything before it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.conforming.koski_bulk import OID, as_student_records
from pipelines.ingestion.folder import read_folder
from pipelines.ingestion.landing import Landing
from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.reading import RawTable
from pipelines.validation import TableOutcome, validate_export
from pipelines.waivers import in_force
from schemas import koski_bulk, student_admin

#: what ``tiedolla koski fetch`` writes beside KOSKI's files: the query, so a reader knows a delivery's kind
QUERY_FILE = "query.json"
#: the query parameter that makes a delivery incremental (only study rights changed since)
CHANGED_SINCE = "muuttunutJälkeen"
#: the query parameter a delivery's study rights started on or after
STARTED_FROM = "alkanutAikaisintaan"
RIGHT = "study_right_id"


@dataclass(frozen=True)
class KoskiDelivery:
    """One validated KOSKI delivery: its folder, its validated tables and what was read (for the OIDs it holds)."""

    folder: Path
    outcomes: dict[str, TableOutcome]
    raws: dict[str, RawTable]

    def held_oids(self) -> pl.Series:
        """Every study right the delivery names, valid or not, annulled or not: an incremental delivery replaces
        (or removes) each of them."""
        named = [
            raw.frame[OID]
            for table in (koski_bulk.STUDY_RIGHTS.name, koski_bulk.ANNULLED.name)
            if (raw := self.raws[table]).frame is not None
        ]
        return pl.concat(named).drop_nulls().unique() if named else pl.Series(OID, [], pl.Utf8)


def _query(folder: Path) -> dict:
    """The query a delivery was fetched with (``query.json``), empty for a delivery without one."""
    try:
        record = json.loads((folder / QUERY_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise FileProblem(str(folder / QUERY_FILE), f"cannot be read as JSON ({err})") from None
    return record.get("query") or {} if isinstance(record, dict) else {}


def is_incremental(folder: Path) -> bool:
    """Whether a KOSKI delivery holds only the study rights changed since a moment (its ``query.json`` says so); a
    delivery without one was fetched by hand and is taken as full."""
    return bool(_query(folder).get(CHANGED_SINCE))


def koski_chain(landing: Landing) -> list[Path]:
    """The KOSKI deliveries the state on the as-of date is made of: the newest full one and every later one."""
    on_or_before = landing.as_of.isoformat() if landing.as_of else "9999"
    folders = [f for f in landing.exports(koski_bulk.SYSTEM) if f.name <= on_or_before]
    full = [i for i, f in enumerate(folders) if not is_incremental(f)]
    return folders[full[-1] if full else 0 :]


def read_delivery(landing: Landing, folder: Path, run_id: str) -> KoskiDelivery:
    """Read and validate one KOSKI delivery exactly as a run validates the newest one (its rules, the waivers in force
    on the landing area's run date)."""
    raws = read_folder(landing, koski_bulk.TABLES, folder)
    outcomes = validate_export(koski_bulk.SOURCE, raws, run_id, in_force(landing.site, landing.run_date()))
    return KoskiDelivery(folder, outcomes, raws)


def with_earlier(
    landing: Landing, newest: dict[str, TableOutcome], raws: dict[str, RawTable], run_id: str
) -> list[KoskiDelivery]:
    """The deliveries the state on the run date is made of (:func:`koski_chain`), oldest first: the earlier ones read
    and validated here, the newest as the run's own assets validated it (``newest``, read as ``raws``)."""
    *earlier, last = koski_chain(landing)
    return [*(read_delivery(landing, folder, run_id) for folder in earlier), KoskiDelivery(last, newest, raws)]


def koski_records(deliveries: list[KoskiDelivery]) -> dict[str, TableOutcome]:
    """The student records of KOSKI's deliveries, oldest first: each later one replaces the study rights it names."""
    state = as_student_records(deliveries[0].outcomes, deliveries[0].raws)
    for delivery in deliveries[1:]:
        later = as_student_records(delivery.outcomes, delivery.raws)
        state = _replaced(state, later, delivery.held_oids())
    return state


def _replaced(state: dict[str, TableOutcome], later: dict[str, TableOutcome], oids: pl.Series):
    if any(o.valid is None for o in (*state.values(), *later.values())):
        return later if any(o.valid is None for o in later.values()) else state
    gone = oids.implode()
    merged = {}
    for name, outcome in state.items():
        new = later[name]
        if RIGHT in outcome.valid.columns:
            valid = pl.concat([outcome.valid.filter(~pl.col(RIGHT).is_in(gone)), new.valid])
        else:  # students and targets: the later row of the same key
            valid = pl.concat([outcome.valid, new.valid]).unique(
                list(student_admin.BY_NAME[name].key), keep="last", maintain_order=True
            )
        failures = pl.concat([outcome.failures.filter(~pl.col("record_key").is_in(gone)), new.failures])
        merged[name] = TableOutcome(name, outcome.source_file, valid, failures, valid.height)
    people = merged["study_rights"].valid["student_number"].implode()
    students = merged["students"]
    students.valid = students.valid.filter(pl.col("student_number").is_in(people))
    return merged


def records_as_of(landing: Landing, run_id: str = "read") -> dict[str, TableOutcome]:
    """The student records of the landing area as it stood on its run date: its newest Primus-style export, else its
    KOSKI deliveries; read and validated as a run does. For what the run itself does not read (an older day's state);
    a run gets its records from its assets (``pipelines/assets/student_records.py``)."""
    if landing.has_export(student_admin.SYSTEM):
        raws = read_folder(landing, student_admin.TABLES, landing.export_folder(student_admin.SYSTEM))
        return validate_export(student_admin.SOURCE, raws, run_id, in_force(landing.site, landing.run_date()))
    if landing.has_export(koski_bulk.SYSTEM):
        return koski_records([read_delivery(landing, f, run_id) for f in koski_chain(landing)])
    raise FileProblem(
        str(landing.path),
        f"no student records: neither a student-administration export ({student_admin.SYSTEM}/<date>/) nor a KOSKI "
        f"delivery ({koski_bulk.SYSTEM}/<date>/)" + (f" on or before {landing.as_of}" if landing.as_of else ""),
    )


def source_ids(deliveries: list[KoskiDelivery]) -> pl.DataFrame:
    """Every valid study right of KOSKI's deliveries with its source-system id (``lahdejarjestelma_id``), as the
    newest delivery naming it has it; one annulled since is gone."""
    state = pl.DataFrame(schema={OID: pl.Utf8, "source_system_id": pl.Utf8})
    for delivery in deliveries:
        rights = delivery.outcomes[koski_bulk.STUDY_RIGHTS.name].rows().select(OID, "source_system_id")
        state = pl.concat([state.filter(~pl.col(OID).is_in(delivery.held_oids().implode())), rights])
    return state.unique(OID, keep="last", maintain_order=True)


def annulled(deliveries: list[KoskiDelivery]) -> pl.Series:
    """The study rights KOSKI has annulled, as the deliveries last said (one delivered again later is not)."""
    gone: set[str] = set()
    for delivery in deliveries:
        now = delivery.outcomes[koski_bulk.ANNULLED.name].rows()[OID]
        gone = (gone - set(delivery.held_oids())) | set(now)
    return pl.Series(OID, sorted(gone), pl.Utf8)


def started_from(folder: Path) -> dt.date | None:
    """The earliest start the delivery's query asked for (``alkanutAikaisintaan``): an older study right of ours is
    not missing from it. None when not known."""
    since = _query(folder).get(STARTED_FROM)
    try:
        return dt.date.fromisoformat(since) if since else None
    except ValueError:
        raise FileProblem(str(folder / QUERY_FILE), f"{STARTED_FROM} '{since}' is not a date") from None
