"""A network landing area (``source-exports.md`` section 5): one folder per provider and ``providers.csv``.

A landing area with ``student_admin/`` at its top is a single provider; one with ``providers.csv`` is a network.
Every provider of the file must have its folder and every folder its row, so that no provider is left out of a
run (or run under no name) silently.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.ingestion.problems import FileProblem
from schemas.metadata import LINE
from schemas.network import PROVIDERS

FILE = PROVIDERS.source_file
HEADERS = [c.source_header for c in PROVIDERS.columns]


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    group: str | None
    folder: Path


def is_network(landing: Path) -> bool:
    return (landing / FILE).is_file()


def providers(landing: Path) -> list[Provider]:
    """The providers of a network landing area, in the file's order; a file or folder that does not agree with
    the other is a :class:`FileProblem` naming the line and column."""
    path = landing / FILE
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise FileProblem(str(path), f"is not UTF-8 (byte {err.start} cannot be read)") from None
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    if not rows or [h.strip() for h in rows[0]] != HEADERS:
        header = ";".join(rows[0]) if rows else "an empty file"
        raise FileProblem(str(path), f"the header must be {';'.join(HEADERS)} (found {header})", 1)
    lines = [(line, row) for line, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    for line, row in lines:
        if len(row) != len(HEADERS):
            raise FileProblem(str(path), f"{len(row)} fields where the header has {len(HEADERS)}", line)
    if not lines:
        raise FileProblem(str(path), "lists no provider", 2)
    frame = pl.DataFrame(
        [[cell.strip() or None for cell in row] + [line] for line, row in lines],
        schema=[*PROVIDERS.names, LINE],
        orient="row",
    )
    for rule in PROVIDERS.all_rules():  # the rules of schemas/network.py, first failing row first
        failing = frame.filter(~rule.passes().fill_null(False))
        if failing.height:
            header = PROVIDERS.column(rule.column).source_header if rule.column else None
            raise FileProblem(str(path), rule.description, failing[LINE][0], header)
    found = [Provider(pid, name, group, landing / pid) for pid, name, group, _ in frame.iter_rows()]
    for (line, _), provider in zip(lines, found, strict=True):
        if not provider.folder.is_dir():
            raise FileProblem(
                str(path),
                f"{provider.id} has no folder {provider.folder}",
                line,
                PROVIDERS.column("provider_id").source_header,
            )
    listed = {p.id for p in found}
    strays = sorted(
        d.name for d in landing.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name not in listed
    )
    if strays:
        raise FileProblem(str(path), f"the folder(s) {', '.join(strays)} are not listed: add a row for each provider")
    return found
