"""A CRM as Azure Synapse Link for Dataverse writes it, by Microsoft's rules (``../shared/spec/dataverse-export.md``
B2–B8: Microsoft Learn, ``Azure/dataverse-to-sql``, the CDM ``model.json`` format), not by anything of ours.

``model.json`` lists each table's attributes in file order (``Id``, ``SinkCreatedOn``, ``SinkModifiedOn`` first,
``versionnumber``, ``createdon``, ``modifiedon``, ``IsDelete`` last) and its partitions by their lake URL; the CSV
files have no header, quote strings and date-times (CDM's QuoteAlways style) and write numbers and GUIDs bare;
``SinkModifiedOn`` is ``M/d/yyyy h:mm:ss tt``, ``createdon`` a date-time offset with seven fraction digits, other
date-times ``yyyy-MM-ddTHH:mm:ssZ``; a choice is its integer, labelled in headerless ``OptionsetMetadata/*.csv``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

LAKE = "https://demolake.dfs.core.windows.net/dataverse-demo-unq1234"
FIRST = (("Id", "guid"), ("SinkCreatedOn", "dateTime"), ("SinkModifiedOn", "dateTime"))
LAST = (
    ("versionnumber", "int64"),
    ("createdon", "dateTimeOffset"),
    ("modifiedon", "dateTime"),
    ("IsDelete", "boolean"),
)


@dataclass
class Table:
    """A Dataverse table: its own attributes (between the system columns) and its rows as written, in order."""

    name: str
    attributes: list[tuple[str, str]]
    rows: list[dict] = field(default_factory=list)
    #: columns added after the table was first exported: appended at the very end (after the system columns)
    added: list[tuple[str, str]] = field(default_factory=list)

    @property
    def columns(self) -> list[tuple[str, str]]:
        return [*FIRST, *self.attributes, *LAST, *self.added]


def sink_time(moment: dt.datetime) -> str:
    """``M/d/yyyy h:mm:ss tt`` (``6/28/2021 4:34:35 PM``)."""
    hour = moment.hour % 12 or 12
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {'PM' if moment.hour >= 12 else 'AM'}"


def _value(value, data_type: str) -> str:
    if value is None or value == "":
        return ""
    if data_type == "dateTimeOffset":
        return f'"{value.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S}.0000000+00:00"'
    if data_type == "dateTime":
        return f'"{value.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"' if isinstance(value, dt.datetime) else f'"{value}"'
    if data_type == "boolean":
        return "True" if value else "False"
    if data_type in ("guid", "int64", "decimal", "double"):
        return str(value)
    return '"' + str(value).replace('"', '""') + '"'


def record(table: Table, row: dict, width: int | None = None) -> str:
    """One headerless CSV record; ``width``: only the first columns (a row written before the later were added)."""
    columns = table.columns[:width] if width else table.columns
    return ",".join(_value(row.get(name), data_type) for name, data_type in columns) + "\r\n"


def model(tables: list[Table], files: dict[str, list[str]]) -> dict:
    """``model.json``: every table with its attributes in order and its partitions by their lake URL."""
    return {
        "name": "cdm",
        "version": "1.0",
        "entities": [
            {
                "$type": "LocalEntity",
                "name": t.name,
                "description": t.name,
                "annotations": [
                    {"name": "Athena:PartitionGranularity", "value": "Year"},
                    {"name": "Athena:InitialSyncState", "value": "Completed"},
                ],
                "attributes": [{"name": n, "dataType": d, "maxLength": -1} for n, d in t.columns],
                "partitions": [
                    {"name": f.removesuffix(".csv"), "location": f"{LAKE}/{t.name}/{f}"} for f in files.get(t.name, [])
                ],
            }
            for t in tables
        ],
    }


def write_folder(folder: Path, tables: list[Table], labels: list[list], short: dict[str, int] | None = None) -> None:
    """One table copy (or one incremental folder): each table's rows in files by the year of ``createdon``, in the
    order written, ``model.json`` written last (as Synapse Link finishes a sync), and the choice labels.
    ``short``: table → how many leading rows were written before its ``added`` columns existed (shorter rows)."""
    files: dict[str, list[str]] = {}
    for t in tables:
        by_year: dict[str, list[str]] = {}
        for n, row in enumerate(t.rows):
            width = len(t.columns) - len(t.added) if n < (short or {}).get(t.name, 0) else None
            by_year.setdefault(f"{row['createdon'].year}.csv", []).append(record(t, row, width))
        (folder / t.name).mkdir(parents=True, exist_ok=True)
        for name, lines in by_year.items():
            (folder / t.name / name).write_text("".join(lines), encoding="utf-8")
        files[t.name] = sorted(by_year)
    options = folder / "OptionsetMetadata"
    options.mkdir(parents=True, exist_ok=True)
    local = [r for r in labels if r[0] != "state"]
    states = [r[1:] for r in labels if r[0] == "state"]
    (options / "OptionsetMetadata.csv").write_text(
        "".join(f'{e},{c},{v},False,{lang},"{label}"\r\n' for e, c, v, lang, label in local), encoding="utf-8"
    )
    (options / "StateMetadata.csv").write_text(
        "".join(f'{e},{v},False,{lang},"{label}"\r\n' for e, v, lang, label in states), encoding="utf-8"
    )
    (folder / "model.json").write_text(json.dumps(model(tables, files), indent=2), encoding="utf-8")
