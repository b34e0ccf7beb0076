"""A warehouse on object storage, worked on through a local working copy.

A run, a rollback or a forget on a warehouse at ``s3://…`` (or Azure's ``abfs://…``) takes the warehouse's lock
object, checks the warehouse out into a local folder, does there exactly what it does on a local warehouse, and
pushes what changed back, in an order that keeps every reader safe:

1. every new or changed file of a version, a new version marked first as being gathered (``.gathering``), so a
   crash in the middle leaves a version that is never offered for rollback and goes with the next release;
2. then each warehouse's ``release.json`` (a network holds one per provider and the network's own), replaced only
   if it is still the one checked out (a conditional write on its ETag): the moment of release, as the atomic
   replace is on local disk. A reader following it sees the old version whole before and the new one after;
3. then the rest (the manifest copy, quarantine, steward report, failure history, run storage), and last what went
   (pruned versions), never anything a release still names.

The lock is an object created only if absent (a conditional write), so two runs on machines that share no disk
cannot both hold it. It names its holder and lasts ``LEASE``: a lock left by a killed run is taken over after its
lease, or at once on the machine whose process held it if that process is gone.

Only what a command needs is fetched: every version's ``manifest.json`` (to list and prune versions), the
released version's files (the base of a run that keeps unchanged tables), and with ``everything`` (forget, which
removes a person from every kept version; a rollback, which may return to any) every version's files. The working
copy stays in the cache (``TIEDOLLA_CACHE``, by default ``~/.cache/tiedolla``), so a machine that ran before fetches
only what changed; one that shares no disk with the last fetches it all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipelines import failpoints
from pipelines.files import atomic_write_json
from pipelines.object_storage import Bucket, Entry, is_remote
from pipelines.publishing.warehouse import (
    GATHERING,
    PROVIDER_PREFIX,
    RELEASE_POINTER,
    STALE,
    Warehouse,
    WarehouseBusy,
)

#: how long a lock object holds if its holder never lets go (a killed run's; a run takes minutes)
LEASE = dt.timedelta(hours=6)
LOCK = ".run.lock"
#: what stays on the machine: local locks and a run's staging
LOCAL_ONLY = {LOCK, ".release.lock", ".staging"}
CACHE_VARIABLE = "TIEDOLLA_CACHE"
#: what a working copy holds of its warehouse, beside the copy (never pushed)
RECORD_SUFFIX = ".checkout.json"


class ReleaseMoved(RuntimeError):
    """Another writer released into the warehouse while this one worked: nothing of this one was released."""


def cache_folder(url: str, kind: str) -> Path:
    """The local copy of ``url`` (``kind``: landing or warehouse) in the cache: named as the URL's last part, so
    that a network provider's copy is a ``provider=<id>`` folder as on local disk (its key is derived by that).
    A network provider's warehouse is checked out inside its network's copy, where the network's run has it."""
    parent, name = url.rstrip("/").rsplit("/", 1)
    if name.startswith(PROVIDER_PREFIX):
        return cache_folder(parent, kind) / name
    root = Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "tiedolla")
    return root / kind / hashlib.sha256(url.encode()).hexdigest()[:16] / name


@contextlib.contextmanager
def locked(bucket: Bucket, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's lock object (see the module's docstring); :class:`WarehouseBusy` in words when another
    holder has it past ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    while True:
        now = dt.datetime.now(dt.UTC)
        mine = json.dumps(
            {
                "holder": f"pid {os.getpid()} on {socket.gethostname()}",
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "since": now.isoformat(timespec="seconds"),
                "until": (now + LEASE).isoformat(timespec="seconds"),
            }
        ).encode()
        if bucket.create(LOCK, mine):
            break
        held = bucket.read(LOCK)
        if held is None:
            continue  # (let go just now)
        holder = json.loads(held[0])
        if _abandoned(holder, now) and bucket.replace(LOCK, mine, held[1]):
            break
        if time.monotonic() >= deadline:
            raise WarehouseBusy(
                f"the warehouse {bucket} is in use by {holder['holder']} since {holder['since']}; wait until it has "
                "finished (or use --wait), nothing was changed"
            )
        time.sleep(1)
    try:
        yield
    finally:
        bucket.delete([LOCK])


def _abandoned(holder: dict, now: dt.datetime) -> bool:
    """A lock past its lease, or held by a process of this machine that is gone."""
    if dt.datetime.fromisoformat(holder["until"]) < now:
        return True
    if holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class Checkout:
    """What a working copy holds of its warehouse: per fetched file the object's ETag and the local file's size and
    modification time then (a file is changed when those differ); the versions not fetched whole."""

    files: dict[str, dict] = field(default_factory=dict)
    partial: set[str] = field(default_factory=set)

    def save(self, local: Path) -> None:
        """Kept beside the copy (``<copy>.checkout.json``), never pushed."""
        record = {"files": self.files, "partial": sorted(self.partial)}
        atomic_write_json(local.with_name(f"{local.name}{RECORD_SUFFIX}"), record)

    @classmethod
    def load(cls, local: Path) -> Checkout:
        try:
            record = json.loads(local.with_name(f"{local.name}{RECORD_SUFFIX}").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        return cls(record["files"], set(record["partial"]))

    def changed(self, local: Path, path: str) -> bool:
        seen, stat = self.files.get(path), (local / path).stat()
        return seen is None or (seen["size"], seen["mtime_ns"]) != (stat.st_size, stat.st_mtime_ns)

    def fetched(self, local: Path, path: str, e_tag: str) -> None:
        stat = (local / path).stat()
        self.files[path] = {"e_tag": e_tag, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _version(path: str) -> str | None:
    """The version folder a path is in (``[provider=<id>/]versions/<run>``), if any."""
    parts = PurePosixPath(path).parts
    at = parts.index("versions") if "versions" in parts else len(parts)
    return "/".join(parts[: at + 2]) if at + 2 < len(parts) else None


def _files(local: Path) -> set[str]:
    """The working copy's files that belong to the warehouse: not links (they follow ``release.json`` on this
    machine), not what stays local, not a network provider's own checkout record."""
    found = set()
    for folder, folders, files in os.walk(local):
        folders[:] = [f for f in folders if f not in LOCAL_ONLY and not os.path.islink(os.path.join(folder, f))]
        for name in files:
            path = Path(folder, name)
            if name not in LOCAL_ONLY and not name.endswith(RECORD_SUFFIX) and not path.is_symlink():
                found.add(path.relative_to(local).as_posix())
    return found


def _mirror(bucket: Bucket, local: Path, wanted: dict[str, Entry], record: Checkout) -> None:
    """Make ``local`` hold exactly ``wanted``: fetch what it lacks or holds otherwise, remove what is not wanted
    (left by a command that was killed, or gone from the store)."""
    for path in sorted(_files(local) - set(wanted)):
        (local / path).unlink()
        record.files.pop(path, None)
    for path, entry in sorted(wanted.items()):
        known = record.files.get(path)
        if known and known["e_tag"] == entry.e_tag and (local / path).is_file() and not record.changed(local, path):
            continue
        record.fetched(local, path, bucket.download(path, local / path))


def _released(bucket: Bucket, listing: dict[str, Entry]) -> set[str]:
    """The version folders the release pointers name (a network's warehouse has one per provider)."""
    names = set()
    for path in (p for p in listing if PurePosixPath(p).name == RELEASE_POINTER):
        got = bucket.read(path)
        if got:
            names.add(str(PurePosixPath(PurePosixPath(path).parent, json.loads(got[0])["folder"])))
    return names


def checkout(bucket: Bucket, local: Path, everything: bool = False) -> Checkout:
    """Bring ``local`` up to the warehouse at ``bucket`` (what a command needs: see the module's docstring)."""
    local.mkdir(parents=True, exist_ok=True)
    os.chmod(local, 0o700)
    record, listing = Checkout.load(local), bucket.listing()
    listing = {p: e for p, e in listing.items() if not set(PurePosixPath(p).parts) & LOCAL_ONLY}
    versions = {_version(p) for p in listing} - {None}
    record.partial = set() if everything else versions - _released(bucket, listing)
    wanted = {
        path: entry
        for path, entry in listing.items()
        if _version(path) not in record.partial or PurePosixPath(path).name in ("manifest.json", GATHERING)
    }
    _mirror(bucket, local, wanted, record)
    record.save(local)
    for pointer in (p for p in wanted if PurePosixPath(p).name == RELEASE_POINTER):
        Warehouse(local / PurePosixPath(pointer).parent).follow_release()
    return record


def push(bucket: Bucket, local: Path, record: Checkout) -> None:
    """Write back what changed in ``local`` since :func:`checkout`, releases last but for what went (see the
    module's docstring); :class:`ReleaseMoved` when another writer released meanwhile."""
    listing, present = bucket.listing(), _files(local)
    changed = {p for p in present if p not in record.files or record.changed(local, p)}
    pointers = {p for p in changed if PurePosixPath(p).name == RELEASE_POINTER}
    in_versions = {p for p in changed if _version(p)}
    new_versions = {_version(p) for p in in_versions} - {_version(p) for p in listing}
    for version in sorted(new_versions):  # (never offered, and pruned, until a release names it)
        bucket.create(f"{version}/{GATHERING}", b"")
    for path in sorted(in_versions, key=lambda p: (PurePosixPath(p).name == "manifest.json", p)):
        record.fetched(local, path, bucket.upload(local / path, path))
    failpoints.reached("push:versions")
    for path in sorted(pointers):
        e_tag = bucket.replace(path, (local / path).read_bytes(), record.files.get(path, {}).get("e_tag"))
        if e_tag is None:
            raise ReleaseMoved(
                f"another run released into {bucket}/{PurePosixPath(path).parent} while this one worked: this "
                "run's version was uploaded but not released (it goes with the next release); run again"
            )
        record.fetched(local, path, e_tag)
    bucket.delete(f"{v}/{GATHERING}" for v in sorted(new_versions) if not (local / v / GATHERING).exists())
    for path in sorted(changed - pointers - in_versions):
        record.fetched(local, path, bucket.upload(local / path, path))
    # what the command removed, and versions it pruned (of which only the manifest was fetched)
    gone = sorted(
        p
        for p in listing
        if p not in present
        and not set(PurePosixPath(p).parts) & LOCAL_ONLY
        and (p in record.files or (_version(p) in record.partial and not (local / _version(p)).exists()))
    )
    bucket.delete(gone)
    for path in gone:
        record.files.pop(path, None)
    record.partial = {v for v in record.partial if (local / v).exists()}
    record.save(local)


@contextlib.contextmanager
def working_copy(url: str, wait_seconds: float = 0.0, everything: bool = False) -> Iterator[Path]:
    """The warehouse at ``url`` as a local folder for one command: locked (:func:`held`), checked out, and pushed
    back when the command returns. When it raises, nothing is pushed (the warehouse stays as it was) and the copy
    goes."""
    bucket = Bucket(url)
    local = cache_folder(bucket.url, "warehouse")
    with held(bucket, wait_seconds):
        try:
            record = checkout(bucket, local, everything)
            yield local
        except BaseException:
            shutil.rmtree(local, ignore_errors=True)
            local.with_name(f"{local.name}{RECORD_SUFFIX}").unlink(missing_ok=True)
            raise
        push(bucket, local, record)


@contextlib.contextmanager
def held(bucket: Bucket, wait_seconds: float = 0.0) -> Iterator[None]:
    """The locks a command on ``bucket`` holds: a network provider's warehouse (``…/provider=<id>``) its own, so
    that the providers' runs go side by side; any other warehouse its own and then each network provider's in it
    (a network's run, its benchlearning and a rollback or forget of it write into every provider's)."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(locked(bucket, wait_seconds))
        if not bucket.url.rstrip("/").rsplit("/", 1)[-1].startswith(PROVIDER_PREFIX):
            members = sorted({PurePosixPath(p).parts[0] for p in bucket.listing()} - {LOCK})
            for member in (m for m in members if m.startswith(PROVIDER_PREFIX)):
                stack.enter_context(locked(Bucket(f"{bucket.url}/{member}"), wait_seconds))
        yield


def landing_copy(url: str) -> Path:
    """The landing area at ``url`` as a local folder (read only; fetched again only where it changed)."""
    bucket = Bucket(url)
    local = cache_folder(bucket.url, "landing")
    local.mkdir(parents=True, exist_ok=True)
    record = Checkout.load(local)
    _mirror(bucket, local, bucket.listing(), record)
    record.save(local)
    return local


def release_state(location: str) -> list:
    """[the released version, whether it is marked stale] of the warehouse at ``location``: a folder, or on object
    storage read from its ``release.json`` and ``stale.json`` where they are (what a sensor compares)."""
    if not is_remote(location):
        warehouse = Warehouse(Path(location))
        return [warehouse.current_version(), warehouse.stale() is not None]
    bucket = Bucket(location)
    pointer = bucket.read(RELEASE_POINTER)
    return [json.loads(pointer[0])["version"] if pointer else None, bucket.read(STALE) is not None]
