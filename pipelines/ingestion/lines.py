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
    following = np.append(arr[1:], np.uint8(0))
    # a line ends at LF, or at a CR not followed by LF (old Mac line endings, which the CSV parser honours too)
    ends = (arr == 10) | ((arr == 13) & (following != 10))
    newlines = np.flatnonzero(ends)
    quotes = np.flatnonzero(arr == quote)
    outside = (np.searchsorted(quotes, newlines) % 2) == 0
    starts = np.concatenate(([0], newlines[outside] + 1))
    physical = np.searchsorted(newlines, starts) + 1
    empty_at = np.append(ends | ((arr == 13) & (following == 10)), True)  # a line end (or CRLF) right at its start
    blank = (starts >= len(arr)) | empty_at[np.minimum(starts, len(arr))]
    return physical, blank
