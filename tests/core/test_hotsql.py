"""core.hotsql runs its statements on the session's own connection, whichever that is now."""

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.core import db, hotsql
from tests.customers.helpers import create_customer, unique_name


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


def test_opaque_parameters_hide_the_chosen_parameters_and_leave_literals_alone():
    sql = ("SELECT a FROM t WHERE t.a = $1::UUID AND t.b IN ($2::VARCHAR(40), $3::VARCHAR(40)) "
           "AND t.c < $10::TIMESTAMP WITH TIME ZONE AND t.d = 'it''s $4' AND t.e = ANY ($11::UUID[]) "
           "AND t.f = $12 AND t.g LIKE $13::VARCHAR ORDER BY t.c DESC LIMIT 51")
    assert hotsql.opaque_parameters(sql, lambda n: n != 13) == (
        "SELECT a FROM t WHERE t.a = (SELECT $1::UUID) AND t.b IN ((SELECT $2::VARCHAR(40)), (SELECT $3::VARCHAR(40))) "
        "AND t.c < (SELECT $10::TIMESTAMP WITH TIME ZONE) AND t.d = 'it''s $4' AND t.e = ANY ((SELECT $11::UUID[])) "
        "AND t.f = (SELECT $12) AND t.g LIKE $13::VARCHAR ORDER BY t.c DESC LIMIT 51")


async def test_a_scoped_hot_page_hides_the_callers_values_and_the_cursor_and_writes_its_limit_in(client, auth, org):
    # clerk1's scope has several branches (their company, their own customers, those shared with
    # them): the page is the union of per-branch passes, every one of them with the caller's values.
    # What hiding them buys (one plan kept at any size, whoever asks) is measured where the data is
    # big enough to show it: tests/core/test_scope_lists.py, scripts/bench/scope_lists.py.
    for _ in range(3):
        await create_customer(client, auth, name=unique_name("计划"))
    seen: list[str] = []

    def record(sql: str, arguments: list) -> None:
        seen.append(sql)

    hotsql.listen(record)
    try:
        first = await client.get("/api/v1/customers?limit=2", headers=auth("clerk1"))
        deep = await client.get(f"/api/v1/customers?limit=2&cursor={first.json()['next_cursor']}",
                                headers=auth("clerk1"))
    finally:
        hotsql.unlisten(record)
    assert first.status_code == deep.status_code == 200, deep.text
    pages = [sql for sql in seen if "scope_passes" in sql]
    assert len(pages) == 2 and "(SELECT $" in pages[1] and pages[1] != pages[0]  # the deep page adds the cursor
    for sql in pages:
        # The limit written in; the caller's scope and the cursor, all the values there are, hidden.
        assert " LIMIT 3" in sql and not re.search(r"(?<!SELECT )\$\d", sql)


async def test_a_searched_hot_page_keeps_the_search_in_view_of_the_planner(client, auth, org):
    # A rare name's search is best served by the name's trigram index, a common one by walking the
    # date index: the plan depends on the value, so the search term stays a visible parameter.
    seen: list[str] = []

    def record(sql: str, arguments: list) -> None:
        seen.append(sql)

    hotsql.listen(record)
    try:
        found = await client.get("/api/v1/customers?limit=2&q=某某", headers=auth("clerk1"))
    finally:
        hotsql.unlisten(record)
    assert found.status_code == 200, found.text
    page = next(sql for sql in seen if "scope_passes" in sql)
    assert re.search(r"name_norm LIKE \$\d+::VARCHAR", page)


def test_opaque_parameters_keep_every_column_types_cast_inside_the_sub_select():
    # asyncpg learns a parameter's type from the statement: a cast left outside the sub-select
    # (`(SELECT $1)::x`) would make the parameter text, and a UUID or a date would fail to encode.
    import app.domains  # noqa: F401 - every model mapped
    from app.core.db import Base

    types = {hotsql._DIALECT.type_compiler_instance.process(column.type)
             for table in Base.metadata.tables.values() for column in table.columns}
    for rendered in sorted(types):
        assert hotsql.opaque_parameters(f"WHERE x = $1::{rendered} AND y", lambda n: True) == (
            f"WHERE x = (SELECT $1::{rendered}) AND y"), rendered
