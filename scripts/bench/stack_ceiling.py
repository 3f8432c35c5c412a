"""What the chosen stack allows, before any of Recourse's own work (issue 16).

    .venv/bin/python scripts/bench/stack_ceiling.py [--duration 5] [--rounds 2]

One request shape, two small primary-key SELECTs and a JSON answer (the shape of the floor's
authenticated no-op: the principal's stamp, then a one-row page), served five ways under uvicorn
(uvloop, httptools, one worker) and driven by the same `wrk -t1 -c8` command, interleaved:

- `bare`: a plain ASGI callable on an asyncpg pool (what floor.py's baseline is);
- `fastapi+asyncpg`: a FastAPI route with one dependency on the same pool;
- `fastapi+engine-raw`: the route checks a connection out of SQLAlchemy's async engine and runs
  the SQL on its asyncpg connection;
- `fastapi+session-raw`: the route opens an AsyncSession and runs the SQL on the session's asyncpg
  connection (core/hotsql.py's path);
- `fastapi+session`: the route runs the SQL through `AsyncSession.execute(text(...))` (the ORM
  path every other route takes, without even building statements).

The ratio column is each variant's req/s over bare's in the same round: the ceiling a route can
reach with that much of the stack under it.
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from dupcheck import start_embedded  # noqa: E402

Q_USER = "SELECT id, name FROM ceiling_user WHERE id = $1"
Q_PAGE = "SELECT id, title, created_at FROM ceiling_note WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 2"
VARIANTS = ["bare", "fastapi+asyncpg", "fastapi+engine-raw", "fastapi+session-raw", "fastapi+session"]


def build_app():  # noqa: ANN201 - uvicorn factory, run in the server process
    import json

    import asyncpg
    from fastapi import Depends, FastAPI, Request
    from fastapi.responses import Response
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    variant, dsn = os.environ["CEILING_VARIANT"], os.environ["CEILING_DSN"]
    state: dict = {}

    def answer(rows) -> bytes:  # noqa: ANN001
        return json.dumps({"items": [{"id": str(r[0]), "title": r[1], "created_at": r[2].isoformat()}
                                     for r in rows]}).encode()

    async def on_driver(conn) -> bytes:  # noqa: ANN001
        await conn.fetchrow(Q_USER, state["uid"])
        return answer(await conn.fetch(Q_PAGE, state["uid"]))

    async def startup() -> None:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=8, max_size=20)
        state["uid"] = await state["pool"].fetchval("SELECT id FROM ceiling_user LIMIT 1")
        engine = create_async_engine(dsn.replace("postgresql://", "postgresql+asyncpg://"), pool_size=10,
                                     max_overflow=10).execution_options(isolation_level="AUTOCOMMIT")
        state["engine"], state["sessions"] = engine, async_sessionmaker(engine, expire_on_commit=False)

    async def work() -> bytes:
        if variant == "fastapi+asyncpg":
            async with state["pool"].acquire() as conn:
                return await on_driver(conn)
        if variant == "fastapi+engine-raw":
            async with state["engine"].connect() as conn:
                return await on_driver((await conn.get_raw_connection()).driver_connection)
        async with state["sessions"]() as session:
            if variant == "fastapi+session-raw":
                connection = await session.connection()
                return await on_driver((await connection.get_raw_connection()).driver_connection)
            named = {"u": state["uid"]}
            (await session.execute(text(Q_USER.replace("$1", ":u")), named)).first()
            return answer((await session.execute(text(Q_PAGE.replace("$1", ":u")), named)).all())

    if variant == "bare":
        async def bare(scope, receive, send) -> None:  # noqa: ANN001
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        await startup()
                        await send({"type": "lifespan.startup.complete"})
                    else:
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            async with state["pool"].acquire() as conn:
                body = await on_driver(conn)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
        return bare

    app = FastAPI(on_startup=[startup])

    async def caller(request: Request) -> str | None:
        return request.headers.get("authorization")

    @app.get("/x")
    async def endpoint(_caller: str | None = Depends(caller)) -> Response:
        return Response(await work(), media_type="application/json")

    return app


def prepare(url: str) -> None:
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", """
        CREATE TABLE ceiling_user (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);
        CREATE TABLE ceiling_note (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id uuid NOT NULL,
                                   title text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
        CREATE INDEX ON ceiling_note (user_id, created_at, id);
        INSERT INTO ceiling_user (name) SELECT 'user ' || n FROM generate_series(1, 100) n;
        INSERT INTO ceiling_note (user_id, title, created_at)
            SELECT u.id, 'note ' || n, now() - n * interval '1 minute' FROM ceiling_user u, generate_series(1, 20) n;
        ANALYZE;"""], check=True)


def run(variant: str, url: str, duration: int) -> float:
    env = {**os.environ, "CEILING_VARIANT": variant, "CEILING_DSN": url, "PYTHONPATH": str(HERE)}
    port = "8791"
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "stack_ceiling:build_app", "--factory",
                               "--port", port, "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
                               "--no-access-log"], cwd=HERE, env=env)
    try:
        import time

        import httpx
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/x", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        out = subprocess.run(["wrk", "-t1", "-c8", f"-d{duration}", f"http://127.0.0.1:{port}/x"],
                             capture_output=True, text=True, check=True).stdout
        return float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", help="a scratch database (default: a fresh embedded PostgreSQL)")
    args = parser.parse_args()
    keep: list[object] = []
    url = (args.database_url or start_embedded(keep)).replace("postgresql+asyncpg://", "postgresql://")
    prepare(url)
    results: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for n in range(args.rounds):
        for variant in (VARIANTS if n % 2 == 0 else VARIANTS[::-1]):
            results[variant].append(run(variant, url, args.duration))
    bare = statistics.median(results["bare"])
    print(f"{'variant':<24}{'req/s':>10}{'ratio':>8}")
    for variant in VARIANTS:
        rate = statistics.median(results[variant])
        print(f"{variant:<24}{rate:>10.0f}{rate / bare:>8.2f}")


if __name__ == "__main__":
    main()
