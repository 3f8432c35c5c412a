"""core.hotsql runs its statements on the session's own connection, whichever that is now."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.core import db, hotsql


async def test_after_a_commit_a_hot_statement_runs_on_the_sessions_new_connection(database_urls):
    # A fresh engine, so the pool holds exactly the connections this test makes.
    engine = create_async_engine(db.to_async_url(database_urls[1]))
    try:
        async with AsyncSession(engine) as session:
            first = await hotsql.driver(session)
            await session.commit()  # the first connection goes back to the pool...
            async with engine.connect() as other:  # ...and somebody else takes it
                await other.execute(text("SELECT 1"))
                taken = (await other.get_raw_connection()).driver_connection
                assert taken is first
                await session.execute(text("SELECT 1"))  # the session begins again, on another connection
                now = await hotsql.driver(session)
                current = (await (await session.connection()).get_raw_connection()).driver_connection
                assert now is current and now is not first
    finally:
        await engine.dispose()
