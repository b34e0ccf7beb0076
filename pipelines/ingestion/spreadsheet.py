"""KOSKI's report as a provider downloads it: decrypted, bounded, the data sheet found by its header row, typed and
text cells read alike, columns taken by name whichever version of KOSKI's headers the file has.

KOSKI writes the workbook encrypted with the password the user typed (Office agile encryption: an OLE2 file, not a
zip); msoffcrypto-tool decrypts it with the site's KOSKI password. A workbook a person saved again may be plain.
Before python-calamine (Rust calamine) reads it, the zip is measured as it unpacks: a small file that unpacks to
gigabytes, or holds more cells than a report could, is refused. KOSKI writes its cells typed (Excel dates, numbers,
booleans as 1/0 shown as kyllä/ei), but a file saved again by hand may hold them as text (``d.m.yyyy``, a decimal
comma, ``kyllä``/``ei``). Every cell is first turned into one canonical text and then typed per column as
``schemas/koski_report.py`` says, so both kinds read the same. A cell that does not read is null and listed with
its row and header; a row that is not a study right (a ``Yhteensä`` totals row, a note) is left out and named; a file
that cannot be read at all is a :class:`FileProblem` naming the file, the sheet and the header.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

import msoffcrypto
import polars as pl
from msoffcrypto.exceptions import DecryptionError, FileFormatError, InvalidKeyError, ParseError
from python_calamine import CalamineError, CalamineWorkbook

from pipelines.ingestion.problems import FileProblem
from pipelines.site import DEFAULT_MAX_WORKBOOK_CELLS, DEFAULT_MAX_WORKBOOK_UNPACKED_MB
from schemas.koski_report import EARLIER_HEADERS, KOSKI_FILE, RECONCILED, SUPERSEDED_HEADERS
from schemas.metadata import LINE

FILE_NAME = re.compile(r"^opiskelijavuositiedot_(?P<oid>[0-9.]+)_(?P<first>\d{8})-(?P<last>\d{8})\.xlsx$")
OID, RIGHT = KOSKI_FILE.column("study_right_oid"), KOSKI_FILE.column("study_right_id")
TRUE_WORDS, FALSE_WORDS = ("kyllä", "true", "tosi", "1", "x"), ("ei", "false", "epätosi", "0")
#: an OLE2 compound file: how an encrypted OOXML workbook (and an old .xls) begins
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: the rows of a sheet searched for the header row (a person may add a title above it)
HEADER_SEARCH_ROWS = 20
#: a cell element in a worksheet's XML (``<c r="A1" …>``, with or without a namespace prefix)
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s>/]")


class WrongPassword(FileProblem):
    """The workbook is encrypted and the KOSKI password is missing or does not open it."""


@dataclass
class KoskiReport:
    """One KOSKI report file: its reporting period and its rows, typed by ``KOSKI_FILE``."""

    file: str
    sheet: str
    oppilaitos_oid: str
    first: dt.date
    last: dt.date
    rows: pl.DataFrame  # KOSKI_FILE's columns that the file has, and source_line (the sheet's row number)
    #: our names of the reconciled columns the file has under a header we compare
    compared: tuple[str, ...] = ()
    #: our name of each reconciled column not compared → why (the file lacks it, or its version counted it otherwise)
    not_compared: dict[str, str] = field(default_factory=dict)
    #: cells that did not read as their column's type: (row, header, the text)
    unreadable: list[tuple[int, str, str]] = field(default_factory=list)
    #: rows that are not study rights (a totals row, a note): (row, its text in the oid column or its first text)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    encrypted: bool = False


def reporting_period(file: str) -> tuple[str, dt.date, dt.date]:
    """(oppilaitos oid, first day, last day) from KOSKI's file name."""
    match = FILE_NAME.match(file)
    if not match:
        raise FileProblem(
            file,
            "the name is not KOSKI's opiskelijavuositiedot_<oppilaitos oid>_<yyyymmdd>-"
            "<yyyymmdd>.xlsx, which gives the reporting period: download the report again",
        )
    try:
        first, last = (dt.datetime.strptime(match[g], "%Y%m%d").date() for g in ("first", "last"))
    except ValueError:
        raise FileProblem(file, "the reporting period in the name is not two dates yyyymmdd-yyyymmdd") from None
    if last < first:
        raise FileProblem(file, f"the reporting period in the name ends ({last}) before it begins ({first})")
    return match["oid"], first, last


def decrypted(file: str, data: bytes, password: str | None) -> tuple[bytes, bool]:
    """The workbook's plain bytes, and whether it was encrypted (KOSKI's download is; a re-saved copy may not be)."""
    if not data.startswith(OLE_MAGIC):
        return data, False
    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        if not office.is_encrypted():
            return data, False
    except (FileFormatError, ParseError, OSError, ValueError) as err:
        raise FileProblem(
            file, f"not a readable Excel workbook (an OLE2 file msoffcrypto-tool cannot read: {err})"
        ) from None
    if not password:
        raise WrongPassword(
            file,
            "is encrypted (KOSKI encrypts its report with the password typed when downloading it), and no KOSKI "
            "password was given: set TIEDOLLA_KOSKI_PASSWORD, or name a file holding it with --koski-password-file",
        )
    plain = io.BytesIO()
    try:
        office.load_key(password=password)
        office.decrypt(plain)
    except (InvalidKeyError, DecryptionError):
        raise WrongPassword(
            file,
            "the KOSKI password does not open it: check TIEDOLLA_KOSKI_PASSWORD (or --koski-password-file) against "
            "the password typed when the report was downloaded",
        ) from None
    except (FileFormatError, ParseError, ValueError, OSError) as err:
        raise FileProblem(file, f"an encrypted workbook that cannot be decrypted: {err}") from None
    return plain.getvalue(), True


def check_unpacked(file: str, data: bytes, max_bytes: int, max_cells: int) -> None:
    """Refuse a workbook that unpacks to more than ``max_bytes`` or holds more than ``max_cells`` cells, measured as
    it unpacks (the sizes a zip declares may lie), before the reader builds a single cell."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise FileProblem(file, f"not a readable Excel workbook (.xlsx): {err}") from None
    unpacked = cells = 0
    try:
        for info in archive.infolist():
            if unpacked + info.file_size > max_bytes:
                raise FileProblem(file, _too_large(max_bytes, "unpacks to more than"))
            sheet, tail = info.filename.startswith("xl/worksheets/"), b""
            with archive.open(info) as member:
                while chunk := member.read(1 << 20):
                    unpacked += len(chunk)
                    if unpacked > max_bytes:
                        raise FileProblem(file, _too_large(max_bytes, "unpacks to more than"))
                    if sheet:
                        cells += len(_CELL.findall(tail + chunk))
                        tail = chunk[-16:]
                        cells -= len(_CELL.findall(tail))  # (the tail is searched again with the next chunk)
                        if cells > max_cells:
                            raise FileProblem(
                                file,
                                f"holds more than {max_cells:,} cells (limits.max_workbook_cells): more than any "
                                "KOSKI report of one oppilaitos; not read".replace(",", " "),
                            )
                if sheet:
                    cells += len(_CELL.findall(tail))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as err:
        raise FileProblem(file, f"not a readable Excel workbook (.xlsx): {err}") from None


def _too_large(max_bytes: int, what: str) -> str:
    return (
        f"{what} {max_bytes / 1_000_000:.0f} MB (limits.max_workbook_unpacked_mb): far more than any KOSKI report "
        "of one oppilaitos, perhaps a file built to exhaust memory; not read"
    )


def _text(value) -> str | None:
    """A cell as canonical text: numbers with a dot and no trailing .0, dates ISO, booleans true/false."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip() or None


def _header_key(text: str | None) -> str:
    """A header as compared: Unicode NFC, any dash a hyphen, white space collapsed, lower case."""
    text = unicodedata.normalize("NFC", text or "")
    return " ".join(re.sub(r"[\u2010-\u2015\u2212]", "-", text).split()).lower()


#: every header of every version of KOSKI's file → our column name
_KNOWN = {_header_key(c.source_header): c.name for c in KOSKI_FILE.columns} | {
    _header_key(old): name for name, olds in EARLIER_HEADERS.items() for old in olds
}
_SUPERSEDED = {_header_key(h): name for h, name in SUPERSEDED_HEADERS.items()}


def _typed(text: pl.Expr, dtype) -> pl.Expr:
    if dtype == pl.Float64:
        return text.str.replace_all(r"\s", "").str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    if dtype == pl.Boolean:
        lower = text.str.to_lowercase()
        return pl.when(lower.is_in(TRUE_WORDS)).then(True).when(lower.is_in(FALSE_WORDS)).then(False)
    if dtype == pl.Date:
        return pl.coalesce(
            text.str.strptime(pl.Date, "%Y-%m-%d", strict=False), text.str.strptime(pl.Date, "%d.%m.%Y", strict=False)
        )
    return text


def _header_row(rows: list[list]) -> int | None:
    """The index of the row holding KOSKI's two identifier headers (in any version), within the first rows."""
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found = {_KNOWN.get(_header_key(_text(v))) for v in row}
        if {OID.name, RIGHT.name} <= found:
            return i
    return None


def _data_sheet(workbook: CalamineWorkbook, file: str) -> tuple[str, int, list[list]]:
    """The sheet with KOSKI's header row (whatever it is named or where it stands: KOSKI adds a sheet of
    instructions, and a person may rename or reorder them), the header row's index and the sheet's rows."""
    for name in workbook.sheet_names:
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        at = _header_row(rows)
        if at is not None:
            return name, at, rows
    raise FileProblem(
        file,
        f"no sheet has KOSKI's header row (with '{OID.source_header}' and '{RIGHT.source_header}'); the workbook's "
        f"sheets are {', '.join(repr(n) for n in workbook.sheet_names) or 'none'}: is this KOSKI's "
        "opiskelijavuositiedot report?",
    )


def _columns(file: str, sheet: str, line: int, headers: list[str | None]) -> tuple[dict[str, int], dict[str, str]]:
    """Our column name → its position, and each reconciled column not compared → why."""
    at: dict[str, int] = {}
    superseded: dict[str, str] = {}
    for position, header in enumerate(headers):
        key = _header_key(header)
        name = _KNOWN.get(key)
        if name is None:
            if key in _SUPERSEDED:
                superseded[_SUPERSEDED[key]] = header
            continue  # (an unknown extra column is ignored)
        if name in at:
            raise FileProblem(
                file,
                f"sheet '{sheet}': two columns are KOSKI's '{header}' (columns {at[name] + 1} and {position + 1}): "
                "it is not clear which one to read",
                line=line,
                column=header,
            )
        at[name] = position
    not_compared = {}
    for c in RECONCILED:
        if c.name in at:
            continue
        if c.name in superseded:
            not_compared[c.name] = (
                f"the file's '{superseded[c.name]}' is KOSKI's earlier count of the new formula (from 1.1.2026 and "
                "for fewer study-right types, until June 2026), not today's"
            )
        else:
            not_compared[c.name] = f"the file has no column '{c.source_header}'"
    return at, not_compared


def read_koski_report(
    file: str,
    data: bytes,
    password: str | None = None,
    max_unpacked_bytes: int = DEFAULT_MAX_WORKBOOK_UNPACKED_MB * 1_000_000,
    max_cells: int = DEFAULT_MAX_WORKBOOK_CELLS,
) -> KoskiReport:
    """Read the bytes of one KOSKI report (already read from the landing area: the path is not opened again)."""
    oid, first, last = reporting_period(file)
    plain, encrypted = decrypted(file, data, password)
    if not plain.startswith(OLE_MAGIC):  # (an old .xls is no zip: calamine reads it whole, within the file limit)
        check_unpacked(file, plain, max_unpacked_bytes, max_cells)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(plain))
        sheet, at_header, rows = _data_sheet(workbook, file)
    except CalamineError as err:
        raise FileProblem(file, f"not a readable Excel workbook (.xlsx): {err}") from None
    except (ValueError, OSError) as err:  # a zip that is not one, a cut-short file
        raise FileProblem(file, f"not a readable Excel workbook (.xlsx): {err}") from None
    header_line = at_header + 1
    at, not_compared = _columns(file, sheet, header_line, [_text(h) for h in rows[at_header]])
    known = [c for c in KOSKI_FILE.columns if c.name in at]
    body = rows[at_header + 1 :]
    text = pl.DataFrame(
        {c.name: [_text(r[at[c.name]]) if at[c.name] < len(r) else None for r in body] for c in known},
        schema={c.name: pl.Utf8 for c in known},
    ).with_columns(pl.int_range(header_line + 1, pl.len() + header_line + 1, dtype=pl.Int64).alias(LINE))
    text = text.filter(pl.any_horizontal(pl.col(c.name).is_not_null() for c in known))  # (blank rows)
    is_right = pl.col(RIGHT.name).is_not_null() | pl.col(OID.name).str.starts_with("1.2.246.562.").fill_null(False)
    skipped = [  # (named by what stands in its oid column, a totals row's "Yhteensä", or else its first text)
        (line, oid_text or next((v for v in (_text(x) for x in body[line - header_line - 1]) if v), ""))
        for line, oid_text in text.filter(~is_right).select(LINE, OID.name).rows()
    ]
    text = text.filter(is_right)
    typed = text.with_columns(_typed(pl.col(c.name), c.dtype).alias(c.name) for c in known)
    unreadable = []
    for c in known:
        if c.dtype != pl.Utf8:
            bad = text.select(LINE, pl.col(c.name).alias("text"), typed[c.name].alias("value")).filter(
                pl.col("text").is_not_null() & pl.col("value").is_null()
            )
            header = _text(rows[at_header][at[c.name]]) or c.source_header
            unreadable += [(line, header, value) for line, value in bad.select(LINE, "text").rows()]
    compared = tuple(c.name for c in RECONCILED if c.name in at)
    return KoskiReport(
        file, sheet, oid, first, last, typed, compared, not_compared, unreadable, skipped, encrypted=encrypted
    )
