"""The demo's CRM as Azure Synapse Link for Dataverse writes it to a data lake, instead of the flat export.

The same records as the flat export (its defects included), in Dataverse's tables (``account``, ``contact``,
``activitypointer``, and the custom ``new_partnership`` and ``new_surveyresponse``, with the Y-tunnus in the custom
column ``new_ytunnus``, as the shipped site configuration names them): ``model.json`` with each table's columns in
file order, headerless CSV partitions by the year of ``createdon`` (strings and date-times quoted, numbers and GUIDs
bare), choices as integers labelled in ``OptionsetMetadata/`` in Finnish and English. Planted, and listed in
``truth/crm/<date>/synapse_events.csv``: an account updated (its earlier version written before), an account created
and then deleted, and a column added to ``account`` after most rows were written (those rows are shorter).

Three layouts: ``synapse-inplace`` (a table copy holding the current rows only: the update and the delete leave no
trace), ``synapse-append`` (a table copy where every write is appended: the earlier version and the delete row are
there) and ``synapse-incremental`` (a full copy, then a folder of changes, then a folder still being written, named
in ``Changelog/changelog.info``, whose change must not be read).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl

from schemas.codes import reference

LAYOUTS = ("synapse-inplace", "synapse-append", "synapse-incremental")
LAKE = "https://demolake.dfs.core.windows.net/dataverse-demo-unq1234"
SYSTEM_FIRST = [("Id", "guid"), ("SinkCreatedOn", "dateTime"), ("SinkModifiedOn", "dateTime")]
SYSTEM_LAST = [("versionnumber", "int64"), ("createdon", "dateTimeOffset"), ("modifiedon", "dateTime"),
               ("IsDelete", "boolean")]  # fmt: skip
ADDED = ("new_lisatieto", "string")
#: our table → (Dataverse table, its columns: (Dataverse column, our column or a constant, type)), choices as int64
TABLES = {
    "accounts": ("account", [("accountid", "account_id", "guid"), ("name", "name", "string"),
                             ("new_ytunnus", "business_id", "string"), ("industrycode", "industry_code", "string"),
                             ("address1_city", "city", "string"), ("address1_postalcode", "postal_code", "string"),
                             ("numberofemployees", "employees", "int64"),
                             ("customertypecode", "customer_type", "choice"), ("ownerid", "owner_id", "guid"),
                             ("statecode", "state", "state")]),
    "contacts": ("contact", [("contactid", "contact_id", "guid"), ("parentcustomerid", "account_id", "guid"),
                             ("parentcustomeridtype", "=account", "string"), ("firstname", "first_name", "string"),
                             ("lastname", "last_name", "string"), ("emailaddress1", "email", "string"),
                             ("telephone1", "phone", "string"), ("jobtitle", "job_title", "string")]),
    "activities": ("activitypointer", [("activityid", "activity_id", "guid"),
                                       ("regardingobjectid", "account_id", "guid"),
                                       ("regardingobjecttypecode", "=account", "string"),
                                       ("activitytypecode", "activity_type", "string"),
                                       ("subject", "subject", "string"),
                                       ("scheduledstart", "scheduled_start", "dateTime"),
                                       ("actualend", "actual_end", "dateTime"), ("ownerid", "owner_id", "guid"),
                                       ("statecode", "state", "state")]),
    "partnerships": ("new_partnership", [("partnershipid", "partnership_id", "guid"),
                                         ("accountid", "account_id", "guid"), ("new_level", "level", "choice"),
                                         ("scope", "scope", "string"), ("startdate", "start_date", "date"),
                                         ("enddate", "end_date", "date")]),
    "survey_responses": ("new_surveyresponse", [("responseid", "response_id", "guid"),
                                                ("accountid", "account_id", "guid"),
                                                ("submittedon", "submitted_on", "dateTime"), ("nps", "nps", "int64"),
                                                ("satisfaction", "satisfaction", "int64"),
                                                ("comment", "comment", "string")]),
}  # fmt: skip
#: the state labels as Dataverse's metadata holds them (Finnish, English) for each state value
STATES = {
    "account": [(0, "Aktiivinen", "Active"), (1, "Passiivinen", "Inactive")],
    "activitypointer": [(0, "Avoin", "Open"), (1, "Valmis", "Completed"), (2, "Peruutettu", "Canceled")],
}
#: the choice each column with integers is, in the reference's option sets
CHOICES = {("account", "customertypecode"): "customertypecode", ("new_partnership", "new_level"): "level"}


def write_crm_synapse(tables: dict[str, pl.DataFrame], folder: Path, as_of: dt.date, layout: str, truth: Path) -> None:
    """``tables`` (the CRM export's records, text as the flat export writes them) as a Synapse Link delivery in
    ``folder`` in ``layout``; what was planted in ``truth/synapse_events.csv``."""
    values = _choice_values(tables)
    rows = {our: _rows(tables[our], name, columns, values, as_of) for our, (name, columns) in TABLES.items()}
    accounts = rows["accounts"]
    updated = {**accounts[0], "SinkModifiedOn": _sink(as_of - dt.timedelta(days=2))}
    accounts[0] = updated
    deleted = {**accounts[1], "Id": _gone(accounts[1]["Id"]), "name": "Lopetettu Oy"}
    earlier = {**updated, "name": updated["name"].upper(), "versionnumber": updated["versionnumber"] - 500,
               "SinkModifiedOn": _sink(as_of - dt.timedelta(days=3))}  # fmt: skip
    deleted["accountid"] = deleted["Id"]
    removal = {**deleted, "IsDelete": True, "versionnumber": deleted["versionnumber"] + 1,
               "SinkModifiedOn": _sink(as_of - dt.timedelta(days=1))}  # fmt: skip
    short = len(accounts) // 2  # (the first half written before new_lisatieto was added)
    events = [("accounts", updated["Id"], "updated"), ("accounts", deleted["Id"], "created_and_deleted"),
              *(("accounts", r["Id"], "written_before_new_lisatieto") for r in accounts[:short])]  # fmt: skip
    if layout == "synapse-inplace":
        _copy(folder, rows, values, short)
    elif layout == "synapse-append":
        appended = dict(rows, accounts=[earlier, deleted, *accounts, removal])
        _copy(folder, appended, values, short + 2)
    else:
        first = dict(rows, accounts=[earlier, deleted, *accounts[1:]])
        _copy(folder / _stamp(as_of, -2), first, values, short + 1)
        changes = {our: [] for our in TABLES} | {"accounts": [updated, removal]}
        _copy(folder / _stamp(as_of, -1), changes, values, 0)
        writing = {our: [] for our in TABLES} | {"accounts": [{**accounts[2], "name": "KESKEN OY",
                                                               "versionnumber": 10**9}]}  # fmt: skip
        _copy(folder / _stamp(as_of, 0), writing, values, 0)
        (folder / "Changelog").mkdir(parents=True, exist_ok=True)
        (folder / "Changelog" / "changelog.info").write_text(_stamp(as_of, 0), encoding="utf-8")
        events.append(("accounts", accounts[2]["Id"], "change_still_being_written"))
    truth.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(events, schema={"table": pl.Utf8, "id": pl.Utf8, "event": pl.Utf8}, orient="row").write_csv(
        truth / "synapse_events.csv"
    )


def _gone(id_: str) -> str:
    return id_[:-4] + "dead"


def _stamp(as_of: dt.date, days: int) -> str:
    """A timestamp folder's name as Synapse Link writes it (UTC, ``.`` for ``:``)."""
    return f"{as_of + dt.timedelta(days=days)}T05.30.00Z"


def _sink(moment: dt.date | dt.datetime) -> str:
    """``M/d/yyyy h:mm:ss tt``."""
    m = moment if isinstance(moment, dt.datetime) else dt.datetime.combine(moment, dt.time(6, 0))
    return f"{m.month}/{m.day}/{m.year} {m.hour % 12 or 12}:{m:%M:%S} {'PM' if m.hour >= 12 else 'AM'}"


def _choice_values(tables: dict[str, pl.DataFrame]) -> dict[tuple[str, str], dict[str, int]]:
    """Each choice's labels → integers: the reference's labels in order, then any other label the records have."""
    values = {}
    for (name, column), choice in CHOICES.items():
        our, columns = next((o, c) for o, (n, c) in TABLES.items() if n == name)
        source = next(src for col, src, _ in columns if col == column)
        labels = [r["label"] for r in reference("crm_option_sets") if r["option_set"] == choice]
        labels += sorted(set(tables[our][source].drop_nulls()) - set(labels))
        values[(name, column)] = {label: 100000000 + n for n, label in enumerate(labels)}
    return values


def _rows(frame: pl.DataFrame, name: str, columns: list, values: dict, as_of: dt.date) -> list[dict]:
    states = {en: v for v, _, en in STATES.get(name, [])}
    out = []
    for n, record in enumerate(frame.iter_rows(named=True)):
        row = {}
        for column, source, kind in columns:
            value = source[1:] if source.startswith("=") else record.get(source)
            if kind == "choice" and value is not None:
                value = values[(name, column)].get(value)
            elif kind == "state" and value is not None:
                value = states.get(value, value)
            row[column] = value
        created = record.get("created_on") or record.get("submitted_on") or record.get("scheduled_start")
        row |= {
            "Id": row[columns[0][0]],
            "SinkCreatedOn": _sink(as_of - dt.timedelta(days=10)),
            "SinkModifiedOn": _sink(
                dt.datetime.combine(as_of - dt.timedelta(days=10), dt.time(8)) + dt.timedelta(seconds=n)
            ),
            "versionnumber": 10_000 + n,
            "createdon": created or f"{as_of.year - 1}-06-01T08:00:00Z",
            "modifiedon": record.get("modified_on"),
        }
        out.append(row)
    return out


def _moment(value) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(dt.UTC) if moment.tzinfo else None


def _text(value, kind: str) -> str:
    """A value as Synapse Link writes it: numbers and GUIDs bare, everything else quoted; a date-time in UTC, the
    creation time with seven fraction digits and an offset, a date as its midnight (text that reads as none stays)."""
    if value is None or value == "":
        return ""
    if kind in ("guid", "int64", "choice", "state"):
        return str(value)
    moment = _moment(value) if kind in ("dateTime", "dateTimeOffset") else None
    if kind == "date":
        value = f"{value}T00:00:00Z"
    elif moment is not None:
        value = f"{moment:%Y-%m-%dT%H:%M:%S}" + (".0000000+00:00" if kind == "dateTimeOffset" else "Z")
    return '"' + str(value).replace('"', '""') + '"'


def _copy(folder: Path, rows: dict[str, list[dict]], values: dict, short: int) -> None:
    """One table copy (or one incremental folder): partitions by the year of ``createdon``, the labels, and
    ``model.json`` last. The first ``short`` account rows lack the column added later."""
    files = {}
    for our, (name, columns) in TABLES.items():
        typed = [*SYSTEM_FIRST, *((c, k) for c, _, k in columns), *SYSTEM_LAST] + ([ADDED] if name == "account" else [])
        by_year: dict[str, list[str]] = {}
        for n, row in enumerate(rows[our]):
            width = len(typed) - 1 if name == "account" and n < short else len(typed)
            year = str(row["createdon"])[:4]
            by_year.setdefault(f"{year}.csv", []).append(
                ",".join(_text(row.get(c), k) for c, k in typed[:width]) + "\r\n"
            )
        (folder / name).mkdir(parents=True, exist_ok=True)
        for file, lines in by_year.items():
            (folder / name / file).write_text("".join(lines), encoding="utf-8")
        files[name] = (typed, sorted(by_year))
    _labels(folder / "OptionsetMetadata", values)
    model = {
        "name": "cdm",
        "version": "1.0",
        "entities": [
            {
                "$type": "LocalEntity",
                "name": name,
                "annotations": [{"name": "Athena:PartitionGranularity", "value": "Year"},
                                {"name": "Athena:InitialSyncState", "value": "Completed"}],
                "attributes": [{"name": c, "dataType": "int64" if k in ("choice", "state") else
                                "dateTime" if k == "date" else k, "maxLength": -1} for c, k in typed],
                "partitions": [{"name": f[:-4], "location": f"{LAKE}/{name}/{f}"} for f in partitions],
            }
            for name, (typed, partitions) in files.items()
        ],
    }  # fmt: skip
    (folder / "model.json").write_text(json.dumps(model, indent=2), encoding="utf-8")


def _labels(folder: Path, values: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    local = [f'{name},{column},{v},False,1035,"{label}"\r\n' for (name, column), labels in values.items()
             for label, v in labels.items()]  # fmt: skip
    (folder / "OptionsetMetadata.csv").write_text("".join(local), encoding="utf-8")
    states = [f'{name},{v},False,{lcid},"{label}"\r\n' for name, labels in STATES.items() for v, fi, en in labels
              for lcid, label in ((1035, fi), (1033, en))]  # fmt: skip
    (folder / "StateMetadata.csv").write_text("".join(states), encoding="utf-8")
