"""Forgetting people (a data-subject request): each found by every link, removed from every place.

A person is named by student number, henkilötunnus, study-right id, learner OID (KOSKI's data) or CRM contact id.
With the landing area, every export of it (not only the newest: an earlier student number or an ended study right is
still in kept versions) adds the student numbers each henkilötunnus had, and each student number's learner OID and
study rights (their ids and KOSKI OIDs). The quarantine adds
the rows whose line holds one of these ids although their link to the person is broken (a study right whose
student number was mistyped and cleared, a unit of a mistyped study right), and their study rights. Then every
place a run leaves personal data is cleared: quarantine and failure history (under any key the warehouse has had),
every kept version, the run storage of the warehouse and of its partition in a network, the staging of runs that
did not finish, waivers and the steward report.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from pipelines.assets.reports import CORRECTED_SYSTEMS
from pipelines.definitions import WAIVER_FILE
from pipelines.ingestion.folder import read_table
from pipelines.ingestion.landing import Landing
from pipelines.publishing.pseudonyms import KeyProblem, provider_key
from pipelines.publishing.star import student_keys, study_right_keys
from pipelines.publishing.warehouse import Warehouse, provider_of
from pipelines.quarantine import forget as forget_failures
from pipelines.quarantine import id_pattern
from pipelines.run_storage import apart
from pipelines.stewardship.corrections import write_correction_lists
from pipelines.stewardship.failure_history import history_path, runs_path
from pipelines.stewardship.steward_report import forget_examples
from pipelines.waivers import forget_waivers
from schemas import crm, koski_bulk, student_admin
from schemas.koski_report import KOSKI_FILE

#: the tables whose record key is a study-right id
_STUDY_RIGHT_KEYED = frozenset(
    {t.name for t in student_admin.SOURCE.tables if t.key[:1] == ("study_right_id",)} | {KOSKI_FILE.name}
)


@dataclass(frozen=True)
class Request:
    """Who is to be forgotten, by the ids the steward was given (and those the landing area adds)."""

    student_numbers: tuple[str, ...] = ()
    hetus: tuple[str, ...] = ()
    study_rights: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    #: the person in KOSKI's data (oppijanumero), and their study rights' OIDs there
    learner_oids: tuple[str, ...] = ()
    study_right_oids: tuple[str, ...] = ()


class LookupProblem(ValueError):
    """An export needed to look a person up could not be read; the message says which and why."""


def with_landing(request: Request, landing: Landing) -> Request:
    """The request with what every student-administration export of ``landing`` links to it: the student numbers
    of its henkilötunnus, then the study rights of its student numbers."""
    hetus = {h.strip().upper() for h in request.hetus}
    numbers, rights = set(request.student_numbers), set(request.study_rights)
    learners, oids = set(request.learner_oids), set(request.study_right_oids)
    exports = [
        (_read(landing, student_admin.STUDENTS, folder), _read(landing, student_admin.STUDY_RIGHTS, folder))
        for folder in landing.exports(student_admin.SYSTEM)
    ]
    hetu = pl.col("hetu").str.strip_chars().str.to_uppercase()
    for students, _ in exports:
        if students is not None:
            numbers |= _texts(students.filter(hetu.is_in(sorted(hetus))), "student_number")
    theirs = pl.col("student_number").str.strip_chars().is_in(sorted(numbers))
    for students, study_rights in exports:
        if students is not None:
            learners |= _texts(students.filter(theirs), "learner_oid")
        if study_rights is not None:
            rights |= _texts(study_rights.filter(theirs), "study_right_id")
            oids |= _texts(study_rights.filter(theirs), "study_right_oid")
    if hetus and not numbers:
        raise LookupProblem(
            f"no export in {landing.path / student_admin.SYSTEM} gives a student number to that henkilötunnus"
        )
    return replace(
        request,
        student_numbers=tuple(sorted(numbers)),
        study_rights=tuple(sorted(rights)),
        learner_oids=tuple(sorted(learners)),
        study_right_oids=tuple(sorted(oids)),
    )


def _texts(frame: pl.DataFrame, column: str) -> set[str]:
    return set(frame[column].str.strip_chars().drop_nulls()) - {""}


def _read(landing: Landing, table, folder: Path) -> pl.DataFrame | None:
    raw = read_table(landing, table, folder)
    if raw.problem and folder == landing.exports(student_admin.SYSTEM)[-1]:
        raise LookupProblem(f"cannot look the person up: {raw.problem}")
    return None if raw.problem else raw.frame


def warehouse_key(wh: Warehouse, key: bytes) -> bytes:
    """The key that made ``wh``'s pseudonyms: a network provider's folder (``provider=<id>``) takes the network's
    key and derives the provider's, as its runs do (its own derived key works too); else the key as given. A key
    that made none of them is :class:`KeyProblem`."""
    provider = provider_of(wh.root)
    if provider:
        derived = provider_key(key, provider)
        try:
            wh.check_key(derived, given=key)
            return derived
        except KeyProblem:
            pass  # (perhaps the provider's own key was given)
    wh.check_key(key)
    return key


def forget(
    wh: Warehouse, key: bytes, request: Request, site_waivers: Path | None = None, wait_seconds: float = 0
) -> dict[str, int]:
    """Every trace of the request's people in ``wh`` (and in ``site_waivers``, the waiver file a site configuration
    names); returns the rows (or files) removed per place. Holds the warehouse's run lock meanwhile (waiting up to
    ``wait_seconds`` for a run that holds it: else :class:`~pipelines.publishing.warehouse.WarehouseBusy`)."""
    with wh.lock("run", wait_seconds=wait_seconds):
        return _forget(wh, key, request, site_waivers)


def _forget(wh: Warehouse, key: bytes, request: Request, site_waivers: Path | None) -> dict[str, int]:
    removed: dict[str, int] = {}
    student_ids = [*request.student_numbers, *request.study_rights]
    found = []
    if student_ids:
        rows, gone = forget_failures(
            wh,
            student_admin.SOURCE,
            list(request.student_numbers),
            key,
            list(request.study_rights),
            (KOSKI_FILE.source_system, koski_bulk.DIFFERENCES_SYSTEM),
        )
        removed |= rows
        found.append(gone)
        linked = gone.filter(pl.col("table").is_in(sorted(_STUDY_RIGHT_KEYED)))["record_key"].drop_nulls()
        rights = sorted({*request.study_rights, *linked})
        removed |= wh.forget_students(
            student_keys(pl.Series(request.student_numbers, dtype=pl.Utf8), key).to_list(),
            study_right_keys(pl.Series(rights, dtype=pl.Utf8), key).to_list(),
        )
    if request.learner_oids or request.study_right_oids:  # (KOSKI's rows name a person by their learner OID)
        rows, gone = forget_failures(
            wh,
            koski_bulk.SOURCE,
            list(request.learner_oids),
            key,
            list(request.study_right_oids),
            (koski_bulk.DIFFERENCES_SYSTEM,),
        )
        removed |= rows
        found.append(gone)
    if request.contacts:
        rows, gone = forget_failures(wh, crm.SOURCE, list(request.contacts), key)
        removed |= rows
        found.append(gone)
    about_key = re.compile(id_pattern([*student_ids, *request.contacts, *request.study_right_oids])).search
    for waivers in dict.fromkeys([wh.root / WAIVER_FILE, *([site_waivers] if site_waivers else [])]):
        place = waivers.relative_to(wh.root) if waivers.is_relative_to(wh.root) else waivers
        removed[str(place)] = forget_waivers(waivers, about_key)
    removed |= _clear_run_files(wh)
    failure_ids = set(pl.concat(found)["failure_id"].drop_nulls()) if found else set()
    removed |= _forget_in_steward_report(wh.root, failure_ids, about_key)
    return {place: n for place, n in removed.items() if n}


def _clear_run_files(wh: Warehouse) -> dict[str, int]:
    """The values a run passes between its steps (kept by a run the Dagster UI or daemon started; in a network,
    under the network's folder per provider) and the tables of runs that never finished: all unpublished personal
    data, so all of it goes (a refused run is then re-run, not re-executed)."""
    storage = [wh.root / ".dagster" / "storage"]
    provider = provider_of(wh.root)
    if provider:
        storage.append(apart(wh.root.parent / ".dagster" / "storage", provider))
    cleared = {}
    for folder in storage:
        if folder.exists():
            held = any(path.is_file() for path in folder.rglob("*"))  # (a working copy may keep an emptied folder)
            shutil.rmtree(folder)
            if held:
                cleared[f"run storage {folder.relative_to(wh.root.parent if provider else wh.root)}"] = 1
    cleared[".staging (runs that did not finish)"] = len(wh.clear_stale_staging())
    return cleared


def _forget_in_steward_report(root: Path, failure_ids: set[str], about_key) -> dict[str, int]:
    """The report's example rows of the removed failures and its rows of their waivers, and correction lists made
    again from the history."""
    steward = root / "reports" / "steward"
    if not steward.is_dir():
        return {}
    rows = forget_examples(steward, failure_ids, lambda key: bool(about_key(key)))
    removed = {"reports/steward/index.html, index.en.html (example rows, waiver rows)": rows}
    if runs_path(root).exists():
        latest = pl.read_parquet(runs_path(root)).sort("recorded_at")["run_id"][-1]
        write_correction_lists(pl.read_parquet(history_path(root)), CORRECTED_SYSTEMS, latest, steward)
    return removed
