"""KOSKI's report as a spreadsheet: the data sheet found by its header row, typed and text cells read alike.

python-calamine (Rust calamine) reads the workbook. KOSKI writes its cells typed (Excel dates, numbers,
booleans), but a file saved again by hand may hold them as text (``d.m.yyyy``, a decimal comma,
``kyllä``/``ei``). Every cell is first turned into one canonical text and then typed per column as
``schemas/koski_report.py`` says, so both kinds read the same. A cell that does not read is null and
listed with its sheet, row and header; a file that cannot be read at all is a :class:`FileProblem`
naming the file, the sheet and the header.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field

import polars as pl
from python_calamine import CalamineError, CalamineWorkbook

from pipelines.ingestion.problems import FileProblem
from schemas.koski_report import KOSKI_FILE, RECONCILED
from schemas.metadata import LINE

FILE_NAME = re.compile(r"^opiskelijavuositiedot_(?P<oid>[0-9.]+)_(?P<first>\d{8})-(?P<last>\d{8})\.xlsx$")
FIRST_HEADER = KOSKI_FILE.columns[0].source_header
#: headers the reconciliation cannot do without: the two ways to match a row, and every figure it compares
REQUIRED = (KOSKI_FILE.column("study_right_oid"), KOSKI_FILE.column("study_right_id"), *RECONCILED)
TRUE_WORDS, FALSE_WORDS = ("kyllä", "true", "tosi", "1", "x"), ("ei", "false", "epätosi", "0")


@dataclass
class KoskiReport:
    """One KOSKI report file: its reporting period and its rows, typed by ``KOSKI_FILE``."""

    file: str
    sheet: str
    oppilaitos_oid: str
    first: dt.date
    last: dt.date
    rows: pl.DataFrame  # KOSKI_FILE's columns that the file has, and source_line (the sheet's row number)
    #: cells that did not read as their column's type: (row, header, the text)
    unreadable: list[tuple[int, str, str]] = field(default_factory=list)


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


def _data_sheet(workbook: CalamineWorkbook, file: str) -> tuple[str, list[list]]:
    """The sheet whose first row starts with KOSKI's first header (KOSKI adds a documentation sheet)."""
    for name in workbook.sheet_names:
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        if rows and rows[0] and _text(rows[0][0]) == FIRST_HEADER:
            return name, rows
    raise FileProblem(
        file,
        f"no sheet starts with KOSKI's header row (its first header is '{FIRST_HEADER}'); the "
        f"workbook's sheets are {', '.join(repr(n) for n in workbook.sheet_names) or 'none'}: "
        "is this KOSKI's opiskelijavuositiedot report?",
    )


def read_koski_report(file: str, data: bytes) -> KoskiReport:
    """Read the bytes of one KOSKI report (already read from the landing area: the path is not opened again)."""
    oid, first, last = reporting_period(file)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet, rows = _data_sheet(workbook, file)
    except CalamineError as err:
        raise FileProblem(file, f"not a readable Excel workbook (.xlsx): {err}") from None
    except (ValueError, OSError) as err:  # a zip that is not one, a cut-short file
        raise FileProblem(file, f"not a readable Excel workbook (.xlsx): {err}") from None
    headers = [_text(h) or "" for h in rows[0]]
    for column in REQUIRED:
        if column.source_header not in headers:
            raise FileProblem(
                file,
                f"sheet '{sheet}': the header '{column.source_header}' is missing (KOSKI's "
                "report has it; was a column deleted?)",
                line=1,
                column=column.source_header,
            )
    known = [c for c in KOSKI_FILE.columns if c.source_header in headers]
    at = {c.name: headers.index(c.source_header) for c in known}
    body = rows[1:]
    text = pl.DataFrame(
        {c.name: [_text(r[at[c.name]]) if at[c.name] < len(r) else None for r in body] for c in known},
        schema={c.name: pl.Utf8 for c in known},
    )
    text = text.with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias(LINE)).filter(
        pl.any_horizontal(pl.col(c.name).is_not_null() for c in known)
    )  # (blank rows at the end of a sheet)
    typed = text.with_columns(_typed(pl.col(c.name), c.dtype).alias(c.name) for c in known)
    unreadable = []
    for c in known:
        if c.dtype != pl.Utf8:
            bad = text.select(LINE, pl.col(c.name).alias("text"), typed[c.name].alias("value")).filter(
                pl.col("text").is_not_null() & pl.col("value").is_null()
            )
            unreadable += [(line, c.source_header, value) for line, value in bad.select(LINE, "text").rows()]
    return KoskiReport(file, sheet, oid, first, last, typed, unreadable)
