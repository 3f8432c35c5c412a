"""The bare baseline of `collection.py`: floor_bare.py's replay, with the log create routed for
every case of the pool (collector1's cases), not only the captured one.

A request `POST /api/v1/collection-cases/{id}/logs` replays the captured log create with the
captured case's id, contract, customer and contact replaced by those of the requested case (the
pool and the captured case come in the capture file as `log_cases` and `log_case`), so each request
locks and updates its own case as Recourse's does. Everything else is floor_bare.py's.

    uvicorn --factory scripts.bench.collection_bare:create_app   (FLOOR_CAPTURE, DATABASE_URL set)
"""

import contextvars
import os
import pickle
import re
import uuid
from typing import Any

from scripts.bench import floor_bare

_LOG_PATH = re.compile(r"^/api/v1/collection-cases/([0-9a-f-]{36})/logs$")
_mapping: contextvars.ContextVar[dict[uuid.UUID, uuid.UUID] | None] = contextvars.ContextVar("mapping", default=None)
_replay = floor_bare.replay


def substitute(value: Any, mapping: dict[uuid.UUID, uuid.UUID]) -> Any:
    if isinstance(value, uuid.UUID):
        return mapping.get(value, value)
    if isinstance(value, tuple):
        return tuple(substitute(v, mapping) for v in value)
    if isinstance(value, list):
        return [substitute(v, mapping) for v in value]
    return value


async def replay(pool: Any, steps: list[tuple], token: str, verify: Any) -> list[Any]:
    mapping = _mapping.get()
    if mapping:
        steps = [(s[0], s[1], substitute(s[2], mapping), *s[3:]) if s[0] == "sql" else s for s in steps]
    return await _replay(pool, steps, token, verify)


floor_bare.replay = replay  # floor_bare's app looks it up per request


def create_app():  # noqa: ANN201 - an ASGI callable
    with open(os.environ["FLOOR_CAPTURE"], "rb") as f:  # noqa: PTH123
        capture = pickle.load(f)  # noqa: S301 - written by collection.py a moment ago
    inner = floor_bare.create_app()
    path, captured = capture["log_path"], capture["log_case"]
    cases = capture["log_cases"]
    mappings = {}
    if captured is not None:
        mappings = {case_id: dict(zip((captured, *cases[captured]), (case_id, *ids), strict=True))
                    for case_id, ids in cases.items()}

    async def app(scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] == "http" and (match := _LOG_PATH.match(scope["path"])) and path is not None:
            mapping = mappings.get(uuid.UUID(match.group(1)))
            if mapping is not None:
                _mapping.set(mapping)
                scope = {**scope, "path": path}
        await inner(scope, receive, send)

    return app
