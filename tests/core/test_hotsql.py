"""core.hotsql runs its statements on the session's own connection, whichever that is now."""

import json
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


async def _plan(connection, sql: str, arguments: list, *, generic: bool) -> dict:
    options = "GENERIC_PLAN, FORMAT JSON" if generic else "FORMAT JSON"
    found = await connection.fetchval(f"EXPLAIN ({options}) {sql}", *arguments)  # GENERIC_PLAN ignores them
    return json.loads(found)[0]["Plan"] if isinstance(found, str) else found[0]["Plan"]


def _shape(plan: dict) -> list:
    return [plan["Node Type"], plan.get("Index Name"), [_shape(p) for p in plan.get("Plans", ())]]


async def test_a_scoped_hot_page_is_planned_alike_whatever_its_values_so_postgresql_keeps_one_plan(
        client, auth, db, org):
    # clerk1's scope has several branches (their company, their own customers, those shared with
    # them): the page is the union of per-branch passes. PostgreSQL keeps a prepared statement's
    # generic plan only when it is estimated no dearer than the plans made for the values; the
    # statement hides its values (hotsql.opaque_parameters), so both are estimated alike and one
    # plan serves every execution at any table size (scripts/bench/scope_lists.py measures it).
    for _ in range(3):
        await create_customer(client, auth, name=unique_name("计划"))
    seen: list[tuple[str, list]] = []
    hotsql.listen(lambda sql, arguments: seen.append((sql, arguments)))
    try:
        first = await client.get("/api/v1/customers?limit=2", headers=auth("clerk1"))
        first_page = next((sql, arguments) for sql, arguments in seen if "scope_passes" in sql)
        seen.clear()
        for _ in range(8):
            deep = await client.get(f"/api/v1/customers?limit=2&cursor={first.json()['next_cursor']}",
                                    headers=auth("clerk1"))
            assert deep.status_code == 200, deep.text
        deep_page = next((sql, arguments) for sql, arguments in seen if "scope_passes" in sql)
    finally:
        hotsql._listeners.clear()
    connection = await hotsql.driver(db)
    for sql, arguments in (first_page, deep_page):
        # The limit is written in; the caller's scope and the cursor, all the values there are, hidden.
        assert " LIMIT 3" in sql and not re.search(r"(?<!SELECT )\$\d", sql)
        custom, generic = [await _plan(connection, sql, arguments, generic=g) for g in (False, True)]
        assert _shape(custom) == _shape(generic) and custom["Total Cost"] == generic["Total Cost"]
    kept = await connection.fetchval("SELECT generic_plans FROM pg_prepared_statements WHERE statement = $1",
                                     deep_page[0])
    assert kept >= 1  # eight runs: after five, PostgreSQL kept the generic plan


async def test_a_searched_hot_page_keeps_the_search_in_view_of_the_planner(client, auth, db, org):
    # A rare name's search is best served by the name's trigram index, a common one by walking the
    # date index: the plan depends on the value, so the search term stays a visible parameter.
    seen: list[str] = []
    hotsql.listen(lambda sql, arguments: seen.append(sql))
    try:
        found = await client.get("/api/v1/customers?limit=2&q=某某", headers=auth("clerk1"))
    finally:
        hotsql._listeners.clear()
    assert found.status_code == 200, found.text
    page = next(sql for sql in seen if "scope_passes" in sql)
    assert re.search(r"name_norm LIKE \$\d+::VARCHAR", page)
