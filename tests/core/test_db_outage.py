"""A database outage is a 503 with Retry-After, never a 500, and the API recovers by itself.

The fault test runs a real uvicorn server on its own embedded PostgreSQL (never the shared test
database), drives authenticated load at it, stops PostgreSQL, starts it again and watches the
answers. The unit tests below pin down which failures count as "unavailable".
"""

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import exc as sa_errors
from starlette.types import Receive, Scope, Send

from app.core.middleware import RETRY_AFTER_SECONDS, RequestContextMiddleware

# --- which failures are an outage ------------------------------------------------------------------

def _failing_app(error: Exception):
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise error

    return RequestContextMiddleware(app)


def _dbapi_error(invalidated: bool) -> sa_errors.DBAPIError:
    return sa_errors.DBAPIError("SELECT 1", None, Exception("boom"), connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ConnectionRefusedError(111, "Connection refused"), 503),
        (sa_errors.TimeoutError("QueuePool limit of size 10 overflow 10 reached"), 503),
        (_dbapi_error(invalidated=True), 503),
        (sa_errors.OperationalError("SELECT 1", None, Exception("server closed the connection")), 503),
        (_dbapi_error(invalidated=False), 500),
        (FileNotFoundError(2, "No such file or directory"), 500),  # not raised by the driver: a bug
        (ValueError("a bug"), 500),
    ],
    ids=["refused", "pool-timeout", "invalidated", "operational", "dbapi-other", "file-not-found", "bug"],
)
async def test_connection_failures_are_503_with_retry_after_and_bugs_stay_500(error, status):
    transport = httpx.ASGITransport(app=_failing_app(error), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/v1/me")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    if status == 503:
        assert body["code"] == "server.unavailable"
        assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    else:
        assert body["code"] == "server.error"
        assert "retry-after" not in response.headers


async def test_an_unreachable_database_answers_503_on_api_routes(auth, engine):
    """The principal is loaded from the database on every request, so even GET /me needs it."""
    from app.core import db as core_db
    from app.main import create_app

    # The app's own sessions (not the test's rolled-back one), from an engine that cannot connect.
    transport = httpx.ASGITransport(app=create_app(), raise_app_exceptions=False)
    saved = core_db._engine, core_db._sessionmaker, core_db._read_sessionmaker
    try:
        core_db.configure_engine("postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none")
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/api/v1/me", headers=auth("admin"))
    finally:
        await core_db.get_engine().dispose()
        core_db._engine, core_db._sessionmaker, core_db._read_sessionmaker = saved
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "server.unavailable"
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


# --- the fault test: a real server, a real PostgreSQL stopped under load ------------------------------

DOWN_SECONDS = 3.0
RECOVERY_LIMIT_SECONDS = 5.0
WORKERS = 6
PATHS = ("/api/v1/me", "/api/v1/customers?limit=5")


@dataclass
class Answer:
    started: float
    status: int
    retry_after: str | None
    content_type: str | None
    code: str | None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _seed(url: str):
    from passlib.context import CryptContext
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from app.core import db as core_db
    from app.demo.seed import DEMO_PASSWORD, seed_org

    fast = CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=1024, argon2__rounds=1)
    engine = create_async_engine(core_db.to_async_url(url))
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            org = await seed_org(session, fast.hash(DEMO_PASSWORD))
            await core_db.commit(session)
    finally:
        await engine.dispose()
    return org


@pytest.fixture
def outage_server():
    """(base url, admin token, stop(), start()) for a uvicorn server on a PostgreSQL of its own."""
    from pgserver._commands import pg_ctl

    from app import embedded_db
    from app.cli import migrate
    from app.core.security import create_access_token

    data_dir = Path(tempfile.mkdtemp(prefix="recourse-outage-"))
    server, url = embedded_db.start(data_dir / "pg", cleanup="delete")
    proc = None
    log = tempfile.TemporaryFile()
    try:
        migrate(url)
        org = asyncio.run(_seed(url))
        admin = org.users["admin"]
        token = create_access_token(user_id=admin.id, group_id=admin.group_id)[0]
        port = _free_port()
        env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "test", "RUN_SCHEDULER": "false",
               "LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # a loaded 2-core machine imports the app slowly
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                log.seek(0)
                raise RuntimeError("server did not start: " + log.read().decode(errors="replace")[-2000:])
            time.sleep(0.2)

        def stop() -> None:
            # Fast shutdown: open sessions are terminated (57P01), new ones find no socket at all.
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)

        def start() -> None:
            server.ensure_postgres_running()  # same data directory, same socket, same URL

        yield base, token, stop, start
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        embedded_db.release(server)  # stops the restarted postmaster too
        shutil.rmtree(data_dir, ignore_errors=True)
        log.seek(0)
        tail = log.read().decode(errors="replace")
        log.close()
        # Surfaces the server's own account of any 500 in the test output.
        if "unhandled error" in tail:
            print(tail[-4000:], file=sys.stderr)


@pytest.mark.fault
async def test_a_database_outage_under_load_is_503_and_the_api_recovers(outage_server):
    base, token, stop_database, start_database = outage_server
    answers: list[Answer] = []
    transport_errors: list[str] = []
    done, back = asyncio.Event(), asyncio.Event()
    up_at = float("inf")  # when the database has been started again

    async def worker(client: httpx.AsyncClient, n: int) -> None:
        i = n
        while not done.is_set():
            started = time.monotonic()
            try:
                response = await client.get(PATHS[i % len(PATHS)])
            except httpx.HTTPError as exc:  # the server itself must stay up throughout
                transport_errors.append(repr(exc))
                continue
            is_problem = response.headers.get("content-type") == "application/problem+json"
            answers.append(Answer(started, response.status_code, response.headers.get("retry-after"),
                                  response.headers.get("content-type"),
                                  response.json().get("code") if is_problem else None))
            if response.status_code == 200 and started >= up_at:
                back.set()
            i += 1

    def since(t: float) -> list[Answer]:
        return [a for a in answers if a.started >= t]

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as client:
        workers = [asyncio.create_task(worker(client, n)) for n in range(WORKERS)]
        try:
            await asyncio.sleep(1.0)
            assert since(0) and all(a.status == 200 for a in since(0)), {a.status for a in answers}

            await asyncio.to_thread(stop_database)
            down_from = time.monotonic()
            await asyncio.sleep(DOWN_SECONDS)
            down_until = time.monotonic()
            await asyncio.to_thread(start_database)
            up_at = time.monotonic()

            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(back.wait(), RECOVERY_LIMIT_SECONDS)
            recovered = [a.started for a in since(up_at) if a.status == 200]
            await asyncio.sleep(1.0)
        finally:
            done.set()
            await asyncio.gather(*workers, return_exceptions=True)

    assert not transport_errors, transport_errors[:5]
    # Never a 500, at any point: before, during or after the outage.
    assert not [a for a in answers if a.status not in (200, 503)], sorted({a.status for a in answers})
    # While the database is down every answer is the same problem, telling the client when to retry.
    during = [a for a in answers if down_from <= a.started < down_until]
    assert len(during) >= WORKERS
    assert all(a.status == 503 for a in during), sorted({a.status for a in during})
    for a in (a for a in answers if a.status == 503):
        assert a.content_type == "application/problem+json"
        assert a.code == "server.unavailable"
        assert a.retry_after == str(RETRY_AFTER_SECONDS)
    # Back within seconds of the database, and staying back.
    assert recovered, f"no 2xx within {RECOVERY_LIMIT_SECONDS}s of the database coming back"
    settled = since(recovered[0] + 0.5)
    assert settled and all(a.status == 200 for a in settled), sorted({a.status for a in settled})
