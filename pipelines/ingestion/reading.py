"""Read one export file into a text table with the source line of every row.

DuckDB parses the CSV (fast, and it keeps the rows it cannot parse in a reject table
instead of failing the file); polars takes the result. Every value stays text here:
typing is a validation step, so a bad date becomes a quarantined row, not a failed file.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipelines.ingestion.delivered import joined, with_bare_returns_spaced, with_lists_joined
from pipelines.ingestion.encoding import detect_encoding
from pipelines.ingestion.lines import lines_at, logical_line_map, mixed_line_ends
from pipelines.ingestion.problems import FileProblem
from schemas.metadata import LINE, Table

REJECT_WORDS = {
    "TOO MANY COLUMNS": "the line has more fields than the header: look for a stray '{delim}' or a missing quote",
    "MISSING COLUMNS": "the line has fewer fields than the header: it may be cut short",
    "UNQUOTED VALUE": 'a quote (") is not closed: the rest of the file may have been read as one field',
    "LINE SIZE OVER MAXIMUM": "the line is longer than any row may be",
    "INVALID ENCODING": "the line holds bytes that are not text in the file's encoding",
}
#: the same in Finnish, for the Finnish steward report and correction lists
REJECT_WORDS_FI = {
    "TOO MANY COLUMNS": "rivillä on enemmän kenttiä kuin otsikkorivillä: etsi ylimääräinen '{delim}' tai puuttuva "
    "lainausmerkki",
    "MISSING COLUMNS": "rivillä on vähemmän kenttiä kuin otsikkorivillä: se voi olla katkennut",
    "UNQUOTED VALUE": 'lainausmerkki (") jäi sulkematta: loppu tiedostosta on voitu lukea yhtenä kenttänä',
    "LINE SIZE OVER MAXIMUM": "rivi on pidempi kuin mikään rivi saa olla",
    "INVALID ENCODING": "rivillä on tavuja, jotka eivät ole tekstiä tiedoston merkistössä",
}


@dataclass
class CsvDialect:
    delimiter: str = ";"
    quote: str = '"'


@dataclass
class RawTable:
    """What one source file yielded: text rows, rows that could not be parsed, notices."""

    table: str
    file: str
    encoding: str | None = None
    sha256: str | None = None
    frame: pl.DataFrame | None = None
    #: rows the CSV parser could not split: source_line, column, message (English and Finnish), and the table's
    #: columns as far as the line, split at each delimiter, has them (what it is about: its key, its person)
    rejects: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={LINE: pl.Int64, "column": pl.Utf8, "message": pl.Utf8, "message_fi": pl.Utf8}
        )
    )
    notices: list[str] = field(default_factory=list)
    problem: FileProblem | None = None

    @property
    def rows_read(self) -> int:
        return (0 if self.frame is None else self.frame.height) + self.rejects.height


def _normalise_header(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").replace("\u00a0", " ").split()).casefold()


def _header_fields(path: Path, text_head: str, dialect: CsvDialect) -> list[str]:
    try:
        first = next(
            csv.reader(io.StringIO(text_head, newline=""), delimiter=dialect.delimiter, quotechar=dialect.quote), None
        )
    except csv.Error as err:
        raise FileProblem(path.name, f"the header row cannot be read as CSV ({err})", 1) from None
    if not first or first == [""]:
        raise FileProblem(path.name, "the file is empty: expected a header row", 1)
    if len(first) == 1:
        for other in (";", ",", "\t", "|"):
            if other != dialect.delimiter and other in first[0]:
                shown = "tab" if other == "\t" else f"'{other}'"
                raise FileProblem(
                    path.name,
                    f"the header is separated by {shown}, not by '{dialect.delimiter}': "
                    f"export the file with '{dialect.delimiter}' as the delimiter",
                    1,
                )
    return first


def map_headers(
    path: Path, table: Table, header: list[str], headers: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """File header → column name, plus notices about columns we do not know."""
    wanted = {_normalise_header(headers.get(c.name, c.source_header)): c.name for c in table.columns}
    seen: dict[str, int] = {}
    mapping: dict[str, str] = {}
    notices, passed_over = [], []
    for position, name in enumerate(header, start=1):
        key = _normalise_header(name)
        if key in seen:
            raise FileProblem(
                path.name,
                f"the header '{name.strip()}' appears twice (fields {seen[key]} and "
                f"{position}): it is not clear which one to read",
                1,
                name.strip(),
            )
        seen[key] = position
        if key in wanted:
            mapping[name] = wanted[key]
        elif table.files.other_columns:
            passed_over.append(name.strip())
        else:
            notices.append(
                f"{path.name}: column '{name.strip()}' (field {position}) is not part of the export "
                "contract and was ignored"
            )
    if passed_over:
        notices.append(f"{path.name}: {len(passed_over)} column(s) not read here: {', '.join(passed_over)}")
    missing = [c for c in table.columns if c.name not in mapping.values()]
    if missing:
        names = ", ".join(f"'{headers.get(c.name, c.source_header)}'" for c in missing)
        raise FileProblem(
            path.name,
            f"required column{'s' if len(missing) > 1 else ''} {names} missing from the header row",
            1,
            headers.get(missing[0].name, missing[0].source_header),
        )
    return mapping, notices


def read_export_file(
    path: Path,
    table: Table,
    headers: dict[str, str] | None = None,
    dialect: CsvDialect | None = None,
    max_bytes: int | None = None,
) -> RawTable:
    """Read ``path`` as ``table``; a file-level problem is returned, not raised."""
    raw = RawTable(table=table.name, file=path.name)
    try:
        _read(path, table, headers or {}, dialect or CsvDialect(), raw, max_bytes)
    except FileProblem as problem:
        raw.problem, raw.frame = problem, None
        raw.rejects = raw.rejects.clear()
    return raw


def no_rows(table: Table) -> pl.DataFrame:
    """A text table of ``table`` with no rows (a file the source did not write)."""
    return pl.DataFrame(schema={**{n: pl.Utf8 for n in table.names}, LINE: pl.Int64})


def read_delivered_file(
    name: str,
    parts: tuple[Path, ...],
    table: Table,
    headers: dict[str, str] | None = None,
    dialect: CsvDialect | None = None,
    max_bytes: int | None = None,
) -> RawTable:
    """Read the file ``name`` of ``table`` as its source delivers it (``table.files``): absent (no rows), whole, or
    in ``parts`` joined in order; a file-level problem is returned, not raised."""
    raw = RawTable(table=table.name, file=name)
    try:
        if not parts:
            raw.frame = no_rows(table)
            raw.notices.append(f"{name}: not in the delivery, so no rows (the source writes no file for none)")
            return raw
        data = []
        for part in parts:
            with opened_export(part, max_bytes) as (_, bytes_read):
                data.append(bytes_read)
        whole, returns = joined(data), []
        if table.files.bare_returns_in_values:
            whole, returns = with_bare_returns_spaced(whole)
        if table.files.unquoted_list:
            try:
                whole = with_lists_joined(whole.decode("utf-8"), table.files.unquoted_list).encode("utf-8")
            except UnicodeDecodeError:  # (not UTF-8, as KOSKI's files always are: read as it is, and said where)
                pass
        _read_bytes(Path(name), None, whole, table, headers or {}, dialect or CsvDialect(), raw)
        if returns:
            raw.notices.append(
                f"{name}, line {', '.join(map(str, sorted(set(returns))[:10]))}: a carriage return inside a value "
                "(the source's writer leaves it unquoted) was read as a space"
            )
        if len(parts) > 1:
            raw.notices.append(
                f"{name} came in {len(parts)} parts; its line numbers count through them: {_spans(parts, data)}"
            )
    except FileProblem as problem:
        raw.problem, raw.frame = problem, None
        raw.rejects = raw.rejects.clear()
    return raw


def _spans(parts: tuple[Path, ...], data: list[bytes]) -> str:
    """Which lines of the joined file each part holds: ``.01 lines 1–1000, .02 lines 1001–1800``."""
    spans, first = [], 1
    for part, bytes_read in zip(parts, data):
        last = first + bytes_read.count(b"\n") - 1
        spans.append(f".{part.name.rsplit('.', 1)[-1]} lines {first}–{last}")
        first = last + 1
    return ", ".join(spans)


@contextlib.contextmanager
def opened_export(path: Path, max_bytes: int | None = None):
    """The export file as an open descriptor and its bytes, checked on the descriptor itself (``fstat``): a
    regular file with one name (a symbolic or hard link to a file elsewhere is refused), within the size limit.
    Everything after reads this descriptor, never the path again, so a file swapped in between is never read."""
    try:
        # (O_NONBLOCK: a pipe named like an export would otherwise hold the run, and its lock, until a writer came)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileProblem(path.name, "the file is missing from the export folder") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise FileProblem(
                path.name,
                "the file is a symbolic link: exports must be real files inside the "
                "landing folder, not links to elsewhere",
            ) from None
        raise FileProblem(path.name, f"the file cannot be opened: {err.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem(path.name, "this is not a regular file (a folder, device or pipe)")
        if info.st_nlink > 1:
            raise FileProblem(
                path.name,
                f"the file has {info.st_nlink} names (a hard link): it may be a file from "
                "elsewhere; copy the export into the landing folder instead of linking it",
            )
        if max_bytes is not None and info.st_size > max_bytes:
            raise FileProblem(
                path.name,
                f"the file is {_size(info.st_size)}, more than the limit of "
                f"{_size(max_bytes)} (limits.max_file_mb in the site configuration)",
            )
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read() if max_bytes is None else f.read(max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:
            raise FileProblem(path.name, f"the file grew past the limit of {_size(max_bytes)} while it was read")
        yield fd, data
    finally:
        os.close(fd)


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _descriptor_path(fd: int) -> Path | None:
    """A path that opens the very file behind ``fd`` (Linux), for a reader that takes a path; else None."""
    path = Path(f"/proc/self/fd/{fd}")
    return path if path.exists() else None


def _read(
    path: Path, table: Table, headers: dict[str, str], dialect: CsvDialect, raw: RawTable, max_bytes: int | None = None
) -> None:
    with opened_export(path, max_bytes) as (fd, data):
        _read_bytes(path, fd, data, table, headers, dialect, raw)


def _read_bytes(
    path: Path, fd: int | None, data: bytes, table: Table, headers: dict[str, str], dialect: CsvDialect, raw: RawTable
) -> None:
    raw.sha256 = hashlib.sha256(data).hexdigest()
    raw.encoding = detect_encoding(path, data)
    text_head = data[:65536].decode(raw.encoding, errors="replace")
    header = _header_fields(path, text_head, dialect)
    mapping, raw.notices = map_headers(path, table, header, headers)

    with tempfile.TemporaryDirectory(prefix="tiedolla-read-") as tmp:
        source = _descriptor_path(fd) if fd is not None else None
        if raw.encoding == "cp1252" or source is None:  # DuckDB reads only UTF-8: transcode, byte-exact characters
            data = data.decode("cp1252").encode("utf-8") if raw.encoding == "cp1252" else data
            source = Path(tmp) / path.name  # (a private copy of the bytes already read and checked)
            source.write_bytes(data)
        try:
            try:
                frame, rejects = _parse(source, header, mapping, dialect)
            except duckdb.InvalidInputException:
                if not mixed_line_ends(data, ord(dialect.quote)):
                    raise
                # DuckDB's strict reader takes the first line's end as the file's and stops at the first line that
                # ends otherwise, with no line named: the whole export would be lost for one line edited by hand
                frame, rejects = _parse(source, header, mapping, dialect, strict=False)
                raw.notices.append(
                    f"{path.name}: the lines end in two ways (CR LF, and LF alone on some lines, as a text editor "
                    "may leave them): each was read as the end of a line"
                )
        except duckdb.Error as err:
            detail = str(err).splitlines()[0].split("Error: ", 1)[-1]
            raise FileProblem(path.name, f"the file could not be read as CSV: {detail}") from None
    physical, blank, starts = logical_line_map(data, ord(dialect.quote))
    rejects = rejects.with_columns(
        pl.Series("logical_line", lines_at(starts, rejects["line_start"].to_numpy()), dtype=pl.Int64)
    ).drop("line_start")
    candidates = np.flatnonzero(~blank[1:]) + 2  # logical lines after the header
    accepted = candidates[~np.isin(candidates, rejects["logical_line"].to_numpy())]
    if len(accepted) == frame.height:
        lines = physical[accepted - 1]
    else:  # a quote inside an unquoted value fools the fast scan: count lines the slow, exact way
        lines = record_lines(data.decode("utf-8-sig"), dialect) if rejects.height == 0 else []
        if len(lines) != frame.height:
            raise FileProblem(
                path.name,
                "the rows could not be matched to their line numbers; check the file for stray quote characters",
            )
    raw.frame = frame.with_columns(pl.Series(LINE, lines, dtype=pl.Int64))
    if frame.height == 0 and rejects.height == 0:  # (read, but perhaps an export cut short or run on an empty filter)
        raw.notices.append(f"{path.name}: the file has its header row but no rows: is the export complete?")
    fields = pl.col("raw_text").str.split(dialect.delimiter)  # (a line the parser rejected: split as it comes)
    raw.rejects = rejects.with_columns(
        pl.col("logical_line").map_elements(lambda n: int(physical[n - 1]), return_dtype=pl.Int64).alias(LINE),
        *(
            fields.list.get(position, null_on_oob=True).str.strip_chars(f" {dialect.quote}").alias(mapping[name])
            for position, name in enumerate(header)
            if name in mapping
        ),
    ).select(LINE, "column", "message", "message_fi", *(mapping[name] for name in header if name in mapping))


def record_lines(text: str, dialect: CsvDialect) -> list[int]:
    """The physical line each non-blank record after the header starts on, by Python's csv reader."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter, quotechar=dialect.quote)
    starts, line = [], 1
    try:
        for record in reader:
            if record and line > 1:  # (a blank line is no record; a line of only delimiters is one)
                starts.append(line)
            line = reader.line_num + 1
    except csv.Error:
        return []  # not even Python's reader can split it: the caller reports the file
    return starts


def _parse(source: Path, header: list[str], mapping: dict[str, str], dialect: CsvDialect, strict: bool = True):
    con = duckdb.connect()
    try:
        columns = {name: "VARCHAR" for name in header}
        rel = con.read_csv(
            str(source),
            delimiter=dialect.delimiter,
            quotechar=dialect.quote,
            escapechar=dialect.quote,
            header=True,
            columns=columns,
            ignore_errors=True,
            store_rejects=True,
            auto_detect=False,
            strict_mode=strict,
            encoding="utf-8",
        )
        select = ", ".join(f'"{h.replace(chr(34), chr(34) * 2)}" AS "{mapping[h]}"' for h in header if h in mapping)
        frame = rel.select(select).pl()  # (also a header-only file: no rows, the right columns)
        rejects = con.sql("""
            SELECT line_byte_position AS line_start, any_value(column_name) AS column,
                   any_value(error_type) AS error_type,
                   any_value(error_message) AS detail, trim(any_value(csv_line), e'\r\n') AS raw_text
            FROM reject_errors GROUP BY line_start ORDER BY line_start""").pl()
    finally:
        con.close()

    def words(catalogue: dict[str, str]) -> pl.Expr:
        return pl.col("error_type").replace_strict(
            {k: v.format(delim=dialect.delimiter) for k, v in catalogue.items()}, default=pl.col("detail")
        )

    return frame, rejects.with_columns(
        pl.col("line_start").cast(pl.Int64),
        words(REJECT_WORDS).alias("message"),
        words(REJECT_WORDS_FI).alias("message_fi"),
        pl.col("column").replace_strict(mapping, default=pl.col("column")),
    )
