"""The bare baseline of `floor.py`: a raw ASGI app on asyncpg that replays, per scenario, the SQL
Recourse sent for the same request (captured by floor.py, pickled to FLOOR_CAPTURE).

No framework, no ORM, no validation: per request it matches method + path, replays the captured
steps (pool checkouts, BEGIN/COMMIT, pre-pings, every statement with its captured parameters,
the password hash for a login) and answers the rows of the last statement as JSON. Values that
differ between two captures of the same request (new ids, timestamps, names, keys, token hashes)
are fresh per request, so replayed INSERTs do not collide.

    uvicorn --factory scripts.bench.floor_bare:create_app   (FLOOR_CAPTURE, DATABASE_URL set)
"""

import itertools
import json
import os
import pickle
import random
import re
import secrets
import string
import uuid
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import asyncpg

_SIMPLE_EXECUTE = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|START)", re.IGNORECASE)


class Fresh:
    """A captured value that differs between requests; replaced per request (see `resolve`)."""

    def __init__(self, value: Any, token: str | None) -> None:
        self.value, self.token = value, token


def _random_like(value: str) -> str:
    alphabet = string.hexdigits[:16] if all(c in string.hexdigits for c in value) else (
        string.ascii_letters + string.digits + "-_")
    return "".join(random.choice(alphabet) for _ in value)  # noqa: S311 - not a secret


def resolve(value: Any, fresh: dict[Any, Any], token: str) -> Any:
    if isinstance(value, Fresh):
        old = value.value
        if isinstance(old, uuid.UUID):
            return fresh.setdefault(old, uuid.uuid4())
        if isinstance(old, datetime):
            return datetime.now(UTC) if old.tzinfo else datetime.now(UTC).replace(tzinfo=None)
        if isinstance(old, str):
            if value.token and value.token in old:
                return old.replace(value.token, token)
            if old[:1] in "{[":  # a JSON document (audit payloads): its own ids matter to nobody
                return old
            return fresh.setdefault(old, _random_like(old))
        return old
    if isinstance(value, tuple):
        return tuple(resolve(v, fresh, token) for v in value)
    if isinstance(value, list):
        return [resolve(v, fresh, token) for v in value]
    return value


async def init_connection(conn: asyncpg.Connection) -> None:
    """The codecs SQLAlchemy's asyncpg dialect installs, so captured parameters bind the same way."""
    await conn.set_type_codec("json", encoder=str.encode, decoder=json.loads, schema="pg_catalog",
                              format="binary")
    await conn.set_type_codec("jsonb", encoder=lambda s: b"\x01" + s.encode(),
                              decoder=lambda b: json.loads(b[1:].decode()), schema="pg_catalog", format="binary")
    for name in ("inet", "cidr"):
        await conn.set_type_codec(name, encoder=lambda s: s, decoder=lambda s: s, schema="pg_catalog",
                                  format="text")


async def replay(pool: asyncpg.Pool, steps: list[tuple], token: str, verify: Any) -> list[Any]:
    fresh: dict[Any, Any] = {}
    conn: asyncpg.Connection | None = None
    rows: list[Any] = []
    try:
        for step in steps:
            kind = step[0]
            if kind == "checkout":
                if conn is None:
                    conn = await pool.acquire()
            elif kind == "checkin":
                if conn is not None:
                    await pool.release(conn)
                    conn = None
            elif kind == "verify":
                await anyio.to_thread.run_sync(verify)
            else:
                if conn is None:
                    conn = await pool.acquire()
                if kind == "simple":
                    query, args = step[1], resolve(step[2], fresh, token)
                    if not args and _SIMPLE_EXECUTE.match(query):
                        await conn.execute(query)
                    else:
                        await conn.fetch(query, *args)
                else:
                    _, statement, params, many = step
                    params = resolve(params, fresh, token)
                    if many:
                        await conn.executemany(statement, params)
                    else:
                        result = await conn.fetch(statement, *params)
                        if result:
                            rows = result
    finally:
        if conn is not None:
            await pool.release(conn)
    return rows


def create_app():  # noqa: ANN201 - an ASGI callable
    with open(os.environ["FLOOR_CAPTURE"], "rb") as f:  # noqa: PTH123
        capture = pickle.load(f)  # noqa: S301 - written by floor.py a moment ago
    routes = {(s["method"], s["path"]): s for s in capture["scenarios"]}
    url = capture["database_url"]
    state: dict[str, Any] = {}
    counter = itertools.count()
    prefix = f"{secrets.randbelow(10**6):06d}"  # digits survive name normalisation

    def verify() -> None:
        state["hasher"].verify(capture["password"], capture["password_hash"])

    async def app(scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    from passlib.context import CryptContext  # noqa: PLC0415 - keep startup light

                    state["hasher"] = CryptContext(schemes=["argon2"], argon2__type="ID")
                    state["pool"] = await asyncpg.create_pool(url, min_size=2, max_size=capture["pool_max"],
                                                              init=init_connection)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await state["pool"].close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        route = routes.get((scope["method"], path))
        more = True
        while more:  # drain the body
            message = await receive()
            more = message.get("more_body", False)
        if route is None:
            status, body = (200, b'{"status":"ok"}') if scope["path"] == "/readyz" else (404, b"{}")
        else:
            token = f"{prefix}{next(counter):08d}"
            rows = await replay(state["pool"], route["steps"], token, verify)
            status = route["status"]
            body = json.dumps([dict(r) for r in rows], default=str, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app
