"""The authorization matrix: every route of both surfaces, every demo user.

Statically, every route must be authenticated (except the token endpoints) and declare a
permission check (`require(...)`, possibly with no permission = any signed-in user). Dynamically,
each user gets 403 `auth.missing_permission` exactly where they lack a required permission, and
never that where they hold them; without a token, every protected route answers 401.
"""

import re
import uuid
from types import SimpleNamespace

import pytest
from fastapi.routing import APIRoute

from app.core.principal import current_principal
from app.main import create_app

PUBLIC = {f"{surface}/{path}" for surface in ("/api/v1", "/api/mobile/v1")
          for path in ("auth/token", "auth/refresh", "openapi.json", "docs")}
# The GPS gateway's callback has no bearer token: its HMAC signature authenticates it
# (tests/devices/test_callbacks.py refuses forged, stale and replayed ones with 401).
PUBLIC |= {"/api/v1/device-gateway/callbacks"}
# Stock Traccar's forwarding: the configured key in its header authenticates it (tests/devices/test_safety.py).
PUBLIC |= {"/api/v1/device-gateway/traccar/positions", "/api/v1/device-gateway/traccar/events"}
USERS = ["admin", "leader", "dispatcher", "collector1", "collector3", "approver1", "approver2", "sales1", "clerk1",
         "investigator1", "other-admin"]


def _calls(dependant):
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def api_routes():
    app = create_app()
    routes = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/api/")]
    return [(r, m) for r in routes for m in sorted(r.methods)]


def required_permissions(route) -> frozenset[str] | None:
    checks = [c for c in _calls(route.dependant) if hasattr(c, "required_permissions")]
    if not checks:
        return None
    return frozenset().union(*(c.required_permissions for c in checks))


ROUTES = api_routes()
IDS = [f"{m} {r.path}" for r, m in ROUTES]


@pytest.mark.parametrize(("route", "method"), ROUTES, ids=IDS)
def test_every_route_is_authenticated_and_checks_a_permission(route, method):
    if route.path in PUBLIC:
        return
    calls = list(_calls(route.dependant))
    assert current_principal in calls, f"{method} {route.path} has no authentication"
    assert required_permissions(route) is not None, f"{method} {route.path} declares no permission check"


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "approval.read" if m.group(1) in ("permission",) else str(uuid.uuid4()),
                  path)


async def _call(client, method, path, headers):
    kwargs = {"headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return await client.request(method, _concrete(path), **kwargs)


async def test_without_a_token_every_protected_route_answers_401(client):
    for route, method in ROUTES:
        if route.path in PUBLIC:
            continue
        response = await _call(client, method, route.path, {})
        assert response.status_code == 401, f"{method} {route.path}: {response.status_code}"


@pytest.mark.parametrize("username", USERS)
async def test_each_user_is_refused_exactly_where_a_permission_is_missing(client, org, auth, username):
    # The user's permissions as the app itself computes them.
    granted = set((await client.get("/api/v1/me", headers=auth(username))).json()["permissions"])
    wrong = []
    for route, method in ROUTES:
        needed = required_permissions(route)
        if route.path in PUBLIC or needed is None:
            continue
        response = await _call(client, method, route.path, auth(username))
        is_problem = response.headers.get("content-type") == "application/problem+json"
        code = response.json().get("code") if is_problem else None
        refused = response.status_code == 403 and code == "auth.missing_permission"
        lacking = not needed <= granted
        if refused != lacking:
            wrong.append(f"{method} {route.path}: {response.status_code} {code} (lacks={lacking})")
    assert not wrong, "\n".join(wrong)



async def test_no_route_lets_one_group_read_or_command_a_device_bound_in_another(client, auth):
    """Another group's administrator can neither bind the demo group's GPS device to a machine of
    their own, nor read its machine or position, nor file or see a command toward it, on either surface."""
    made = await client.post("/api/v1/machines", headers=auth("clerk1"),
                             json={"model": "SY215C", "serial_number": "OURS-1", "gps_device_id": "GPS-OURS-0001"})
    assert made.status_code == 201, made.text
    machine = SimpleNamespace(id=made.json()["id"], gps_device_id="GPS-OURS-0001", contract_id=uuid.uuid4())
    other = auth("other-admin")
    taken = await client.post("/api/v1/machines", headers=other,
                              json={"model": "X", "serial_number": "THEIRS-1", "gps_device_id": machine.gps_device_id})
    assert taken.status_code == 409 and taken.json()["code"] == "machine.device_taken"
    assert (await client.get(f"/api/v1/machines/{machine.id}", headers=other)).status_code == 404
    body = {"contract_id": str(machine.contract_id), "machine_id": str(machine.id), "reason": "跨集团锁机尝试"}
    for url in ("/api/v1/lock-requests", "/api/v1/unlock-requests", "/api/mobile/v1/lock-requests",
                "/api/mobile/v1/requests/lock"):
        answer = await client.post(url, headers=other, json={**body, "client_ref": str(uuid.uuid4())}
                                   if url.endswith("/requests/lock") else body)
        assert answer.status_code == 404, (url, answer.status_code, answer.text)
    form = await client.get(f"/api/v1/contracts/{machine.contract_id}/unlock-request-form", headers=other)
    assert form.status_code == 404
    for surface in ("/api/v1", "/api/mobile/v1"):
        commands = await client.get(f"{surface}/device-commands", params={"machine_id": str(machine.id)},
                                    headers=other)
        assert commands.status_code == 200 and commands.json()["items"] == []
