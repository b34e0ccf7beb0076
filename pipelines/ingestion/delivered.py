"""A file as a source delivers it (its table's ``FileConvention``), made whole before it is read as a table.

KOSKI's CSV writer (``MassaluovutusResultWriter``, ``CsvFormatter`` in Opetushallitus/koski; spec A4–A5, A8) is the
source that needs it:

- a file that would be empty is not written at all: an absent file is an empty table;
- a partitioned query splits each file into ``<name>.csv.01``, ``.02`` … (numbered from 1, two digits or more, so
  sorted by number), only the first part carrying the header row, and splits only between records;
- ``mitatoity_opiskeluoikeus.csv``'s ``paatason_suoritus_tyypit`` is Scala's ``List(a, b)`` written unquoted, so a
  study right annulled with several suoritus types has its comma as an extra field: joined back here;
- every record ends with CR LF, and a value holding a carriage return alone is not quoted (``CsvFormatter`` quotes
  only for ``"``, ``\\``, ``,`` and a line feed): read as a space here, and said so, instead of as a line break.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingestion.problems import FileProblem

#: a part of a split file: ``opiskeluoikeus.csv.01``
_PART = re.compile(r"^(?P<name>[a-z_]+\.csv)\.(?P<number>\d{2,})$")


@dataclass(frozen=True)
class DeliveredFile:
    """One of KOSKI's files as delivered: its name, its parts in order (one for an unsplit file, none when KOSKI
    wrote none because it was empty)."""

    name: str
    parts: tuple[Path, ...]

    @property
    def absent(self) -> bool:
        return not self.parts


def delivered(folder: Path, name: str) -> DeliveredFile:
    """``name`` (``opiskeluoikeus.csv``) in the delivery ``folder``: whole, in numbered parts, or absent; parts must
    run from 01 without a gap, and a file may not come both whole and in parts."""
    whole = folder / name
    numbered = sorted(
        ((int(m["number"]), p) for p in folder.iterdir() if (m := _PART.match(p.name)) and m["name"] == name),
        key=lambda pair: pair[0],
    )
    if whole.exists() and numbered:
        raise FileProblem(name, f"the delivery holds {name} both whole and in parts ({numbered[0][1].name} …)")
    if not numbered:
        return DeliveredFile(name, (whole,) if whole.exists() else ())
    numbers = [n for n, _ in numbered]
    if numbers != list(range(1, len(numbers) + 1)):
        missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
        raise FileProblem(
            name,
            f"the parts of {name} do not run from .01 without a gap (missing: "
            f"{', '.join(f'.{n:02d}' for n in missing)}): the delivery is incomplete, fetch it again",
        )
    return DeliveredFile(name, tuple(p for _, p in numbered))


def joined(parts: list[bytes]) -> bytes:
    """The parts of one file as one (the header is in the first part only, and a split falls between records)."""
    if not parts:
        return b""
    out = parts[0]
    for part in parts[1:]:
        if out and not out.endswith(b"\n"):
            raise FileProblem("", "a part ends in the middle of a line: the parts do not join into whole records")
        out += part
    return out


_BARE_RETURN = re.compile(rb"\r(?!\n)")


def with_bare_returns_spaced(data: bytes) -> tuple[bytes, list[int]]:
    """``data`` with each carriage return not followed by a line feed read as a space, and the lines it was on."""
    lines = [data.count(b"\n", 0, m.start()) + 1 for m in _BARE_RETURN.finditer(data)]
    return (_BARE_RETURN.sub(b" ", data), lines) if lines else (data, [])


def with_lists_joined(text: str, list_column: str) -> str:
    """The file with each unquoted ``List(a, b)`` of ``list_column`` that its comma split put back into one quoted
    field, so that every record has the header's fields (other lines are left as they are)."""
    lines = text.split("\r\n")
    header = next(csv.reader([lines[0]]))
    if list_column not in header:
        return text
    at, width = header.index(list_column), len(header)
    out = [lines[0]]
    for line in lines[1:]:
        fields = next(csv.reader([line])) if line else []
        extra = len(fields) - width
        if extra > 0 and fields[at].startswith("List(") and fields[at + extra].endswith(")"):
            fields[at : at + extra + 1] = [",".join(fields[at : at + extra + 1])]  # (the space is kept)
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="").writerow(fields)
            line = buffer.getvalue()
        out.append(line)
    return "\r\n".join(out)
