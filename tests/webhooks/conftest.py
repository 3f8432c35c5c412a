"""A real HTTP receiver on loopback (a thread), scripted to answer given statuses, and the setting
that lets webhooks reach it."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.core.config import get_settings
from tests.messages.conftest import *  # noqa: F403 - the collections' and ledger's fixtures


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answered in turn; 200 when exhausted
    failures: dict[str, int] = field(default_factory=dict)  # event id → how many times to answer 500 first
    requests: list[dict] = field(default_factory=list)

    def acknowledged(self) -> list[str]:
        """The event ids answered 2xx, in the order they arrived."""
        return [r["headers"]["webhook-id"] for r in self.requests if 200 <= r["status"] < 300]


@pytest.fixture
def receiver(monkeypatch) -> Iterator[Receiver]:
    monkeypatch.setattr(get_settings(), "webhooks_allow_loopback", True)
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["content-length"])).decode()
            event_id = self.headers["webhook-id"]
            if state.failures.get(event_id, 0) > 0:
                state.failures[event_id] -= 1
                status = 500
            else:
                status = state.statuses.pop(0) if state.statuses else 200
            state.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                   "json": json.loads(body), "status": status})
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
