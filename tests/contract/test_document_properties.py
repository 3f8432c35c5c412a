"""What generated clients rely on in the committed documents (app/api/openapi.py derives it), and the
422 for a malformed id in a path. No Node here: scripts/check-clients generates and runs the clients."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from app.api.examples import CREATE_OPERATIONS, EXTRA_PROBLEMS
from app.api.openapi import TAG_DESCRIPTIONS
from app.core.config import PROJECT_ROOT

# Operations without a bearer token: the token endpoints, and the GPS gateway's callback (its HMAC
# signature authenticates it; tests/devices/test_callbacks.py).
# The gateway callbacks carry no bearer token: a signature, or the forwarding key (their descriptions).
PUBLIC_PATHS = ("/auth/token", "/auth/refresh", "/device-gateway/callbacks", "/device-gateway/traccar/positions",
                "/device-gateway/traccar/events")

PROBLEM = "application/problem+json"
DOCS = {name: json.loads((PROJECT_ROOT / "openapi" / name).read_text()) for name in ("v1.json", "mobile-v1.json")}


def operations() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for name, doc in DOCS.items():
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                yield name, path, method, op


def _params(op: dict[str, Any]) -> set[str]:
    return {p.get("name") or p["$ref"].rsplit("/", 1)[1] for p in op.get("parameters", [])}


def test_problems_are_documented_once_as_problem_json():
    for name, path, method, op in operations():
        for status, response in op["responses"].items():
            if status[0] in "45":
                assert set(response.get("content", {})) == {PROBLEM}, f"{name} {method} {path} {status}"
                assert response["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
            if status in ("429", "503"):
                assert "Retry-After" in response.get("headers", {}), f"{name} {method} {path} {status}"
        assert "503" in op["responses"], f"{name} {method} {path}: a database outage answers 503"


def test_problems_are_per_operation():
    for name, path, method, op in operations():
        statuses = set(op["responses"])
        where = f"{name} {method} {path}"
        if path.endswith("/me"):
            assert not statuses & {"404", "409", "412", "413", "422"}, where
        if method == "get":
            assert not statuses & {"412", "413"}, where
            # A read conflicts with nothing, except a resource that does not exist in the record's
            # state, declared one by one (a contract's receivable before its shipment).
            assert "409" not in statuses or 409 in EXTRA_PROBLEMS.get(op["operationId"], ()), where
        assert ("412" in statuses) == ("IfMatch" in _params(op)), where
        if "{" not in path and "requestBody" not in op:
            assert "404" not in statuses, where
        secured = op.get("security") != []
        assert ("401" in statuses) == secured or path.endswith(PUBLIC_PATHS), where


def test_public_operations_say_so():
    for name, path, method, op in operations():
        if path.endswith(PUBLIC_PATHS):
            assert op["security"] == [], f"{name} {path}"
        else:
            assert op["security"] == [{"OAuth2PasswordBearer": []}], f"{name} {method} {path}"


def test_headers_are_documented():
    for name, path, method, op in operations():
        where = f"{name} {method} {path}"
        success = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        if "Idempotency-Key" in _params(op):
            assert all("Idempotent-Replayed" in r.get("headers", {}) for r in success.values()), where
        if method == "get" and "{" in path and path.rsplit("/", 1)[1].startswith("{"):
            assert "ETag" in success["200"].get("headers", {}), where
        if "IfMatch" in _params(op) and "200" in success:
            assert "ETag" in success["200"].get("headers", {}) or path.endswith("/release"), where
    created = DOCS["v1.json"]["paths"]["/api/v1/customers"]["post"]["responses"]["201"]["headers"]
    assert {"ETag", "Location", "Idempotent-Replayed"} <= set(created)


def test_creating_operations_have_a_description_and_examples():
    for name, path, method, op in operations():
        if method != "post" or "201" not in op["responses"]:
            continue
        where = f"{name} {path}"
        assert op.get("description"), where
        content = op["requestBody"]["content"]
        if "application/json" in content:
            assert content["application/json"].get("examples"), where


def test_examples_are_valid_bodies(app):
    routes = {r.operation_id: r for r in app.routes if isinstance(r, APIRoute)}
    for operation_id, (_, examples) in CREATE_OPERATIONS.items():
        route = routes[operation_id]
        assert route.body_field is not None, operation_id
        adapter = TypeAdapter(route.body_field.field_info.annotation)
        for example in examples.values():
            adapter.validate_python(example["value"])


def test_a_replayed_create_answers_the_same_body():
    responses = DOCS["v1.json"]["paths"]["/api/v1/expense-requests"]["post"]["responses"]
    assert responses["200"]["content"] == responses["201"]["content"]


def test_files_are_binary():
    schemas = DOCS["v1.json"]["components"]["schemas"]
    assert schemas["Body_import_customers"]["properties"]["file"]["format"] == "binary"
    paths = DOCS["v1.json"]["paths"]
    for path in ("/api/v1/customers/export", "/api/v1/customers/import-template"):
        for media_type, content in paths[path]["get"]["responses"]["200"]["content"].items():
            assert content["schema"]["format"] == "binary", (path, media_type)
            assert content["schema"]["contentMediaType"] == media_type


def test_pages_always_carry_next_cursor():
    for name, doc in DOCS.items():
        pages = [s for s in doc["components"]["schemas"].values() if set(s.get("properties", {})) ==
                 {"items", "next_cursor"}]
        assert pages, name
        for schema in pages:
            assert set(schema["required"]) == {"items", "next_cursor"}, schema["title"]


def test_tags_are_declared_and_described():
    for name, doc in DOCS.items():
        declared = {t["name"]: t.get("description") for t in doc["tags"]}
        used = {t for doc_name, _, _, op in operations() if doc_name == name for t in op.get("tags", [])}
        assert used == set(declared), name
        for tag in used:
            assert tag in TAG_DESCRIPTIONS, f"describe tag {tag!r} in app/api/openapi.py TAG_DESCRIPTIONS"


@pytest.mark.parametrize("path", ["/api/v1/customers/not-a-uuid", "/api/v1/approvals/123",
                                  "/api/mobile/v1/approvals/xyz"])
async def test_a_malformed_id_in_a_path_is_a_422_with_a_pointer(client, auth, path):
    response = await client.get(path, headers=auth("admin"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    pointer = "/path/" + ("customer_id" if "customers" in path else "approval_id")
    assert [e["pointer"] for e in response.json()["errors"]] == [pointer]


async def test_a_malformed_id_still_needs_a_token(client):
    assert (await client.get("/api/v1/customers/not-a-uuid")).status_code == 401


async def test_static_siblings_keep_their_own_routes(client, auth):
    response = await client.get("/api/v1/customers/assign", headers=auth("admin"))
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert (await client.get("/api/v1/customers/pool", headers=auth("admin"))).status_code == 200
    response = await client.get(f"/api/v1/customers/{uuid.uuid4()}", headers=auth("admin"))
    assert response.status_code == 404


async def test_a_malformed_id_with_another_method_is_a_422_for_that_method(client, auth):
    response = await client.patch("/api/v1/customers/nope", json={"name": "x"}, headers=auth("admin"))
    assert response.status_code == 422
    assert "/path/customer_id" in [e["pointer"] for e in response.json()["errors"]]


async def test_another_method_at_a_malformed_id_is_a_405_naming_the_methods(client, auth):
    response = await client.put("/api/v1/customers/nope", json={}, headers=auth("admin"))
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    assert response.headers["content-type"].startswith(PROBLEM)


def _inline_enums(node: Any) -> Iterator[tuple[str, ...]]:
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list) and len(node["enum"]) > 1:
            yield tuple(node["enum"])
        for value in node.values():
            yield from _inline_enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from _inline_enums(value)


def test_enums_used_in_several_places_are_named_schemas():
    for name, doc in DOCS.items():
        places = [*_inline_enums(doc["paths"]),
                  *(e for s in doc["components"]["schemas"].values() if "enum" not in s for e in _inline_enums(s))]
        assert not {values for values in places if places.count(values) > 1}, name
    assert DOCS["v1.json"]["components"]["schemas"]["CustomerCategory"]["enum"][0] == "intended"


def test_optional_query_and_header_parameters_are_not_nullable():
    for name, path, method, op in operations():
        for param in op.get("parameters", []):
            if param.get("in") in ("query", "header"):
                assert {"type": "null"} not in param["schema"].get("anyOf", []), (name, method, path, param["name"])


def test_numeric_bounds_use_json_schema_names():
    """Spectral/Redocly (and generated clients) know minimum/maximum, not pydantic's ge/le."""
    def walk(node):
        if isinstance(node, dict):
            assert not ({"ge", "le", "gt", "lt"} & set(node)) or "type" not in node, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for doc in DOCS.values():
        walk(doc["components"]["schemas"])
        walk(doc["paths"])


def test_patch_fields_backed_by_not_null_columns_are_not_documented_nullable():
    """An explicit null on such a field answers 422 (request.field_not_nullable): the document
    must not promise it, while a nullable column (a user's department) stays nullable."""
    schemas = DOCS["v1.json"]["components"]["schemas"]
    assert "anyOf" not in schemas["CompanyUpdate"]["properties"]["name"]
    assert "anyOf" not in schemas["CustomerUpdate"]["properties"]["name"]
    assert "anyOf" not in schemas["ExpenseUpdate"]["properties"]["title"]
    department = schemas["UserUpdate"]["properties"]["department_id"]
    assert {"type": "null"} in department.get("anyOf", [])
