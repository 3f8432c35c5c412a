"""In-process cost of an authenticated no-op, principal cache warm or always missing.

    .venv/bin/python scripts/bench/principal.py [--requests 2000] [--path /api/v1/notifications?limit=1]

A fresh embedded PostgreSQL (temporary directory), migrated and seeded with the demo organisation;
the app is driven in-process through httpx's ASGI transport (no sockets, one request at a time),
so the figures are CPU per request of app + client on one core, for comparing variants only.
`--miss` swaps in a cache that never hits: the stamp query plus a full load on every request.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ENVIRONMENT", "test")
os.environ["RUN_SCHEDULER"] = "false"
os.environ.setdefault("JWT_SECRET", "bench-secret-" + "q7Jk2mZ9vR4tX8wL1nB6cF3hD5gS0pYe")

import httpx  # noqa: E402


def database() -> tuple[object, str]:
    """(the server, to keep alive; the app role's URL), migrated."""
    from app import embedded_db
    from app.cli import migrate
    from app.core.config import get_settings

    role = get_settings().database_app_role
    server, owner_url = embedded_db.start(Path(tempfile.mkdtemp(prefix="recourse-bench-")) / "pg",
                                          cleanup="delete", app_role=role)
    migrate(owner_url)
    return server, embedded_db.with_user(owner_url, role)


async def main(url: str, requests: int, path: str, miss: bool, username: str) -> None:
    from passlib.context import CryptContext

    from app.core import db as core_db
    from app.core.security import create_access_token
    from app.demo.seed import DEMO_PASSWORD, seed_org
    from app.main import create_app

    core_db.configure_engine(url)
    fast = CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=1024, argon2__rounds=1)
    async with core_db.session_factory()() as session:
        org = await seed_org(session, fast.hash(DEMO_PASSWORD))
        await core_db.commit(session)
    user = org.users[username]
    token = create_access_token(user_id=user.id, group_id=user.group_id)[0]

    app = create_app()
    if miss:
        from app.core.principal import PrincipalCache

        class Missing(PrincipalCache):
            def principal(self, user_id, stamp):  # noqa: ANN001, ANN202
                return None

        app.state.principal_cache = Missing(1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(200):  # warm up: caches, statement cache, pool
            assert (await client.get(path)).status_code == 200
        samples = []
        cpu = time.process_time()
        started = time.perf_counter()
        for _ in range(requests):
            t0 = time.perf_counter()
            response = await client.get(path)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.text
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    samples.sort()
    print(f"{path} as {username}, cache {'always missing' if miss else 'warm'}: {requests / elapsed:.0f} req/s, "
          f"p50 {statistics.median(samples):.2f} ms, p99 {samples[int(len(samples) * 0.99)]:.2f} ms, "
          f"client+app CPU {cpu / requests * 1000:.2f} ms/request")
    await core_db._engine.dispose()  # type: ignore[union-attr]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--path", default="/api/v1/notifications?limit=1")
    parser.add_argument("--user", default="clerk1")
    parser.add_argument("--miss", action="store_true", help="a cache that never hits")
    args = parser.parse_args()
    server, url = database()
    asyncio.run(main(url, args.requests, args.path, args.miss, args.user))
