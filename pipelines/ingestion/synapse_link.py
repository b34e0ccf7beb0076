"""A CRM delivered by Azure Synapse Link for Dataverse: the folder Dynamics 365 writes to a data lake, read as the
CRM tables the flat export has (``../shared/spec/dataverse-export.md``, from Microsoft's documentation and its own
readers, ``Azure/dataverse-to-sql`` and the FastTrack scripts).

* ``model.json`` (CDM) lists each table's columns **in order** (the CSV files have no header) and its partition
  files; it is read again every run, and in incremental mode each timestamped folder's own applies to its files.
* Two layouts: a table copy (``<table>/<partition>.csv``, written in place or append-only), or timestamped
  incremental folders, the first a full copy, the later ones only changes, with ``Changelog/changelog.info`` naming
  the folder still being written (never read: it waits for the next run).
* The current row of each ``Id`` is the one last written (``SinkModifiedOn``, then ``versionnumber``); a row whose
  ``IsDelete`` is true removes the record; a row written before a column was added is shorter (padded with nulls).
* A choice (option set) is an integer; its label comes from ``OptionsetMetadata/*.csv`` in Finnish (1035), else
  English (1033): the text the flat export writes, so the same rules read both.
* A partition written after ``model.json`` means Synapse Link is in the middle of writing the table copy: refused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import polars as pl

from pipelines.ingestion.encoding import detect_encoding
from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.reading import RawTable, no_rows
from schemas.metadata import LINE, Table

MODEL = "model.json"
#: a table's annotation saying whether its first full copy is done (only a ``Completed`` one is read)
INITIAL_SYNC = "Athena:InitialSyncState"
CHANGELOG = Path("Changelog") / "changelog.info"
OPTION_SETS = "OptionsetMetadata"
FINNISH, ENGLISH = 1035, 1033
#: the system columns Synapse Link adds to every table
ID, SINK_MODIFIED, VERSION, IS_DELETE = "Id", "SinkModifiedOn", "versionnumber", "IsDelete"
#: the date-time formats Microsoft's own reader tries, in order (``DataverseToSql_ProcessEntity``)
SINK_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%.f")


@dataclass(frozen=True)
class Entity:
    """One table of a ``model.json``: its columns in file order and its data files."""

    name: str
    columns: tuple[str, ...]
    files: tuple[Path, ...]


def is_synapse_link(folder: Path) -> bool:
    """Whether a CRM export folder is a Synapse Link delivery (a table copy or incremental folders)."""
    return (folder / MODEL).is_file() or (folder / CHANGELOG).is_file()


def read_model(folder: Path) -> dict[str, Entity]:
    """The tables of ``folder/model.json``; each partition's file found under ``folder`` by its location's last two
    path segments (``<table>/<file>.csv``; the URL names the lake, not this copy), else every ``<table>/*.csv``."""
    path = folder / MODEL
    try:
        model = json.loads(path.read_text(encoding="utf-8-sig").replace('"cdm:', '"'))
    except (OSError, ValueError) as err:
        raise FileProblem(str(path), f"cannot be read as Synapse Link's model.json ({err})") from None
    if (model.get("name"), str(model.get("version"))) != ("cdm", "1.0"):
        raise FileProblem(
            str(path),
            f"is not a CDM model.json (name 'cdm', version '1.0'; it says {model.get('name')!r} "
            f"{model.get('version')!r}), as Microsoft's own readers require",
        )
    entities = {}
    for entity in model.get("entities") or []:
        name = entity.get("name")
        columns = tuple(a.get("name") for a in entity.get("attributes") or [])
        if not name or not columns or not all(columns):
            raise FileProblem(str(path), f"a table without a name or without named columns: {str(entity)[:80]}")
        sync = {a.get("name"): a.get("value") for a in entity.get("annotations") or []}.get(INITIAL_SYNC)
        if sync not in (None, "Completed"):
            raise FileProblem(
                str(path), f"the table {name} has not finished its first copy ({INITIAL_SYNC} {sync}): run again later"
            )
        located = [_local(folder, p.get("location", "")) for p in entity.get("partitions") or []]
        files = tuple(p for p in located if p is not None) or tuple(sorted((folder / name).glob("*.csv")))
        entities[name] = Entity(name, columns, files)
    return entities


def _local(folder: Path, location: str) -> Path | None:
    parts = PurePosixPath(unquote(urlparse(location).path)).parts[-2:]
    return folder.joinpath(*parts) if len(parts) == 2 else None


def delivery_folders(folder: Path) -> tuple[list[Path], list[str]]:
    """The folders to read, oldest first, and notices: the copy itself, or the incremental folders (named by their
    UTC time, sortable) except the one ``Changelog/changelog.info`` names as being written."""
    if not (folder / CHANGELOG).is_file():
        return [folder], []
    writing = (folder / CHANGELOG).read_text(encoding="utf-8-sig").strip()
    stamped = sorted(p for p in folder.iterdir() if p.is_dir() and re.match(r"^\d{4}-\d{2}-\d{2}T", p.name))
    notices = [f"{writing}: Synapse Link is still writing it, so it waits for the next run"] if writing else []
    # (a retried sync can leave a folder with nothing in it: no change to read)
    empty = [p for p in stamped if p.name != writing and not any(p.iterdir())]
    notices += [f"{p.name}: an empty folder (a retried sync), nothing to read" for p in empty]
    return [p for p in stamped if p.name != writing and p not in empty], notices


def check_complete(folder: Path, entities: dict[str, Entity]) -> None:
    """A table copy whose partition was written after its ``model.json``: Synapse Link is in the middle of writing
    it, and what is read now may be half of a change. Refused (the next run reads it whole)."""
    written = (folder / MODEL).stat().st_mtime
    for entity in entities.values():
        for file in entity.files:
            if file.exists() and file.stat().st_mtime > written + 1:
                raise FileProblem(
                    str(file.relative_to(folder)),
                    "written after model.json: Synapse Link is still writing this delivery; run again when it "
                    "has finished (nothing of it is read now)",
                )


def rows(entity: Entity, folder: Path, first_line: int) -> tuple[pl.DataFrame, pl.DataFrame, list[str], int]:
    """Every row of ``entity``'s files as text by ``model.json``'s columns (a short row padded with nulls), with its
    line counted through the files from ``first_line``; the lines with more fields than columns (rejects, as far as
    their fields go); which lines each file holds; and the next line number."""
    width = len(entity.columns)
    records: list[list[str | None]] = []
    lines: list[int] = []
    rejects: list[dict] = []
    spans = []
    line = first_line
    for file in entity.files:
        where = str(file.relative_to(folder))
        if not file.exists():
            raise FileProblem(where, f"model.json lists it for the table {entity.name}, but it is not there")
        data = file.read_bytes()
        try:
            text = data.decode(detect_encoding(file, data)).lstrip("\ufeff")
        except FileProblem as problem:  # (named by its table folder too: every table's files are 2025.csv …)
            raise FileProblem(where, problem.message, problem.line, problem.column) from None
        except (UnicodeDecodeError, LookupError) as err:
            raise FileProblem(where, f"is not UTF-8 text as Synapse Link writes ({err})") from None
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=",", quotechar='"', doublequote=True)
        start, ended = line, 0
        for record in _records(reader, where, line):
            begins, ended = line + ended, reader.line_num
            values = [v if v != "" else None for v in record]
            if len(values) == width + 1 and values[-1] is None:  # (a trailing comma closes some writers' rows)
                values.pop()
            if not record:
                continue
            if len(values) > width:
                rejects.append(
                    {LINE: begins, "column": entity.columns[-1], **dict(zip(entity.columns, values, strict=False)),
                     "message": f"{len(values)} fields where model.json has {width} columns for {entity.name}",
                     "message_fi": f"{len(values)} kenttää, model.json:ssa {width} saraketta taululle {entity.name}"}
                )  # fmt: skip
                continue
            records.append(values + [None] * (width - len(values)))
            lines.append(begins)
        line += ended
        spans.append(f"{where} lines {start}–{line - 1}")
    frame = pl.DataFrame(records, schema={c: pl.Utf8 for c in entity.columns}, orient="row").with_columns(
        pl.Series(LINE, lines, dtype=pl.Int64)
    )
    rejected = pl.DataFrame(
        rejects,
        schema={LINE: pl.Int64, "column": pl.Utf8, **{c: pl.Utf8 for c in entity.columns}, "message": pl.Utf8,
                "message_fi": pl.Utf8},
    )  # fmt: skip
    return frame, rejected, spans, line


def _records(reader, where: str, first_line: int):
    """The reader's records; one it cannot parse (a quote left open to the end of the file) named with its line."""
    try:
        yield from reader
    except csv.Error as err:
        raise FileProblem(where, f"cannot be read as CSV ({err})", first_line + reader.line_num - 1) from None


def current(frame: pl.DataFrame) -> tuple[pl.DataFrame, int, int]:
    """The current row of each ``Id`` (the last written: ``SinkModifiedOn``, then ``versionnumber``), without the
    deleted; and how many older versions and deleted records were left out."""
    if ID not in frame.columns:
        return frame, 0, 0
    written = _sink_time(pl.col(SINK_MODIFIED)) if SINK_MODIFIED in frame.columns else pl.lit(None, pl.Datetime("us"))
    version = pl.col(VERSION).cast(pl.Int64, strict=False) if VERSION in frame.columns else pl.lit(None, pl.Int64)
    ranked = frame.with_columns(written.alias("_written"), version.alias("_version")).sort(
        "_written", "_version", LINE, descending=True, nulls_last=True
    )
    latest = ranked.unique(ID, keep="first", maintain_order=True)
    deleted = (
        pl.col(IS_DELETE).str.to_lowercase().is_in(["true", "1"]).fill_null(False)
        if IS_DELETE in frame.columns
        else pl.lit(False)
    )
    kept = latest.filter(~deleted).drop("_written", "_version").sort(LINE)
    return kept, frame.height - latest.height, latest.height - kept.height


def _sink_time(text: pl.Expr) -> pl.Expr:
    """``SinkModifiedOn`` in whichever of Microsoft's formats it comes, as a UTC time without a zone."""
    parsed = []
    for f in SINK_FORMATS:
        value = text.str.strptime(pl.Datetime("us", "UTC") if "%:z" in f else pl.Datetime("us"), f, strict=False)
        parsed.append(value.dt.replace_time_zone(None) if "%:z" in f else value)
    return pl.coalesce(parsed)


@dataclass(frozen=True)
class Labels:
    """The choice labels of a delivery (``OptionsetMetadata/``): (table, column, value) → label."""

    local: dict[tuple[str, str, str], str]

    @classmethod
    def read(cls, folder: Path) -> Labels:
        found: dict[tuple[str, str, str], dict[int, str]] = {}

        def add(table: str, column: str, value: str, language: str, label: str) -> None:
            try:
                found.setdefault((table, column, value), {})[int(language)] = label
            except ValueError:
                pass

        base = folder / OPTION_SETS
        for row in _headerless(base / "OptionsetMetadata.csv"):
            if len(row) >= 6:
                add(row[0], row[1], row[2], row[4], row[5])
        for row in _headerless(base / "GlobalOptionsetMetadata.csv"):
            if len(row) >= 7:
                add(row[6], row[0], row[1], row[3], row[4])
        for row in _headerless(base / "StateMetadata.csv"):
            if len(row) >= 5:
                add(row[0], "statecode", row[1], row[3], row[4])
        for row in _headerless(base / "StatusMetadata.csv"):
            if len(row) >= 6:
                add(row[0], "statuscode", row[2], row[4], row[5])
        return cls(
            {key: by_language.get(FINNISH) or by_language.get(ENGLISH) or next(iter(by_language.values()))
             for key, by_language in found.items()}
        )  # fmt: skip

    def columns(self, table: str) -> set[str]:
        return {column for t, column, _ in self.local if t == table}

    def labelled(self, frame: pl.DataFrame, table: str) -> pl.DataFrame:
        """``frame`` with each choice column's integers replaced by their labels (a value without one kept)."""
        out = []
        for column in self.columns(table) & set(frame.columns):
            mapping = {v: label for (t, c, v), label in self.local.items() if t == table and c == column}
            out.append(pl.col(column).replace(mapping).alias(column))
        return frame.with_columns(out) if out else frame


def _headerless(path: Path) -> list[list[str]]:
    if not path.is_file():
        return []
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    return [r for r in csv.reader(io.StringIO(text, newline="")) if r]


def as_export_text(frame: pl.DataFrame, table: Table, attribute_of: dict[str, str]) -> pl.DataFrame:
    """The table's columns (by our names) from a Dataverse table's rows: each from its attribute (the column's
    header, or the site's), a missing one null. Dataverse's date-times are ISO 8601 with Z or an offset, as the flat
    export writes them; a date-only value is its midnight, read as the date."""
    picked = []
    for column in table.columns:
        attribute = attribute_of.get(column.name, column.source_header)
        value = pl.col(attribute) if attribute in frame.columns else pl.lit(None, pl.Utf8)
        if column.dtype == pl.Date:  # (a date-only column comes as its midnight: the date, as the flat export has it)
            value = value.str.replace(r"^(\d{4}-\d{2}-\d{2})T00:00:00(\.0+)?(Z|[+-]00:?00)?$", "${1}")
        picked.append(value.alias(column.name))
    return frame.select(*picked, LINE)


#: a lookup column → the column saying which table it points to: our CRM tables link to accounts only
LOOKUP_TYPES = {"parentcustomerid": "parentcustomeridtype", "regardingobjectid": "regardingobjecttypecode"}
ACCOUNT = "account"
ACTIVITY_TYPE = "activitytypecode"


def read_table(folder: Path, table: Table, dataverse_tables: tuple[str, ...], attribute_of: dict[str, str]) -> RawTable:
    """One CRM table from the Synapse Link delivery in ``folder``: the rows of every Dataverse table named for it
    (``dataverse_tables``; a column from the Dataverse column ``attribute_of`` names, else its flat header), current
    and labelled, as the flat export's text; a file-level problem returned."""
    raw = RawTable(table=table.name, file=table.source_file)
    try:
        folders, raw.notices = delivery_folders(folder)
        frames, rejects, spans, line = [], [], [], 1
        for delivery in folders:
            entities = read_model(delivery)
            if delivery == folder:
                check_complete(folder, entities)
            labels = Labels.read(delivery)
            for name in dataverse_tables:
                if name not in entities:
                    continue
                frame, rejected, where, line = rows(entities[name], delivery, line)
                if ACTIVITY_TYPE not in frame.columns:  # (a task, appointment or phone-call table of its own)
                    frame = frame.with_columns(pl.lit(name).alias(ACTIVITY_TYPE))
                frames.append(labels.labelled(_accounts_only(frame), name))
                rejects.append(rejected)
                spans += [s if delivery == folder else f"{delivery.name}/{s}" for s in where]
        if not frames:
            raw.frame = no_rows(table)
            named = ", ".join(dataverse_tables) or "none named"
            raw.notices.append(
                f"{table.source_file}: no Dataverse table for it in the delivery ({named}; name it in the site "
                "configuration, crm.dataverse_tables), so no rows"
            )
            return raw
        everything = pl.concat(frames, how="diagonal_relaxed")
        kept, older, deleted = current(everything)
        raw.frame = as_export_text(kept, table, attribute_of)
        raw.rejects = _as_rejects(pl.concat(rejects, how="diagonal_relaxed"), table, attribute_of)
        raw.sha256 = _digest(folders, dataverse_tables)
        raw.encoding = "utf-8"
        raw.notices.append(f"{table.source_file} from Synapse Link: " + ", ".join(spans))
        if older or deleted:
            raw.notices.append(
                f"{table.source_file}: {older} earlier versions of records replaced by their newest and {deleted} "
                "deleted records left out, as Dataverse means them"
            )
    except FileProblem as problem:
        raw.problem, raw.frame = problem, None
    return raw


def _accounts_only(frame: pl.DataFrame) -> pl.DataFrame:
    """A lookup that points to another table than an account (a contact's parent that is a contact) is no account:
    cleared, as the flat export leaves it empty."""
    return frame.with_columns(
        pl.when(pl.col(kind).is_null() | (pl.col(kind) == ACCOUNT)).then(pl.col(lookup)).alias(lookup)
        for lookup, kind in LOOKUP_TYPES.items()
        if lookup in frame.columns and kind in frame.columns
    )


def _as_rejects(rejected: pl.DataFrame, table: Table, attribute_of: dict[str, str]) -> pl.DataFrame:
    """The lines with too many fields, as the reader's rejects (by our column names, as far as they go)."""
    named = {attribute_of.get(c.name, c.source_header): c.name for c in table.columns}
    columns = [pl.col(a).alias(n) for a, n in named.items() if a in rejected.columns]
    return rejected.select(
        LINE, pl.col("column").replace(named).alias("column"), "message", "message_fi", *columns
    ) if rejected.height else pl.DataFrame(schema={LINE: pl.Int64, "column": pl.Utf8, "message": pl.Utf8,
                                                   "message_fi": pl.Utf8})  # fmt: skip


def _digest(folders: list[Path], dataverse_tables: tuple[str, ...]) -> str:
    """A checksum of everything the table was read from (its model.json and data files, in every folder)."""
    digest = hashlib.sha256()
    for delivery in folders:
        for path in [
            delivery / MODEL,
            *(f for name in dataverse_tables for f in sorted((delivery / name).glob("*.csv"))),
        ]:
            if path.is_file():
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
