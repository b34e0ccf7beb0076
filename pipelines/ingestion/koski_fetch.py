"""A provider's own study rights from KOSKI's bulk-data API (massaluovutus), kept in the landing area.

The protocol is KOSKI's own (``documentation/massaluovutus-koulutuksenjarjestajille.md`` and
``MassaluovutusServlet`` in Opetushallitus/koski; ``../shared/spec/koski-bulk.md`` A2–A4):

1. ``POST {base}/api/massaluovutus`` with the query (``organisaationOpiskeluoikeudet``, CSV); KOSKI answers with the
   query's ``queryId`` and ``resultsUrl``, or refuses at once (rights, a missing parameter);
2. ``GET`` the ``resultsUrl`` while the query is ``pending`` or ``running`` (a running query may fall back to
   pending when KOSKI restarts a worker); ``failed`` is final: a new query must be started;
3. when it is ``complete`` (the code's word; the prose says ``completed``), each of its ``files`` answers with a
   redirect (302) to a presigned address, which is followed without our credentials.

Nothing is left half-fetched: the files are gathered in a hidden folder beside the deliveries and moved into
``<landing>/koski_bulk/<date>/`` in one step, with ``query.json`` saying what was asked (a delivery with
``muuttunutJälkeen`` is incremental) and when KOSKI's data was read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from pipelines.files import atomic_write_bytes

#: the landing area's folder of KOSKI's bulk deliveries, one dated folder per delivery
BULK_FOLDER = "koski_bulk"
#: KOSKI advises asking for changes from an hour before the previous fetch began (clocks and transactions)
CHANGES_MARGIN = dt.timedelta(hours=1)
#: a query's states as KOSKI's code names them (``QueryState``)
WAITING, DONE, FAILED = {"pending", "running"}, "complete", "failed"
#: a file KOSKI names in a finished query: a table's CSV, or one part of it (``opiskeluoikeus.csv.01``)
_FILE_NAME = re.compile(r"^[a-z_]+\.csv(?:\.\d{2,})?$")


class FetchProblem(RuntimeError):
    """The fetch cannot go on; the message says why and what to do. Nothing was written to the landing area."""


@dataclass(frozen=True)
class Query:
    """What is asked of KOSKI: the provider's vocational study rights, the annulled ones too."""

    organisation_oid: str | None = None
    started_from: dt.date = dt.date(2000, 1, 1)
    changed_since: dt.datetime | None = None
    partitioned: bool = False

    def body(self) -> dict:
        """The JSON KOSKI reads (its field names, Finnish letters included)."""
        body = {
            "type": "organisaationOpiskeluoikeudet",
            "format": "text/x-csv-partition" if self.partitioned else "text/csv",
            "alkanutAikaisintaan": self.started_from.isoformat(),
            "koulutusmuoto": "ammatillinenkoulutus",
            "mitätöidyt": True,
        }
        if self.organisation_oid:
            body["organisaatioOid"] = self.organisation_oid
        if self.changed_since:  # (Helsinki local time, as KOSKI reads it)
            body["muuttunutJälkeen"] = (self.changed_since - CHANGES_MARGIN).isoformat(timespec="seconds")
        return body


@dataclass(frozen=True)
class Credentials:
    """A KOSKI service user (palvelukäyttäjä) with the rights the query needs; sent as HTTP basic authentication."""

    user: str
    password: str


def fetch(
    base_url: str,
    credentials: Credentials,
    query: Query,
    landing: Path,
    day: dt.date,
    poll_seconds: float = 10.0,
    give_up_after: dt.timedelta = dt.timedelta(hours=6),
    progress: Callable[[str], None] = print,
) -> Path:
    """Run ``query`` at ``base_url`` and keep its files as the delivery of ``day``; returns the delivery's folder."""
    target = landing / BULK_FOLDER / day.isoformat()
    if target.exists():
        raise FetchProblem(f"{target} already holds a delivery: move it away, or fetch as another date (--date)")
    session = requests.Session()
    session.auth = (credentials.user, credentials.password)
    created = _json(_call(session.post, f"{base_url.rstrip('/')}/api/massaluovutus", json=query.body()), "query")
    query_id = created.get("queryId")
    status_url = created.get("resultsUrl") or f"{base_url.rstrip('/')}/api/massaluovutus/{query_id}"
    progress(f"KOSKI accepted the query {query_id}; waiting for its files")
    status = _wait(session, status_url, query_id, poll_seconds, give_up_after, progress)
    files = status.get("files") or []
    gathering = landing / BULK_FOLDER / f".{day.isoformat()}.{os.getpid()}.partial"
    shutil.rmtree(gathering, ignore_errors=True)
    gathering.mkdir(parents=True, mode=0o700)
    try:
        for url in files:
            name = _file_name(url)
            _download(session, url, gathering / name)
            progress(f"  {name}: {(gathering / name).stat().st_size:,} bytes")
        record = {
            "query": query.body(),
            "query_id": query_id,
            "finished_at": status.get("finishedAt"),
            "source_data_updated_at": status.get("sourceDataUpdatedAt"),
            "files": [_file_name(url) for url in files],
        }
        atomic_write_bytes(gathering / "query.json", json.dumps(record, ensure_ascii=False, indent=2).encode())
        os.replace(gathering, target)
    finally:
        shutil.rmtree(gathering, ignore_errors=True)
    return target


def _wait(session, url: str, query_id, poll_seconds: float, give_up_after: dt.timedelta, progress) -> dict:
    deadline = time.monotonic() + give_up_after.total_seconds()
    while True:
        status = _json(_call(session.get, url), "query's status")
        state = status.get("status")
        if state == DONE:
            return status
        if state == FAILED:
            hint = status.get("hint") or status.get("error") or "KOSKI gives no reason (almost always its own fault)"
            raise FetchProblem(f"KOSKI's query {query_id} failed: {hint}. Start a new fetch")
        if state not in WAITING:
            raise FetchProblem(f"KOSKI's query {query_id} is in a state this program does not know: {state!r}")
        if time.monotonic() > deadline:
            raise FetchProblem(
                f"KOSKI's query {query_id} is still {state} after {give_up_after}: its status is at {url}"
            )
        done = (status.get("progress") or {}).get("percentage")
        progress(f"  {state}" + (f", {done} %" if done is not None else ""))
        time.sleep(poll_seconds)


def _file_name(url: str) -> str:
    """The file's name (KOSKI's file key, the address's last part), refused unless it is a table's CSV or a part."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    if not _FILE_NAME.match(name):
        raise FetchProblem(f"KOSKI named a result file this program does not expect: {name!r} ({url})")
    return name


def _download(session, url: str, path: Path) -> None:
    """One result file: KOSKI answers with a redirect to a presigned address, fetched without our credentials
    (KOSKI notes that a client that does not follow it gets an empty file)."""
    answer = _call(session.get, url, allow_redirects=False)
    if answer.is_redirect:
        answer = _call(requests.get, answer.headers["Location"], stream=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        for chunk in answer.iter_content(1 << 20):
            out.write(chunk)


def _call(method, url: str, **kwargs) -> requests.Response:
    try:
        answer = method(url, timeout=60, **kwargs)
    except requests.RequestException as err:
        raise FetchProblem(f"KOSKI could not be reached at {url}: {err}") from None
    if answer.status_code in (401, 403):
        raise FetchProblem(
            f"KOSKI refused the service user ({answer.status_code} at {url}): the user needs read access to the "
            "organisation, vocational education and LUOTTAMUKSELLINEN_KAIKKI_TIEDOT"
        )
    if answer.status_code >= 400:
        raise FetchProblem(f"KOSKI answered {answer.status_code} at {url}: {_said(answer)}")
    return answer


def _said(answer: requests.Response) -> str:
    """KOSKI's own words for a refusal (a list of ``{key, message}``), or the start of what it sent."""
    try:
        errors = answer.json()
    except ValueError:
        return answer.text[:300] or "no explanation"
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return json.dumps(errors, ensure_ascii=False)[:300]


def _json(answer: requests.Response, what: str) -> dict:
    try:
        return answer.json()
    except ValueError:
        raise FetchProblem(f"KOSKI's answer to the {what} was not JSON: {answer.text[:200]!r}") from None
