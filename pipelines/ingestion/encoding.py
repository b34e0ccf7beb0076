"""Detect a file's encoding: UTF-8 (with or without BOM) or Windows-1252. Never guess silently."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingestion.problems import FileProblem

BOM = b"\xef\xbb\xbf"


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def detect_encoding(path: Path, data: bytes) -> str:
    """'utf-8-sig', 'utf-8' or 'cp1252'; a FileProblem where neither reads the file."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileProblem(path.name, "the file is UTF-16 text: export it again as UTF-8 (or Windows-1252)", 1)
    if data.startswith(BOM):
        body, name = data[len(BOM) :], "utf-8-sig"
    else:
        body, name = data, "utf-8"
    if b"\x00" in body[:4096]:
        line, col = _position(data, body.index(b"\x00"))
        raise FileProblem(
            path.name,
            "this is not a text file (it contains binary zero bytes); export it again as CSV",
            line,
            f"character {col}",
        )
    try:
        body.decode("utf-8")
        if BOM in body:
            line, col = _position(data, data.index(BOM, len(data) - len(body)))
            raise FileProblem(
                path.name,
                "a byte-order mark (BOM) stands in the middle of the file: two files were probably joined together",
                line,
                f"character {col}",
            )
        return name
    except UnicodeDecodeError as err:
        bad = err.start + (len(data) - len(body))
        if any(b >= 0x80 for b in body[: err.start]):
            line, col = _position(data, bad)
            raise FileProblem(
                path.name,
                "the file mixes encodings: it starts as UTF-8 but here has a byte "
                f"(0x{data[bad]:02X}) that is not UTF-8; export it again in one encoding",
                line,
                f"character {col}",
            ) from None
    try:
        body.decode("cp1252")
    except UnicodeDecodeError as err:
        line, col = _position(data, err.start)
        raise FileProblem(
            path.name,
            f"the file is neither UTF-8 nor Windows-1252 text (byte 0x{data[err.start]:02X})",
            line,
            f"character {col}",
        ) from None
    return "cp1252"
