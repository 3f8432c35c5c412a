"""A 204 carries neither a body nor a Content-Type, whichever route answers it."""

from tests.customers.helpers import create_customer


async def test_delete_answers_204_without_content_type(client, auth):
    customer = await create_customer(client, auth, "sales1")
    response = await client.delete(f"/api/v1/customers/{customer['id']}", headers=auth("admin"))
    assert response.status_code == 204, response.text
    assert "content-type" not in response.headers
    assert "content-length" not in response.headers or response.headers["content-length"] == "0"
    assert response.content == b""


async def test_logout_answers_204_without_content_type(client, auth):
    response = await client.post("/api/v1/auth/logout", headers=auth("sales1"))
    assert response.status_code == 204, response.text
    assert "content-type" not in response.headers
    assert response.content == b""


async def test_every_declared_204_route_is_covered_centrally(app):
    from fastapi.routing import APIRoute

    from app.core.routing import TransactionalRoute

    no_content = [r for r in app.routes if isinstance(r, APIRoute) and r.status_code == 204]
    assert no_content and all(isinstance(r, TransactionalRoute) for r in no_content)
