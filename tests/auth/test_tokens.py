"""Access tokens, refresh rotation, lockout."""

import base64
import json

import pytest
from jose import jwt

from app.core import clock
from app.core.config import get_settings
from app.demo.seed import DEMO_PASSWORD


async def login(client, username, password=DEMO_PASSWORD, surface="/api/v1"):
    return await client.post(f"{surface}/auth/token", data={"username": username, "password": password})


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _claims(org, username, **overrides):
    settings = get_settings()
    now = int(clock.timestamp())
    user = org.users[username]
    claims = {"sub": str(user.id), "grp": str(user.group_id), "iss": settings.jwt_issuer,
              "aud": settings.jwt_audience, "iat": now, "nbf": now, "exp": now + 600, "jti": "x", "typ": "access"}
    claims.update(overrides)
    return claims


@pytest.mark.parametrize("surface", ["/api/v1", "/api/mobile/v1"])
async def test_login_returns_tokens_usable_for_me(client, surface):
    response = await login(client, "collector1", surface=surface)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    me = await client.get(f"{surface}/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "collector1"


async def test_access_token_carries_the_required_claims(client):
    token = (await login(client, "sales1")).json()["access_token"]
    claims = jwt.get_unverified_claims(token)
    assert {"sub", "iss", "aud", "iat", "exp", "jti", "grp"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900


async def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    wrong = await login(client, "sales1", "nope-nope")
    unknown = await login(client, "nobody-at-all", "nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: {k: v for k, v in r.json().items() if k not in ("request_id",)}  # noqa: E731
    assert strip(wrong) == strip(unknown)


async def test_expired_token_is_refused(client, org):
    settings = get_settings()
    past = int(clock.timestamp()) - 3600
    token = jwt.encode(_claims(org, "admin", iat=past, nbf=past, exp=past + 60), settings.signing_key(), "HS256")
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["code"] == "auth.invalid_token"


async def test_forged_signature_is_refused(client, org):
    token = jwt.encode(_claims(org, "admin"), "some-other-secret-entirely-xxxxxxxxxxxx", "HS256")
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_alg_none_is_refused(client, org):
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(org, 'admin'))}."
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_token_for_another_audience_is_refused(client, org):
    token = jwt.encode(_claims(org, "admin", aud="someone-else"), get_settings().signing_key(), "HS256")
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize("claim", ["aud", "iss", "exp", "iat", "jti", "sub"])
async def test_token_without_a_required_claim_is_refused(client, org, claim):
    claims = _claims(org, "admin")
    del claims[claim]
    token = jwt.encode(claims, get_settings().signing_key(), "HS256")
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["code"] == "auth.invalid_token"


@pytest.mark.parametrize("claims", [{"sub": 12}, {"grp": None}, {"aud": ""}, {"jti": ""}])
async def test_token_with_malformed_claims_is_401_not_500(client, org, claims):
    token = jwt.encode(_claims(org, "admin", **claims), get_settings().signing_key(), "HS256")
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_missing_token_is_401_problem(client):
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_refresh_rotates_and_old_token_is_spent(client):
    first = (await login(client, "sales1")).json()
    second = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]


async def test_reusing_a_refresh_token_revokes_the_whole_family(client):
    first = (await login(client, "sales1")).json()
    second = (await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    reuse = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "auth.refresh_token_reused"
    # The legitimate newest token of that family is now dead too.
    after = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401


async def test_logout_revokes_the_family(client):
    tokens = (await login(client, "sales1")).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]},
                              headers=headers)).status_code == 204
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


async def test_locked_user_cannot_refresh(client, auth, org):
    tokens = (await login(client, "collector2")).json()
    assert (await client.post(f"/api/v1/users/{org.users['collector2'].id}/lock",
                              headers=auth("admin"))).status_code == 200
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401


async def test_disabling_a_user_revokes_refresh_tokens(client, auth, org):
    tokens = (await login(client, "collector2")).json()
    user_id = org.users["collector2"].id
    response = await client.patch(f"/api/v1/users/{user_id}", json={"is_active": False}, headers=auth("admin"))
    assert response.status_code == 200, response.text
    assert (await client.post("/api/v1/auth/refresh",
                              json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    # Answered like a wrong password: the response never tells whether the password was right.
    refused = await login(client, "collector2")
    assert refused.status_code == 401 and refused.json()["code"] == "auth.invalid_credentials"


async def test_me_reports_permissions_and_scope(client, auth, org):
    body = (await client.get("/api/v1/me", headers=auth("leader"))).json()
    assert body["company"]["code"] == "C01"
    assert body["scope"]["kinds"] == ["companies"]
    assert len(body["scope"]["company_ids"]) == 7
    # Reads, and approval at shipment for his seven companies (seed 000).
    assert all(p.endswith(".read") or p == "approval.approve" for p in body["permissions"])
