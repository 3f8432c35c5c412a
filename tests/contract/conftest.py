"""A real server for the contract tests: its own database (migrated, demo organisation seeded) and
uvicorn on a loopback port, so schemathesis exercises the whole stack over HTTP."""

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.db import to_async_url
from app.core.security import create_access_token


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _create_database(url: str, name: str) -> None:
    engine = create_async_engine(to_async_url(url), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def _seed(url: str):
    from passlib.context import CryptContext

    from app.core import db as core_db
    from app.demo.seed import DEMO_PASSWORD, seed_org

    fast = CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=1024, argon2__rounds=1)
    engine = create_async_engine(to_async_url(url))
    from sqlalchemy.ext.asyncio import async_sessionmaker

    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        org = await seed_org(session, fast.hash(DEMO_PASSWORD))
        await core_db.commit(session)
    await engine.dispose()
    return org


@pytest.fixture(scope="session")
def contract_server(database_url, database_urls):
    name = f"recourse_contract_{uuid.uuid4().hex[:8]}"
    url = _with_database(database_url, name)
    app_url = _with_database(database_urls[1], name)  # the server runs as the app role, like production
    asyncio.run(_create_database(database_url, name))
    from app.cli import migrate

    migrate(url)
    org = asyncio.run(_seed(app_url))
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": app_url, "DATABASE_OWNER_URL": url, "ENVIRONMENT": "test",
           "LOG_LEVEL": "WARNING"}
    # A file, not a pipe: nobody reads the server's log while it runs, and a full pipe would stall it.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        proc.wait(timeout=10)
        log.seek(0)
        raise RuntimeError("contract server did not start: " + log.read().decode(errors="replace")[-2000:])
    try:
        yield base, org
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def contract_headers(contract_server):
    _, org = contract_server

    def headers(username: str = "admin") -> dict[str, str]:
        user = org.users[username]
        return {"Authorization": f"Bearer {create_access_token(user_id=user.id, group_id=user.group_id)[0]}"}

    return headers
