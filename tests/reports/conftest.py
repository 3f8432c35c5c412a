"""Reports' tests read one generated history: the demo's (customers, contracts, ledger histories from
a seeded random generator, collection cases, logs and promises, month-end snapshots), seeded once
for the package inside a transaction rolled back at the end; each test runs in a savepoint of it
(so a test may add to it) and the app reads it through the usual session provider."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.collection.demo import seed_collections
from app.contracts.demo import seed_contracts
from app.customers.demo import seed_customers
from app.ledger.demo import seed_ledger
from app.reports.demo import seed_reports


@pytest.fixture(scope="package")
async def seeded(engine, org) -> AsyncIterator[object]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            await seed_customers(session, org)
            await seed_contracts(session, org)
            await seed_ledger(session, org)
            await seed_collections(session, org)
            await seed_reports(session, org)
            await session.commit()
        finally:
            await session.close()
        try:
            yield conn
        finally:
            await outer.rollback()


@pytest.fixture
async def db(seeded) -> AsyncIterator[AsyncSession]:
    """The session of a test: a savepoint inside the seeded module's transaction."""
    nested = await seeded.begin_nested()
    async with AsyncSession(bind=seeded, join_transaction_mode="create_savepoint", expire_on_commit=False) as session:
        yield session
    if nested.is_active:
        await nested.rollback()
