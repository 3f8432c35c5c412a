"""Command line: `python -m app.cli serve|migrate|seed-demo|export-openapi|verify-audit|unlock-user`.

Without DATABASE_URL the embedded PostgreSQL in DATA_DIR (default .data/) is started first.
"""

import argparse
import asyncio
import os
import sys
from pathlib import Path

from app.core.config import PROJECT_ROOT, get_settings


def database_url(start_embedded: bool = True) -> tuple[str, bool]:
    """(url, embedded?) The external DATABASE_URL, or the embedded server's."""
    settings = get_settings()
    if settings.database_url:
        return settings.database_url, False
    if not start_embedded:
        raise SystemExit("DATABASE_URL is not set")
    from app import embedded_db  # noqa: PLC0415

    server, url = embedded_db.start(Path(settings.data_dir) / "pg")
    _servers.append(server)
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return url, True


_servers: list[object] = []


def migrate(url: str) -> None:
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, "head")


async def _seed(url: str, only_if_empty: bool) -> bool:
    from app.core import db  # noqa: PLC0415
    from app.demo.seed import seed_demo  # noqa: PLC0415

    db.configure_engine(url)
    try:
        async with db.session_factory()() as session:
            seeded = await seed_demo(session, only_if_empty=only_if_empty)
            await db.commit(session)
            return seeded
    finally:
        await db.get_engine().dispose()


def print_banner(host: str, port: int) -> None:
    from app.demo.seed import DEMO_PASSWORD, DEMO_USERS  # noqa: PLC0415

    base = f"http://{host}:{port}"
    print(f"\nRecourse is serving on {base}", flush=True)
    print(f"  platform API docs: {base}/api/v1/docs", flush=True)
    print(f"  field API docs:    {base}/api/mobile/v1/docs", flush=True)
    print(f"  demo logins (password {DEMO_PASSWORD}): " + ", ".join(u[0] for u in DEMO_USERS) + ", other-admin\n",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recourse")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate, seed demo data on an empty embedded database, serve")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--no-seed", action="store_true")
    sub.add_parser("migrate", help="upgrade the database to head")
    seed = sub.add_parser("seed-demo", help="load the demo data (refuses a non-empty database)")
    seed.add_argument("--force-external", action="store_true",
                      help="allow seeding an external DATABASE_URL (never done automatically)")
    export = sub.add_parser("export-openapi", help="write openapi/v1.json and openapi/mobile-v1.json")
    export.add_argument("--check", action="store_true", help="fail if the committed files differ")
    sub.add_parser("verify-audit", help="recompute every group's audit hash chain")
    unlock = sub.add_parser("unlock-user", help="unlock a login-locked account (audited); the way back in "
                                                "when no administrator can log in")
    unlock.add_argument("username")
    unlock.add_argument("--group", help="the user's group code; refuse if the user is in another group")
    sub.add_parser("database-url", help="start the embedded database if needed and print its URL")
    job = sub.add_parser("run-job", help="run one round of a periodic job now (for cron)")
    job.add_argument("name")
    args = parser.parse_args(argv)

    if args.command == "export-openapi":
        return export_openapi(args.check)
    if args.command == "serve":
        url, embedded = database_url()
        migrate(url)
        if embedded and not args.no_seed and asyncio.run(_seed(url, only_if_empty=True)):
            print("Loaded the demo data into the empty embedded database.", flush=True)
        import uvicorn  # noqa: PLC0415

        print_banner(args.host, args.port)
        uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port, log_config=None,
                    proxy_headers=True, forwarded_allow_ips="127.0.0.1")
        return 0
    if args.command == "migrate":
        migrate(database_url()[0])
        return 0
    if args.command == "seed-demo":
        url, embedded = database_url()
        if not embedded and not args.force_external:
            print("Refusing to seed an external DATABASE_URL without --force-external.", file=sys.stderr)
            return 2
        migrate(url)
        if not asyncio.run(_seed(url, only_if_empty=True)):
            print("The database already has data; nothing loaded.", file=sys.stderr)
            return 1
        print("Demo data loaded.")
        return 0
    if args.command == "verify-audit":
        return asyncio.run(_verify_audit(database_url()[0]))
    if args.command == "unlock-user":
        return asyncio.run(_unlock_user(database_url()[0], args.username, args.group))
    if args.command == "run-job":
        return asyncio.run(_run_job(database_url()[0], args.name))
    if args.command == "database-url":
        print(database_url()[0])
        return 0
    return 2


async def _verify_audit(url: str) -> int:
    from sqlalchemy import select  # noqa: PLC0415

    from app.core import db  # noqa: PLC0415
    from app.core.audit import verify_chain  # noqa: PLC0415
    from app.org.models import Group  # noqa: PLC0415

    db.configure_engine(url)
    failures = 0
    async with db.session_factory()() as session:
        for group in (await session.scalars(select(Group).order_by(Group.code))).all():
            report = await verify_chain(session, group.id)
            status = "ok" if report.ok else f"BROKEN at seq {report.broken_at_seq}: {report.reason}"
            print(f"{group.code}: {report.checked} events checked, {status}")
            failures += 0 if report.ok else 1
    await db.get_engine().dispose()
    return 1 if failures else 0


async def _unlock_user(url: str, username: str, group: str | None) -> int:
    from app.core import db  # noqa: PLC0415

    db.configure_engine(url)
    try:
        async with db.session_factory()() as session:
            return await run_unlock_user(session, username, group)
    finally:
        await db.get_engine().dispose()


async def run_unlock_user(session, username: str, group: str | None) -> int:  # noqa: ANN001
    """Unlock USERNAME and commit; prints what it did. 0 when unlocked, 1 when there is no such user."""
    import app.domains  # noqa: F401, PLC0415 - every model mapped before the first query
    from app.auth.service import unlock_by_operator  # noqa: PLC0415
    from app.core import db  # noqa: PLC0415

    user = await unlock_by_operator(session, username, group)
    if user is None:
        where = f" in group {group}" if group else ""
        print(f"No user {username!r}{where}.", file=sys.stderr)
        return 1
    await db.commit(session)
    note = "" if user.is_active else " (the account is disabled; re-enable it through the API)"
    print(f"Unlocked {user.username}{note}.")
    return 0


async def _run_job(url: str, name: str) -> int:
    import app.main  # noqa: F401, PLC0415 - every area registers its jobs on import
    from app.core import db, jobs  # noqa: PLC0415

    if name not in jobs.JOBS:
        print(f"Unknown job {name!r}; known: {', '.join(sorted(jobs.JOBS))}", file=sys.stderr)
        return 2
    db.configure_engine(url)
    try:
        summary = await jobs.run_job(name)
    finally:
        await db.get_engine().dispose()
    print(f"{name}: " + ("skipped, another runner holds the lock" if summary is None else str(summary)))
    return 0


def export_openapi(check: bool) -> int:
    from app.main import create_app, dump_document  # noqa: PLC0415

    app = create_app()
    out_dir = PROJECT_ROOT / "openapi"
    out_dir.mkdir(exist_ok=True)
    stale = []
    for surface in ("v1", "mobile-v1"):
        path = out_dir / f"{surface}.json"
        text = dump_document(app, surface)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("Stale OpenAPI documents: " + ", ".join(stale) + " (run scripts/export-openapi)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
