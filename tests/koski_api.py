"""KOSKI's bulk-data API (massaluovutus) as its own documentation and code describe it, on the loopback address.

Written from Opetushallitus/koski (``documentation/massaluovutus-koulutuksenjarjestajille.md``,
``MassaluovutusServlet``, ``QueryState``; ``../shared/spec/koski-bulk.md`` A2–A4), not from our client:

- ``POST /koski/api/massaluovutus`` with basic authentication: 401 without it, 403 for a user without rights, 400
  with KOSKI's ``[{"key", "message"}]`` when a required field is missing; else the pending query;
- ``GET /koski/api/massaluovutus/<id>``: ``pending``, ``running`` (with ``progress``), back to ``pending`` once (a
  worker restarted), then ``complete`` with ``files`` (or ``failed`` with a ``hint``);
- ``GET /koski/api/massaluovutus/<id>/<file>``: 302 to a presigned address on another host, which, as S3 does,
  refuses a request that carries an ``Authorization`` header of its own.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USER, PASSWORD = "palvelukayttaja", "salainen-testisana-2026"


@dataclass
class Koski:
    """What the fake server delivers and what it was asked."""

    files: dict[str, bytes]
    fail_with: str | None = None
    broken_file: str | None = None
    queries: list[dict] = field(default_factory=list)
    polls: int = 0

    def states(self) -> list[str]:
        return ["pending", "running", "pending", "running", "failed" if self.fail_with else "complete"]


def serve(koski: Koski):
    """Start KOSKI and its presigned-file host; returns (base URL, stop)."""
    storage = ThreadingHTTPServer(("127.0.0.1", 0), _storage_handler(koski))
    api = ThreadingHTTPServer(("127.0.0.1", 0), _api_handler(koski, f"http://localhost:{storage.server_port}"))
    for server in (storage, api):
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop():
        for server in (api, storage):
            server.shutdown()
            server.server_close()

    return f"http://127.0.0.1:{api.server_port}/koski", stop


def _api_handler(koski: Koski, storage: str):
    class Api(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, code: int, body=None, headers: dict | None = None):
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _user(self) -> str | None:
            given = self.headers.get("Authorization", "")
            if not given.startswith("Basic "):
                return None
            return base64.b64decode(given[6:]).decode()

        def _query(self, query_id: str) -> dict:
            base = f"http://127.0.0.1:{self.server.server_port}/koski/api/massaluovutus/{query_id}"
            return {"queryId": query_id, "requestedBy": USER, "query": koski.queries[-1], "resultsUrl": base}

        def do_POST(self):
            if self.path != "/koski/api/massaluovutus":
                return self._send(404, [{"key": "notFound", "message": "Not found"}])
            if self._user() is None:
                return self._send(401, [{"key": "unauthorized.notAuthenticated", "message": "Not authenticated"}])
            if self._user() != f"{USER}:{PASSWORD}":
                return self._send(403, [{"key": "forbidden", "message": "Käyttäjällä ei ole oikeuksia"}])
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            koski.queries.append(body)
            if "alkanutAikaisintaan" not in body:
                return self._send(400, [{"key": "badRequest.validation", "message": "alkanutAikaisintaan puuttuu"}])
            return self._send(200, {**self._query("q-1"), "status": "pending"})

        def do_GET(self):
            parts = self.path.strip("/").split("/")
            if self._user() != f"{USER}:{PASSWORD}":
                return self._send(401, [{"key": "unauthorized.notAuthenticated", "message": "Not authenticated"}])
            if parts[:3] != ["koski", "api", "massaluovutus"]:
                return self._send(404)
            if len(parts) == 5:  # a result file: to its presigned address
                return self._send(302, headers={"Location": f"{storage}/bucket/{parts[4]}?X-Amz-Signature=abc"})
            states = koski.states()
            state = states[min(koski.polls, len(states) - 1)]
            koski.polls += 1
            reply = {**self._query(parts[3]), "status": state, "createdAt": "2026-11-20T06:00:00.000+02:00"}
            if state == "running":
                reply |= {"startedAt": "2026-11-20T06:00:01+02:00", "files": [], "progress": {"percentage": 40}}
            if state == "complete":
                reply |= {
                    "finishedAt": "2026-11-20T06:03:00+02:00",
                    "sourceDataUpdatedAt": "2026-11-20T05:59:00+02:00",
                    "files": [f"{reply['resultsUrl']}/{name}" for name in koski.files],
                }
            if state == "failed":
                reply |= {"hint": koski.fail_with, "files": []}
            return self._send(200, reply)

    return Api


def _storage_handler(koski: Koski):
    class Storage(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            name = self.path.split("?")[0].rsplit("/", 1)[-1]
            if self.headers.get("Authorization"):  # (S3: a presigned address and a header are two mechanisms)
                code, data = 400, b"<Error><Code>InvalidArgument</Code>Only one auth mechanism allowed</Error>"
            elif name == koski.broken_file:
                code, data = 500, b"<Error><Code>InternalError</Code></Error>"
            else:
                code, data = 200, koski.files[name]
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Storage
