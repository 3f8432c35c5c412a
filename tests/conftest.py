"""Test harness: one throwaway embedded PostgreSQL per run (unless TEST_DATABASE_URL), migrated to
head once as the owner, the demo organisation committed once; each test runs in a transaction
rolled back at the end, handed to the app through its session provider. The app, `engine`, `org`
and `db` connect as the app role (DATABASE_APP_ROLE), which may not rewrite append-only tables;
`owner_engine` is the owner, for what only the owner (or an attacker with its rights) may do.

With TEST_DATABASE_URL (the owner), the app role logs in through TEST_DATABASE_APP_URL, or
through the same URL with the role's name and no password (trust or peer authentication)."""

import asyncio
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

os.environ["ENVIRONMENT"] = "test"
os.environ["RUN_SCHEDULER"] = "false"  # tests run jobs explicitly
os.environ.setdefault("JWT_SECRET", "test-secret-" + "x" * 32)
# Files the app keeps (attachments' bytes) go to a throwaway directory, never the checkout's .data/;
# the contract server inherits it.
os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="recourse-test-data-")

import httpx  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402

from app.core import db as core_db  # noqa: E402
from app.core import hotsql  # noqa: E402
from app.core.config import get_settings  # noqa: E402
from app.core.security import create_access_token  # noqa: E402
from app.demo.seed import DEMO_PASSWORD, DemoOrg, seed_org  # noqa: E402

# The suite is a gate: the property tests draw the same examples on every run (derandomized), so
# a run is red only when the code changed. Exploring with fresh random examples is a habit apart:
# `HYPOTHESIS_PROFILE=explore ./scripts/test tests/ledger` (repeat it; add what it finds as a test).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _database_urls() -> tuple[str, str]:
    """(owner url, app url)"""
    from app import embedded_db

    role = get_settings().database_app_role
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        asyncio.run(_create_role(url, embedded_db.create_role_sql(role)))
        return url, os.environ.get("TEST_DATABASE_APP_URL") or embedded_db.with_user(url, role)
    data_dir = Path(tempfile.mkdtemp(prefix="recourse-test-"))
    server, url = embedded_db.start(data_dir / "pg", cleanup="delete", app_role=role)
    _keep_alive.append(server)
    return url, embedded_db.with_user(url, role)


async def _create_role(url: str, sql: str) -> None:
    owner = create_async_engine(core_db.to_async_url(url))
    async with owner.begin() as conn:
        await conn.execute(text(sql))
    await owner.dispose()


_keep_alive: list[object] = []


@pytest.fixture(scope="session")
def database_urls() -> tuple[str, str]:
    """(owner url, app url), the database migrated to head by the owner."""
    owner_url, app_url = _database_urls()
    os.environ["DATABASE_URL"] = app_url
    os.environ["DATABASE_OWNER_URL"] = owner_url
    get_settings.cache_clear()
    from app.cli import migrate

    migrate(owner_url)
    return owner_url, app_url


@pytest.fixture(scope="session")
def database_url(database_urls) -> str:
    """The owner's URL: for migrations and creating databases. The app uses the app role's."""
    return database_urls[0]


@pytest.fixture(scope="session")
async def engine(database_urls):
    """The app's engine, logged in as the app role."""
    engine = core_db.configure_engine(database_urls[1])
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def owner_engine(database_urls):
    """The tables' owner (a superuser on the embedded server): tampering no app role can do."""
    engine = create_async_engine(core_db.to_async_url(database_urls[0]))
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def org(engine) -> DemoOrg:
    """The demo organisation, committed once for the whole run (tests never commit over it)."""
    from passlib.context import CryptContext

    # Cheap argon2 parameters for the fixtures only; the app's own context is untouched.
    fast = CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=1024, argon2__rounds=1)
    async with core_db.session_factory()() as session:
        demo = await seed_org(session, fast.hash(DEMO_PASSWORD))
        await core_db.commit(session)
    return demo


@pytest.fixture
async def db(engine, org) -> AsyncIterator[AsyncSession]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


@pytest.fixture
def app(db: AsyncSession):
    from app.main import create_app

    application = create_app()

    @asynccontextmanager
    async def provider():
        # Release the test's own setup (a savepoint) first, so a request that fails and rolls back
        # undoes only itself. Everything is still inside the outer transaction rolled back at the end.
        await db.commit()
        yield db
        # A read-only (GET) request ends without COMMIT: production reads in autocommit, nothing to
        # end. Here it read inside a savepoint, released now as the request's own last statement.
        if db.in_transaction():
            await db.commit()

    application.state.session_provider = provider
    return application


# A money value in any answer is a decimal string ("1280.00"): every JSON response of every test is
# searched for a number under a money name, nested details and free-form dicts included.
# (`paid`, `overdue` and `total` alone are counts in places, so only unambiguous money names count.)
MONEY_NAME = re.compile(r"(^|_)(amount|principal|interest|penalty|fee|fees|balance|payoff|price|financed|cost|"
                        r"collected|credit|unapplied|waived|deposit)$")


def money_as_numbers(value: object, path: str = "") -> list[str]:
    """The paths in a JSON document where a money name holds a number."""
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            if (MONEY_NAME.search(str(key)) and isinstance(item, int | float) and not isinstance(item, bool)):
                found.append(f"{path}/{key}")
            found += money_as_numbers(item, f"{path}/{key}")
        return found
    if isinstance(value, list):
        return [p for n, item in enumerate(value) for p in money_as_numbers(item, f"{path}/{n}")]
    return []


async def _money_is_a_string(response: httpx.Response) -> None:
    if "json" not in response.headers.get("content-type", ""):
        return
    await response.aread()
    try:
        body = response.json()
    except ValueError:
        return
    wrong = money_as_numbers(body)
    assert not wrong, f"{response.request.method} {response.request.url.path}: money as a JSON number at {wrong}"


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                 event_hooks={"response": [_money_is_a_string]}) as c:
        yield c


def token_for(org: DemoOrg, username: str) -> str:
    user = org.users[username]
    return create_access_token(user_id=user.id, group_id=user.group_id)[0]


@pytest.fixture
def auth(org):
    """auth("leader") → headers with a fresh access token for that demo user."""

    def headers(username: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(org, username)}", **extra}

    return headers


TRACCAR_FORWARD_KEY = "traccar-forward-key-for-the-tests-0123456789"


@pytest.fixture
def traccar_forwarding(monkeypatch) -> str:
    """Traccar's forwarding routes switched on (DEVICE_TRACCAR_FORWARD_SECRET); yields the key."""
    monkeypatch.setenv("DEVICE_TRACCAR_FORWARD_SECRET", TRACCAR_FORWARD_KEY)
    get_settings.cache_clear()
    yield TRACCAR_FORWARD_KEY
    monkeypatch.delenv("DEVICE_TRACCAR_FORWARD_SECRET")
    get_settings.cache_clear()


@pytest.fixture
def travel():
    """`travel(moment)` sets the application's clock (app/core/clock.py) to `moment` for the rest of
    the test, running on from there: for a test about a particular day or hour."""
    from app.core import clock

    def to(moment: datetime) -> None:
        clock.set_now(moment)

    yield to
    clock.reset()


@pytest.fixture
def count_queries(engine):
    """`async with count_queries() as counted:` … `counted.n` is how many SQL statements ran inside;
    for asserting that a request's query count does not grow with the data."""

    class Counted:
        n = 0

    @asynccontextmanager
    async def counting() -> AsyncIterator[Counted]:
        counted = Counted()

        def before(*_args: object, **_kwargs: object) -> None:
            counted.n += 1

        event.listen(engine.sync_engine, "before_cursor_execute", before)
        hotsql.listen(before)  # the hot path's statements (app/core/hotsql.py) bypass SQLAlchemy
        try:
            yield counted
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", before)
            hotsql.unlisten(before)

    return counting


def new_id() -> str:
    return str(uuid.uuid4())
