"""Cursors are opaque, signed and bound to their list and sort: a hand-edited, foreign (another
list's included) or malformed cursor is a 422 `pagination.invalid_cursor` on every list, never a 500
and never a query built from it."""

import base64
import json
import uuid

import pytest
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.routing import APIRoute

from app.core import clock
from app.core.errors import InvalidInput
from app.core.pagination import decode_cursor, encode_cursor
from app.main import create_app


def _unsigned(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _list_routes() -> list[str]:
    paths = []
    for route in create_app().routes:
        if not isinstance(route, APIRoute) or "GET" not in route.methods or "{" in route.path:
            continue
        if any(p.name == "cursor" for p in get_flat_dependant(route.dependant).query_params):
            paths.append(route.path)
    return sorted(paths)


LIST_ROUTES = _list_routes()
TAMPERED = {
    "empty-key": _unsigned({"s": "-created_at", "k": []}),
    "hand-written": _unsigned({"s": "-created_at", "k": [{"t": "dt", "v": "2026-01-01T00:00:00+00:00"},
                                                          {"t": "u", "v": str(uuid.uuid4())}]}),
    "wrong-types": _unsigned({"s": "name", "k": [1, True]}),
    "not-json": "garbage",
    "bad-signature": encode_cursor("-created_at", ["x", "y"])[:-3] + "AAA",
    "dot-only": ".",
    "unicode": "游标",
}


def test_every_list_route_is_walked():
    assert len(LIST_ROUTES) >= 10
    assert "/api/v1/customers" in LIST_ROUTES and "/api/mobile/v1/approvals" in LIST_ROUTES


@pytest.mark.parametrize("path", LIST_ROUTES)
async def test_tampered_cursors_are_422_on_every_list(client, auth, path):
    for name, cursor in TAMPERED.items():
        response = await client.get(path, params={"cursor": cursor}, headers=auth("admin"))
        assert response.status_code == 422, (name, response.text)
        assert response.json()["code"] == "pagination.invalid_cursor", (name, response.text)


@pytest.mark.parametrize("keys", [[], ["only-one"], ["a", "b", "c"]], ids=["none", "one", "three"])
def test_a_signed_cursor_with_the_wrong_arity_is_refused(keys):
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(encode_cursor("name", keys), "name")
    assert caught.value.code == "pagination.invalid_cursor"


def test_a_cursor_is_bound_to_its_list():
    cursor = encode_cursor("-created_at", [clock.now(), uuid.uuid4()], "/api/v1/customers")
    assert len(decode_cursor(cursor, "-created_at", list_key="/api/v1/customers")) == 2
    for other in ("/api/v1/contracts", None):
        with pytest.raises(InvalidInput) as caught:
            decode_cursor(cursor, "-created_at", list_key=other)
        assert caught.value.code == "pagination.invalid_cursor"


async def _get_with_sort(client, path, sort, cursor, headers):
    """`path` sorted by `sort` when the list offers it, else in its own default order."""
    response = await client.get(path, params={"sort": sort, "cursor": cursor}, headers=headers)
    if response.status_code == 422 and response.json()["code"] == "pagination.invalid_sort":
        response = await client.get(path, params={"cursor": cursor}, headers=headers)
    return response


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "username"])
async def test_a_cursor_from_one_list_is_refused_by_every_other(client, auth, sort):
    # A genuine cursor of /users, signed by us and with values of the usual types: any other list
    # that took it would page from a position in somebody else's list.
    issued = await client.get("/api/v1/users", params={"limit": 1, "sort": sort}, headers=auth("admin"))
    cursor = issued.json()["next_cursor"]
    assert cursor, issued.text
    for path in LIST_ROUTES:
        if path == "/api/v1/users":
            continue
        response = await _get_with_sort(client, path, sort, cursor, auth("admin"))
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "pagination.invalid_cursor", (path, response.text)
    same = await client.get("/api/v1/users", params={"limit": 1, "sort": sort, "cursor": cursor},
                            headers=auth("admin"))
    assert same.status_code == 200, same.text


def test_a_cursor_is_bound_to_its_sort():
    cursor = encode_cursor("-created_at", [clock.now(), uuid.uuid4()])
    assert len(decode_cursor(cursor, "-created_at")) == 2
    with pytest.raises(InvalidInput):
        decode_cursor(cursor, "created_at")


async def test_a_signed_cursor_with_values_of_the_wrong_type_is_422(client, auth):
    # Signed by us, but its values do not fit the sort's columns (a datetime and a UUID).
    for keys in (["2026-01-01", "not-a-uuid"], [1, 2], [{"t": "n", "v": "1"}, str(uuid.uuid4())]):
        cursor = encode_cursor("-created_at", keys)
        response = await client.get("/api/v1/customers", params={"cursor": cursor}, headers=auth("admin"))
        assert response.status_code == 422, (keys, response.text)
        assert response.json()["code"] == "pagination.invalid_cursor"


async def test_next_cursor_still_pages_through_a_list(client, auth):
    first = await client.get("/api/v1/users", params={"limit": 2}, headers=auth("admin"))
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    assert cursor and "." in cursor
    second = await client.get("/api/v1/users", params={"limit": 2, "cursor": cursor}, headers=auth("admin"))
    assert second.status_code == 200, second.text
    ids = {u["id"] for u in first.json()["items"]} & {u["id"] for u in second.json()["items"]}
    assert not ids


def test_the_cursor_is_documented_as_signed_and_bound_to_the_sort():
    document = create_app().state.openapi_document("v1")
    parameters = document["paths"]["/api/v1/customers"]["get"]["parameters"]
    cursor = next(p for p in parameters if p["name"] == "cursor")
    assert "signed" in cursor["description"] and "sort" in cursor["description"]
    assert "another list" in cursor["description"]
