"""Physical line numbers of CSV records, found with a vectorised scan of the bytes.

A record may span several physical lines (a quoted field may hold a newline), so the
record number a parser reports is not the line a steward sees in a text editor. A
newline ends a record unless an odd number of quote characters precede it.
"""

from __future__ import annotations

import numpy as np


def logical_line_map(data: bytes, quote: int = ord('"')) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each logical line (1-based index - 1): its physical line, whether it is blank, and the byte it starts at.

    Logical lines are the records DuckDB's CSV reader reads one by one (blank lines included); physical lines are
    what a text editor shows.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    # (each pass finds positions, never a mask of the whole file kept or copied: a 0.5 GB export is read once a pass)
    newlines = np.flatnonzero(arr == 10)
    if data.find(b"\r") >= 0:  # a CR not followed by LF ends a line too (old Mac line endings, as the parser reads)
        returns = np.flatnonzero(arr == 13)
        after = returns + 1
        bare = returns[(after >= len(arr)) | (arr[np.minimum(after, len(arr) - 1)] != 10)]
        if len(bare):  # (CRLF files have none: their CRs are no line's end)
            newlines = np.union1d(newlines, bare)
    quotes = np.flatnonzero(arr == quote) if data.find(bytes([quote])) >= 0 else newlines[:0]
    outside = (np.searchsorted(quotes, newlines) % 2) == 0
    starts = np.concatenate(([0], newlines[outside] + 1))
    physical = np.searchsorted(newlines, starts) + 1
    blank = starts >= len(arr)  # (past the end) or a line end (LF, CR) right at its start
    first = arr[starts[~blank]]
    blank[~blank] = (first == 10) | (first == 13)
    return physical, blank, starts


def lines_at(starts: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The logical line (1-based) each byte position is in, by the lines' ``starts``.

    A line the CSV reader rejects is placed by the byte its record starts at, never by the reader's own count of
    lines: DuckDB's parallel reader miscounts lines after a quoted newline in a large file (seen with DuckDB 2.0.1:
    one line too many from some point of an 84 MB export), while the byte it reports is the record's start (in an
    LF file the byte after it), so the line that holds it is the record's."""
    return np.searchsorted(starts, positions, side="right")


def mixed_line_ends(data: bytes, quote: int = ord('"')) -> bool:
    """Whether some lines end in CR LF and others in LF alone (a line feed inside quotes is a value's, not a line's
    end)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    feeds = np.flatnonzero(arr == 10)
    feeds = feeds[(np.searchsorted(np.flatnonzero(arr == quote), feeds) % 2) == 0]
    bare = (feeds == 0) | (arr[np.maximum(feeds - 1, 0)] != 13)
    return bool(bare.any() and not bare.all())
