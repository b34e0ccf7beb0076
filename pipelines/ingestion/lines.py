"""Physical line numbers of CSV records, found with a vectorised scan of the bytes.

A record may span several physical lines (a quoted field may hold a newline), so the
record number a parser reports is not the line a steward sees in a text editor. A
newline ends a record unless an odd number of quote characters precede it.
"""
from __future__ import annotations

import numpy as np


def logical_line_map(data: bytes, quote: int = ord('"')) -> tuple[np.ndarray, np.ndarray]:
    """For each logical line (1-based index - 1): its physical line, and whether it is blank.

    Logical lines are what DuckDB's CSV reader numbers in its reject table (blank lines
    included); physical lines are what a text editor shows.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    quotes = np.flatnonzero(arr == quote)
    outside = (np.searchsorted(quotes, newlines) % 2) == 0
    starts = np.concatenate(([0], newlines[outside] + 1))
    physical = np.searchsorted(newlines, starts) + 1
    padded = np.append(arr, np.uint8(10))
    blank = (starts >= len(arr)) | (padded[starts] == 10) | ((padded[starts] == 13) & (np.append(padded[1:], np.uint8(10))[starts] == 10))
    return physical, blank
