"""The warehouse folder: atomic writes, published versions and the release that points at one of them.

Layout::

    <warehouse>/release.json                      (the release: which version is published; replaced atomically)
    <warehouse>/versions/<run_id>/<table>.parquet, manifest.json
    <warehouse>/versions/<run_id>/tiedolla.duckdb (the version's tables in one DuckDB database)
    <warehouse>/versions/<run_id>/reports/dashboard/, reports/data_docs/ (made from that version)
    <warehouse>/published -> versions/<run_id>   (on local disk: a link that follows release.json)
    <warehouse>/tiedolla.duckdb -> published/tiedolla.duckdb
    <warehouse>/reports/dashboard -> ../published/reports/dashboard (and data_docs; reports/steward is the last run's)
    <warehouse>/quarantine/<table>.parquet, manifest.json (a copy of the published version's)
    <warehouse>/.staging/<run_id>/                (tables being built; never read by BI)
    <warehouse>/.run.lock, .release.lock          (one run at a time; one switch at a time)
    <warehouse>/stale.json                        (the latest run was refused: published is the last good one)

A network's warehouse holds one such warehouse per provider, ``provider=<id>/``, and the network's own,
``network/`` (the benchlearning mart: aggregates only).

The release is ``release.json``, a small commit file naming the published version, its folder, its database and
each table's file (paths relative to the warehouse, so they join onto a folder or a bucket's URL alike). It is
written whole and then put in place by one atomic replace: a reader that follows it sees one whole version, the
old one or the new one. A version's files are never changed after it is released (a forget rewrites each table
atomically), so what a reader found stays readable while it reads. On local disk the links ``published``,
``tiedolla.duckdb`` and ``reports/…`` are put after it, for tools that open a fixed path (Power BI, a browser); a
crash between the two leaves them on the previous whole version until the next run or rollback puts them right.
The last ``keep_versions`` versions stay, so ``tiedolla rollback`` can point the release back at one, and with it
its database and the reports made from it. Every path is relative: the warehouse folder can be moved or opened
from anywhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import time
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

from pipelines import failpoints
from pipelines.files import atomic_write, atomic_write_bytes, atomic_write_json, sql_literal, write_parquet
from pipelines.publishing.pseudonyms import DEMO_KEY, KeyProblem, fingerprint
from pipelines.publishing.relationships import ModelBroken, dangling, duplicates
from schemas.fields import FIELDS
from schemas.network import BENCHMARK
from schemas.published import BY_NAME

#: every published table's declaration, by name (its descriptions become the database's comments)
DECLARED = {**BY_NAME, BENCHMARK.name: BENCHMARK}

KEEP_VERSIONS = 5
DATABASE = "tiedolla.duckdb"
#: the fingerprint of the key that made the published pseudonyms; and the mark of a warehouse `tiedolla demo` made
KEY_FINGERPRINT = "key_fingerprint"
DEMO_MARK = ".demo"
#: reports made from a published version (written into it, so a rollback brings them back with it)
VERSION_REPORTS = ("dashboard", "data_docs")
#: in a version folder from the start of gathering until the version has been switched in: a crash in between
#: leaves a version that was never published, which is then neither offered for rollback nor kept
GATHERING = ".gathering"
#: beside ``published`` while the latest run was refused: its figures are the last good release's, not the newest
STALE = "stale.json"
#: a network's own warehouse inside the network's (beside the providers' ``provider=<id>/``)
NETWORK_FOLDER = "network"
#: the release pointer: which version is published (what every reader follows; see the module's docstring)
RELEASE_POINTER = "release.json"


#: a network provider's warehouse is a hive folder ``provider=<id>``
PROVIDER_PREFIX = "provider="


def provider_folder(provider: str) -> str:
    """A network provider's warehouse inside the network's: a hive folder, so that BI reads each provider's own
    and DuckDB reads them together with ``hive_partitioning`` (the ``provider`` column)."""
    return f"{PROVIDER_PREFIX}{provider}"


def provider_of(root: Path) -> str | None:
    """The provider whose warehouse ``root`` is (its ``provider=<id>`` folder); None outside a network."""
    return root.name.removeprefix(PROVIDER_PREFIX) if root.name.startswith(PROVIDER_PREFIX) else None


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse; the message says which and what to do."""


class Warehouse:
    def __init__(self, root: Path, keep_versions: int = KEEP_VERSIONS):
        self.root = Path(root)
        self.keep_versions = max(1, keep_versions)

    @property
    def published(self) -> Path:
        """The published version's folder, as the release pointer names it (``<warehouse>/published``, which does
        not exist, while nothing is published)."""
        version = self.current_version()
        return self.root / "versions" / version if version else self.root / "published"

    def staging(self, run_id: str) -> Path:
        """``.staging/<run>``: the set a run builds, the owner's only until it is switched in (a refused run's stays
        for its re-execution)."""
        staging = self.root / ".staging"
        if not staging.exists():
            staging.mkdir(parents=True, exist_ok=True)
            os.chmod(staging, 0o700)
        return staging / run_id

    def quarantine(self, table: str) -> Path:
        return self.root / "quarantine" / f"{table}.parquet"

    # ---- one run at a time ------------------------------------------------------
    def is_locked(self, name: str = "run") -> bool:
        """Whether another process holds ``<warehouse>/.<name>.lock`` now (to say that a run will wait)."""
        path = self.root / f".{name}.lock"
        if not path.exists():
            return False
        with open(path, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    @contextlib.contextmanager
    def lock(self, name: str = "run", wait_seconds: float = 0.0):
        """Hold ``<warehouse>/.<name>.lock`` (an OS lock: released even when the process is killed). Whoever writes
        the warehouse holds it, so from here on nothing this process creates is writable by others, whatever the
        umask it was started with (under umask 000 folders were 0777 and the lock 0666)."""
        os.umask(os.umask(0) | 0o022)
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f".{name}.lock"
        with open(os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600), "a+", encoding="utf-8") as handle:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "another process"
                        raise WarehouseBusy(
                            f"the warehouse {self.root} is in use by {holder}; wait until it has "
                            "finished (or use --wait), nothing was changed"
                        ) from None
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} since {dt.datetime.now().isoformat(timespec='seconds')}")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    def clear_stale_staging(self, keep: str | None = None) -> list[str]:
        """Staging folders of runs that never finished, but ``keep``'s (the run a re-execution continues);
        call while holding the run lock."""
        folder = self.root / ".staging"
        stale = sorted(p.name for p in folder.iterdir() if p.name != keep) if folder.is_dir() else []
        for name in stale:
            shutil.rmtree(folder / name, ignore_errors=True)
        return stale

    # ---- the pseudonym key ------------------------------------------------------
    def check_key(self, key: bytes, rotate: bool = False, given: bytes | None = None) -> None:
        """Refuse a key that would silently change every pseudonym: not the one this warehouse's versions were made
        with (unless the run rotates the key on purpose), or the public demo key outside a demo warehouse.
        ``given``: the key the run was given, where ``key`` is a network provider's key derived from it (the demo
        key, given to a network, is refused outside the network demo too)."""
        home = self.root.parent if provider_of(self.root) else self.root  # (a network's provider: the network's)
        demo = DEMO_KEY.encode() in (key, given)
        if demo and not ((self.root / DEMO_MARK).exists() or (home / DEMO_MARK).exists()):
            raise KeyProblem(
                f"the demo key is public and works only for a warehouse made by `tiedolla demo`; {self.root} "
                "needs a secret key of its own"
            )
        stored = self.root / KEY_FINGERPRINT
        known = stored.read_text(encoding="utf-8").strip() if stored.exists() else None
        if known and known != fingerprint(key) and not rotate:
            raise KeyProblem(
                f"this pseudonym key is not the one that made the pseudonyms in {self.root} (key "
                f"fingerprint {known}, this key's {fingerprint(key)}): every student_key and "
                "study_right_key would change and BI joins on them would break. Use the warehouse's key; "
                "to change it on purpose, run once with --rotate-key (the kept versions, made with the "
                "old key, are then replaced by the one run with the new key)"
            )

    # ---- versions ---------------------------------------------------------------
    def current_version(self) -> str | None:
        """The published version: the release pointer's (a warehouse released before there was one: its link's)."""
        pointer = self.root / RELEASE_POINTER
        if pointer.exists():
            return json.loads(pointer.read_text(encoding="utf-8"))["version"]
        link = self.root / "published"
        return Path(os.readlink(link)).name if link.is_symlink() else None

    def release_pointer(self) -> dict | None:
        """What ``release.json`` says: the version, its folder, database and tables (None: nothing published)."""
        pointer = self.root / RELEASE_POINTER
        return json.loads(pointer.read_text(encoding="utf-8")) if pointer.exists() else None

    def versions(self) -> list[dict]:
        """Published versions, newest first: name, release time, as-of date, rows."""
        out, current = [], self.current_version()
        for folder in (self.root / "versions").iterdir() if (self.root / "versions").is_dir() else []:
            manifest = folder / "manifest.json"
            if not manifest.exists() or ((folder / GATHERING).exists() and folder.name != current):
                continue  # a version being gathered, never switched in, or broken: never offered
            m = json.loads(manifest.read_text(encoding="utf-8"))
            out.append(
                {
                    "version": folder.name,
                    "released_at": m.get("released_at", ""),
                    "as_of": m.get("as_of"),
                    "rows_published": m.get("totals", {}).get("rows_published"),
                }
            )
        return sorted(out, key=lambda v: (v["released_at"], v["version"]), reverse=True)

    def release(
        self,
        run_id: str,
        tables: dict[str, Path],
        manifest: dict,
        key: bytes | None,
        rotate: bool = False,
        kept: set[str] = frozenset(),
        staging: Path | None = None,
    ) -> Path:
        """Gather the checked (staged) tables into a version, point ``published`` at it; their staging goes. The
        key's fingerprint is kept (None: the tables hold no pseudonyms, as a network's aggregates); a rotation (a
        new key on purpose) leaves no version made with the old one; the run's ``staging`` folder goes. The ``kept``
        tables are the published version's, unchanged: linked, not copied, and the version's database is the
        published one's with only the other tables written again."""
        with self.lock("release", wait_seconds=600):
            version = self.root / "versions" / run_id
            version.mkdir(parents=True, exist_ok=True)
            (version / GATHERING).touch()
            for name, source in tables.items():
                target = version / f"{name}.parquet"
                if not target.exists():
                    os.link(source, target)
            base = self.published / DATABASE if kept else None
            try:
                _write_database(version, base, set(tables) - kept if base and base.exists() else None, check=True)
            except ModelBroken:
                shutil.rmtree(version, ignore_errors=True)  # (never switched in: nothing of it stays)
                raise
            manifest = {**manifest, "released_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
            atomic_write_json(version / "manifest.json", manifest)
            failpoints.reached("release:gathered")
            self._switch(run_id)
            (self.root / STALE).unlink(missing_ok=True)
            if key is not None:
                atomic_write_bytes(self.root / KEY_FINGERPRINT, (fingerprint(key) + "\n").encode())
            staged = {p.parent for p in tables.values() if p.parent.parent == self.root / ".staging"}
            for folder in staged | ({staging} if staging else set()):  # (all kept: the run's staging goes too)
                shutil.rmtree(folder, ignore_errors=True)
            self._prune(only_current=rotate)
        return version

    def mark_stale(self, reason: str) -> None:
        """The latest run was refused: ``published`` stays, and says (``stale.json``) it is not the newest export's."""
        atomic_write_json(
            self.root / STALE,
            {
                "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "reason": reason,
                "version": self.current_version(),
            },
        )

    def stale(self) -> dict | None:
        """Why the published version is stale, and since when (None: the latest run published it, or none ran)."""
        marker = self.root / STALE
        return json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else None

    def rollback(self, version: str | None = None) -> str:
        """Point ``published`` at an earlier version (default: the one before the current)."""
        with self.lock("release", wait_seconds=60):
            names = [v["version"] for v in self.versions()]
            current = self.current_version()
            if version is None:
                older = names[names.index(current) + 1 :] if current in names else names
                if not older:
                    raise ValueError("there is no earlier version to roll back to")
                version = older[0]
            if version not in names:
                raise ValueError(
                    f"no version '{version}' in {self.root / 'versions'}; kept: {', '.join(names) or 'none'}"
                )
            self._switch(version)
        return version

    def forget_students(self, student_keys: list[str], study_right_keys: list[str] = ()) -> dict[str, int]:
        """Remove these students (by their published pseudonym) and their study rights from every kept version,
        the published one included, with ``study_right_keys`` (study rights whose link to their student is broken);
        returns rows removed per version/table. Each table is replaced atomically and the version's database
        rebuilt, so a reader sees the table before or after, never half of it."""
        removed: dict[str, int] = {}
        for folder in (
            sorted(p for p in (self.root / "versions").iterdir() if p.is_dir())
            if (self.root / "versions").is_dir()
            else []
        ):
            rights_path = folder / "fact_study_right.parquet"
            rights = [
                *study_right_keys,
                *(
                    pl.read_parquet(rights_path, columns=["study_right_key", "student_key"]).filter(
                        pl.col("student_key").is_in(student_keys)
                    )["study_right_key"]
                    if rights_path.exists()
                    else []
                ),
            ]
            changed = False
            for table in sorted(folder.glob("*.parquet")):
                schema = pq.read_schema(table)
                names = schema.names
                about = pl.lit(False)
                if "student_key" in names:
                    about = about | pl.col("student_key").is_in(student_keys).fill_null(False)
                if "study_right_key" in names:
                    about = about | pl.col("study_right_key").is_in(rights).fill_null(False)
                if not {"student_key", "study_right_key"} & set(names):
                    continue
                frame = pl.read_parquet(table)
                gone = frame.filter(about).height
                if gone:
                    write_parquet(frame.filter(~about), table, schema)
                    removed[f"versions/{folder.name}/{table.stem}"] = gone
                    changed = True
            if changed:
                _write_database(folder)
        return removed

    def version_reports(self, version: Path) -> Path:
        """Where the reports made from ``version`` go (``reports/<name>`` at the root links to the published one's)."""
        return version / "reports"

    def _switch(self, version: str) -> None:
        """Replace the release pointer atomically; then the manifest copy and the local links follow it."""
        link = self.root / "published"
        if link.exists() and not link.is_symlink():
            raise RuntimeError(f"{link} is a folder, not a link to a version: move it away first")
        outgoing = self.current_version()
        folder = self.root / "versions" / version
        if not (folder / DATABASE).exists():  # a version released before versions carried their database
            _write_database(folder)
        where = f"versions/{version}"
        atomic_write_json(
            self.root / RELEASE_POINTER,
            {
                "version": version,
                "folder": where,
                "database": f"{where}/{DATABASE}",
                "tables": {t.stem: f"{where}/{t.name}" for t in sorted(folder.glob("*.parquet"))},
                "switched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            },
        )
        failpoints.reached("release:switched")
        for published in {outgoing, version} - {None}:  # both have been switched in (the outgoing one perhaps by a
            (self.root / "versions" / published / GATHERING).unlink(missing_ok=True)  # run that crashed just here)
        atomic_write_bytes(self.root / "manifest.json", (folder / "manifest.json").read_bytes())
        self.follow_release(outgoing)

    def follow_release(self, outgoing: str | None = None) -> None:
        """Put the local links (``published``, ``tiedolla.duckdb``, ``reports/…``) on the released version: after
        a switch, or after a crash that came between the pointer and them. ``outgoing``: the version a folder kept
        at ``reports/<name>`` by an earlier release belongs to (it moves there)."""
        version = self.current_version()
        if version is None:
            return
        link = self.root / "published"
        if not (link.is_symlink() and Path(os.readlink(link)).name == version):
            tmp = self.root / f".published.{version}"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(Path("versions") / version, target_is_directory=True)
            os.replace(tmp, link)
        self._link(self.root / DATABASE, Path("published") / DATABASE)
        for name in VERSION_REPORTS:
            self._link(
                self.root / "reports" / name,
                Path("..") / "published" / "reports" / name,
                self.version_reports(self.root / "versions" / outgoing) / name if outgoing else None,
            )

    def _link(self, path: Path, target: Path, keep_in: Path | None = None) -> None:
        """Make ``path`` a relative link to ``target``, once (it then follows ``published``). A folder that a
        warehouse of an earlier release kept there belonged to the outgoing version: it moves to ``keep_in``."""
        if path.is_symlink():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir() and keep_in is not None and not keep_in.exists():
            keep_in.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, keep_in)
        elif path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        tmp = path.with_name(f".{path.name}.link")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target)
        os.replace(tmp, path)

    def _prune(self, only_current: bool = False) -> None:
        """Keep the newest versions (or ``only_current``); drop older ones and any left half-gathered by a crash."""
        current = self.current_version()
        keep = {v["version"] for v in self.versions()[: 0 if only_current else self.keep_versions]} | {current}
        for folder in (self.root / "versions").iterdir():
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)


def missing_sources(warehouse: Warehouse, sources: dict[str, str | None], allowed: set[str]) -> list[str]:
    """Sources the current release was made from that this run has no export of (and may not do without)."""
    current = warehouse.root / "manifest.json"
    if warehouse.current_version() is None or not current.exists():
        return []  # a first run publishes whatever sources it has
    before = json.loads(current.read_text(encoding="utf-8")).get("sources") or {}
    return [
        f"the current release has a {system} export ({Path(folder).name}) but the landing area has none"
        for system, folder in before.items()
        if folder and not sources.get(system) and system not in allowed
    ]


def shrunk_tables(warehouse: Warehouse, staged: dict[str, Path], share: float, min_rows: int) -> list[str]:
    """Tables of at least ``min_rows`` rows in the current release that would lose more than ``share`` of them."""
    if warehouse.current_version() is None:
        return []
    shrunk = []
    for name, path in sorted(staged.items()):
        current = warehouse.published / f"{name}.parquet"
        if not current.exists():
            continue
        before, after = pq.read_metadata(current).num_rows, pq.read_metadata(path).num_rows
        if before >= min_rows and after < before * (1 - share):
            shrunk.append(f"{name} would fall from {before} to {after} rows")
    return shrunk


def _write_database(
    version: Path, base: Path | None = None, changed: set[str] | None = None, check: bool = False
) -> None:
    """``<version>/tiedolla.duckdb``: the version's tables copied into one DuckDB database, so that it opens from
    any folder, after the warehouse is moved, and in tools that cannot follow a path (views over Parquet would
    hold the path of the folder they were written in). In a network provider's warehouse every table gets the
    ``provider`` column first (the Parquet files carry it as their hive folder, ``provider=<id>``).

    With ``base`` (an earlier version's database) and ``changed`` (the tables that differ from it), the database
    starts as a copy of ``base`` and only the changed tables are written again: a run that rebuilt the CRM's tables
    does not copy the ten-million-row facts into a database once more.

    With ``check``, the model's keys are checked as the database declares them (a primary key that does not hold
    fails as it is added) and its foreign keys on the tables just written; a set that breaks either raises
    :class:`ModelBroken` and leaves no database."""
    provider = provider_of(version.parent.parent)
    present = {table.stem: table for table in sorted(version.glob("*.parquet"))}

    def write(tmp: Path) -> None:
        tmp.unlink()  # (DuckDB makes its own file)
        if changed is not None:
            shutil.copyfile(base, tmp)
            os.chmod(tmp, 0o600)
        con = duckdb.connect(str(tmp))
        try:
            con.execute("SET enable_progress_bar = false")
            first = f"{sql_literal(provider)} AS provider, " if provider else ""
            before = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
            broken: list[str] = []
            for name in sorted(before - set(present) | (before & (changed or set()))):
                con.execute(f'DROP TABLE "{name}"')
            for name, table in present.items():
                if changed is not None and name not in changed and name in before:
                    continue
                con.execute(
                    f'CREATE TABLE "{name}" AS SELECT {first}* '
                    f"FROM read_parquet({sql_literal(table)}, hive_partitioning = false)"
                )
                broken += _declare(con, name, provider)
            if check:
                broken += dangling(con, set(present), changed)
            if broken:
                raise ModelBroken(broken)
            con.execute("CHECKPOINT")
        finally:
            con.close()

    atomic_write(version / DATABASE, write)
    os.chmod(version / DATABASE, 0o444)  # (published: read, never written; a tool that asks to write is told no)


def _declare(con: duckdb.DuckDBPyConnection, name: str, provider: str | None) -> list[str]:
    """The table's and each column's description from its declaration, as DuckDB comments a BI tool shows; its
    primary key and required columns as constraints (DuckDB cannot add a foreign key to a table that exists, so the
    relationships are in docs/bi.md). Returns how its key does not hold, if it does not."""
    table = DECLARED.get(name)
    if table is None:
        return []
    con.execute(f'COMMENT ON TABLE "{name}" IS {sql_literal(f"{table.description} Grain: {table.grain}")}')
    present = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()}
    for column in (c for c in table.columns if c.name in present):
        con.execute(f'COMMENT ON COLUMN "{name}"."{column.name}" IS {sql_literal(column.description)}')
        if not column.nullable:
            try:
                con.execute(f'ALTER TABLE "{name}" ALTER COLUMN "{column.name}" SET NOT NULL')
            except duckdb.ConstraintException:
                empty = con.execute(f'SELECT count(*) FROM "{name}" WHERE "{column.name}" IS NULL').fetchone()[0]
                return [f"{name}.{column.name}: {empty} row(s) without the value the model requires"]
    if provider:
        con.execute(f'COMMENT ON COLUMN "{name}".provider IS {sql_literal(FIELDS[("provider", None)].description)}')
    if not (table.key and set(table.key) <= present):
        return []
    if any(table.column(k).nullable for k in table.key):
        # a key with an optional part (a month's funding code) cannot be a primary key, and a unique index would let
        # two rows through whose keys differ only by an empty part (DuckDB's NULLs are distinct); an aggregate that
        # treats empty parts as equal checks it, without an index several times the table's size
        return duplicates(con, table)
    keys = ", ".join(f'"{k}"' for k in (("provider",) if provider else ()) + table.key)
    try:
        con.execute(f'ALTER TABLE "{name}" ADD PRIMARY KEY ({keys})')
    except duckdb.ConstraintException:
        return duplicates(con, table)
    return []
