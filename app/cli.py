"""Command line: `python -m app.cli serve|migrate|seed-demo|export-openapi|verify-audit|verify-ledger|unlock-user`.

Without DATABASE_URL the embedded PostgreSQL in DATA_DIR (default .data/) is started first.
"""

import argparse
import asyncio
import os
import sys
from pathlib import Path

from app.core.config import PROJECT_ROOT, cores, get_settings


def database_url(start_embedded: bool = True) -> tuple[str, bool]:
    """(url, embedded?) The URL the app connects with: DATABASE_URL, or the embedded server's."""
    url, _, embedded = database_urls(start_embedded)
    return url, embedded


def database_urls(start_embedded: bool = True) -> tuple[str, str, bool]:
    """(app url, owner url, embedded?) The app's role may not rewrite append-only tables; the
    owner runs migrations (DATABASE_OWNER_URL, or DATABASE_URL when only one is given)."""
    settings = get_settings()
    if settings.database_url:
        return settings.database_url, settings.database_owner_url or settings.database_url, False
    if not start_embedded:
        raise SystemExit("DATABASE_URL is not set")
    from app import embedded_db  # noqa: PLC0415

    server, owner_url = embedded_db.start(Path(settings.data_dir) / "pg", app_role=settings.database_app_role)
    _servers.append(server)
    # This process owns the server now: SIGTERM, like Ctrl-C, ends it through its exit hooks, which
    # stop the server (embedded_db.release).
    embedded_db.exit_on_termination()
    url = embedded_db.with_user(owner_url, settings.database_app_role)
    os.environ["DATABASE_URL"] = url
    os.environ["DATABASE_OWNER_URL"] = owner_url
    get_settings.cache_clear()
    return url, owner_url, True


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


def serve_workers(requested: int | None) -> int:
    """How many server processes `serve` runs: --workers, WEB_WORKERS, else one per core.

    Each worker hashes passwords in its own limiter; unless LOGIN_HASH_CONCURRENCY says otherwise,
    the workers share the cores between them, so logins never take every core at once.
    """
    if requested is not None and requested < 1:
        raise SystemExit("--workers must be at least 1")
    settings = get_settings()
    workers = requested or settings.web_workers or cores()
    if settings.login_hash_concurrency is None:
        os.environ["LOGIN_HASH_CONCURRENCY"] = str(max(1, cores() // workers))
        get_settings.cache_clear()
    return workers


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
    serve.add_argument("--workers", type=int, default=None,
                       help="server processes (default WEB_WORKERS, else one per CPU core)")
    sub.add_parser("migrate", help="upgrade the database to head")
    seed = sub.add_parser("seed-demo", help="load the demo data (refuses a non-empty database)")
    seed.add_argument("--force-external", action="store_true",
                      help="allow seeding an external DATABASE_URL (never done automatically)")
    export = sub.add_parser("export-openapi", help="write openapi/v1.json and openapi/mobile-v1.json")
    export.add_argument("--check", action="store_true", help="fail if the committed files differ")
    verify = sub.add_parser("verify-audit", help="recompute every group's audit chain and check its checkpoints")
    verify.add_argument("--checkpoint", metavar="FILE", type=Path,
                        help="also check the checkpoints in FILE (JSON lines), then append the verified heads")
    ledger = sub.add_parser("verify-ledger", help="replay every contract's ledger and compare it with the stored "
                                                  "state; exit 1 on any difference")
    ledger.add_argument("--group", help="only this group's contracts (its code)")
    unlock = sub.add_parser("unlock-user", help="unlock a login-locked account (audited); the way back in "
                                                "when no administrator can log in")
    unlock.add_argument("username")
    unlock.add_argument("--group", help="the user's group code; refuse if the user is in another group")
    dburl = sub.add_parser("database-url", help="start the embedded database if needed and print its URL")
    dburl.add_argument("--owner", action="store_true", help="the owner's URL (migrations) instead of the app's")
    job = sub.add_parser("run-job", help="run one round of a periodic job now (for cron)")
    job.add_argument("name")
    run_queue = sub.add_parser("run-queue", help="run the durable queue's jobs (a worker apart from the servers)")
    run_queue.add_argument("--drain", action="store_true", help="run the jobs due now, then exit")
    args = parser.parse_args(argv)

    if args.command == "export-openapi":
        return export_openapi(args.check)
    if args.command == "serve":
        url, owner_url, embedded = database_urls()
        migrate(owner_url)
        if problem := asyncio.run(_app_role_problem(url)):
            if get_settings().environment == "production":
                print(f"Refusing to serve: {problem}", file=sys.stderr)
                return 2
            print(f"WARNING: {problem}", file=sys.stderr, flush=True)
        if embedded and not args.no_seed and asyncio.run(_seed(url, only_if_empty=True)):
            print("Loaded the demo data into the empty embedded database.", flush=True)
        import uvicorn  # noqa: PLC0415

        workers = serve_workers(args.workers)
        # Where a gateway simulator started in-process (no gateway configured) posts its callbacks.
        callback_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104 - a comparison
        os.environ.setdefault("DEVICE_CALLBACK_URL", f"http://{callback_host}:{args.port}/api/v1/device-gateway/callbacks")
        get_settings.cache_clear()
        print_banner(args.host, args.port)
        print(f"  {workers} worker process(es)\n", flush=True)
        # The database was started, migrated and seeded once, above; workers only serve.
        uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port, log_config=None,
                    proxy_headers=True, forwarded_allow_ips="127.0.0.1", workers=workers)
        return 0
    if args.command == "migrate":
        migrate(database_urls()[1])
        return 0
    if args.command == "seed-demo":
        url, owner_url, embedded = database_urls()
        if not embedded and not args.force_external:
            print("Refusing to seed an external DATABASE_URL without --force-external.", file=sys.stderr)
            return 2
        migrate(owner_url)
        if not asyncio.run(_seed(url, only_if_empty=True)):
            print("The database already has data; nothing loaded.", file=sys.stderr)
            return 1
        print("Demo data loaded.")
        return 0
    if args.command == "verify-audit":
        return asyncio.run(_verify_audit(database_url()[0], args.checkpoint))
    if args.command == "verify-ledger":
        return asyncio.run(_verify_ledger(database_url()[0], args.group))
    if args.command == "unlock-user":
        return asyncio.run(_unlock_user(database_url()[0], args.username, args.group))
    if args.command == "run-job":
        return asyncio.run(_run_job(database_url()[0], args.name))
    if args.command == "run-queue":
        return asyncio.run(_run_queue(database_url()[0], args.drain))
    if args.command == "database-url":
        app_url, owner_url, _ = database_urls()
        print(owner_url if args.owner else app_url)
        return 0
    return 2


async def _app_role_problem(url: str) -> str | None:
    """Why the app's connection could rewrite the audit trail, or None when it cannot."""
    from sqlalchemy import text  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from app.core.db import to_async_url  # noqa: PLC0415

    engine = create_async_engine(to_async_url(url))
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(text("""
                SELECT current_user AS role, r.rolsuper AS superuser,
                       pg_has_role(current_user, c.relowner, 'USAGE') AS owner,
                       has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE')
                           OR has_table_privilege(c.oid, 'TRUNCATE') AS rewrite
                FROM pg_class c JOIN pg_roles r ON r.rolname = current_user
                WHERE c.oid = 'audit_event'::regclass"""))).mappings().one()
    finally:
        await engine.dispose()
    if row["superuser"] or row["owner"] or row["rewrite"]:
        return (f"the app connects as {row['role']!r}, which can rewrite audit_event; give the app "
                "DATABASE_URL as the app role (DATABASE_APP_ROLE) and migrations DATABASE_OWNER_URL")
    return None


async def _verify_audit(url: str, checkpoint_file: Path | None = None) -> int:
    from sqlalchemy import select  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine  # noqa: PLC0415

    from app.core import audit  # noqa: PLC0415
    from app.core.db import to_async_url  # noqa: PLC0415
    from app.org.models import Group  # noqa: PLC0415

    try:
        external = audit.read_checkpoint_file(checkpoint_file) if checkpoint_file else {}
    except (OSError, ValueError) as exc:
        print(f"Cannot read the checkpoint file: {exc}", file=sys.stderr)
        return 2
    # An engine of its own: nothing global is reconfigured (tests call this in-process).
    engine = create_async_engine(to_async_url(url))
    try:
        async with async_sessionmaker(engine)() as session:
            codes = dict((await session.execute(select(Group.id, Group.code))).all())
            reports = await audit.verify_all(session, external)
    finally:
        await engine.dispose()
    for report in sorted(reports, key=lambda r: codes.get(r.group_id, str(r.group_id))):
        status = "ok" if report.ok else f"BROKEN at seq {report.broken_at_seq}: {report.reason}"
        print(f"{codes.get(report.group_id, report.group_id)}: {report.checked} events checked, "
              f"{report.checkpoints} checkpoints reached, {status}")
    if checkpoint_file:
        added = audit.append_checkpoint_file(checkpoint_file, reports, external)
        print(f"{added} checkpoints appended to {checkpoint_file}")
    return 0 if all(r.ok for r in reports) else 1


async def _verify_ledger(url: str, group: str | None) -> int:
    from sqlalchemy import select  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine  # noqa: PLC0415

    from app.core.db import to_async_url  # noqa: PLC0415
    from app.ledger import verify  # noqa: PLC0415
    from app.org.models import Group  # noqa: PLC0415

    engine = create_async_engine(to_async_url(url))
    try:
        async with async_sessionmaker(engine)() as session:
            group_id = None
            if group is not None:
                group_id = await session.scalar(select(Group.id).where(Group.code == group))
                if group_id is None:
                    print(f"No group {group!r}", file=sys.stderr)
                    return 2
            report = await verify.verify(session, group_id)
    finally:
        await engine.dispose()
    for contract_id, found in report.mismatches.items():
        print(f"contract {contract_id}:")
        for line in found:
            print(f"  {line}")
    print(f"{report.contracts} contracts replayed, {len(report.mismatches)} differ from their stored state")
    return 0 if report.ok else 1


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


async def _run_queue(url: str, drain: bool) -> int:
    import app.main  # noqa: F401, PLC0415 - every area registers its queue handlers on import
    from app.core import db, queue  # noqa: PLC0415

    db.configure_engine(url)
    try:
        if drain:
            print(f"ran {await queue.drain()} job(s)")
        else:
            await queue.work_forever()
    finally:
        await db.get_engine().dispose()
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
