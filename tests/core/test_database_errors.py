"""A value PostgreSQL refuses (SQLSTATE class 22, or asyncpg's own argument check) is a 422 problem
from the one error handler; any other database error stays a server error."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(("statements", "params"), [
    (["SELECT CAST(:v AS text)"], {"v": "nul\x00inside"}),  # 22021 character_not_in_repertoire
    (["CREATE TEMP TABLE short_text (v varchar(3))",
      "INSERT INTO short_text VALUES (:v)"], {"v": "too long"}),  # 22001 string_data_right_truncation
    (["SELECT CAST(:v AS numeric(4, 2))"], {"v": "12345"}),  # 22003 numeric_value_out_of_range
    (["SELECT CAST(:v AS integer)"], {"v": "twelve"}),  # 22P02 invalid_text_representation
    (["SELECT CAST(:v AS date)"], {"v": "2026-13-45"}),  # 22008 datetime_field_overflow
], ids=["nul", "truncation", "numeric-range", "text-representation", "date-range"])
async def test_database_data_errors_are_422_problems(app, client, db, statements, params):
    async def refuse():
        for statement in statements:
            await db.execute(text(statement), params)

    app.add_api_route("/api/v1/_refuse", refuse)
    response = await client.get("/api/v1/_refuse")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "request.invalid_value"
    assert "SELECT" not in response.text


async def test_an_argument_the_driver_cannot_encode_is_a_422_problem(app, client, db):
    async def refuse():
        # asyncpg checks int4 arguments itself: a client-side DataError, not a server error.
        await db.execute(text("SELECT 1 WHERE 1 = CAST(:v AS integer)"), {"v": 2**40})

    app.add_api_route("/api/v1/_refuse_arg", refuse)
    response = await client.get("/api/v1/_refuse_arg")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "request.invalid_value"


async def test_other_database_errors_stay_server_errors(app, client):
    async def broken():
        raise DBAPIError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    app.add_api_route("/api/v1/_db_down", broken)
    response = await client.get("/api/v1/_db_down")
    assert response.status_code >= 500
    assert response.headers["content-type"] == PROBLEM
