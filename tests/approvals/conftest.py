"""Helpers for approval tests: flows built through the API, expenses submitted by demo users."""

from decimal import Decimal
from typing import Any

import pytest

from app.org.repository import load_principal


def role_rule(org, code: str, *, any_company: bool = False) -> dict[str, Any]:
    return {"kind": "role_any_company" if any_company else "role_in_company", "role_id": str(org.roles[code].id)}


def users_rule(org, *usernames: str) -> dict[str, Any]:
    return {"kind": "users", "user_ids": [str(org.users[u].id) for u in usernames]}


def seed_steps(org) -> list[dict[str, Any]]:
    """Seed 000: L1 approver, L2 approver, a final level above 50 000 by the administrators."""
    return [
        {"name": "L1", "rule": role_rule(org, "approver_l1")},
        {"name": "L2", "rule": role_rule(org, "approver_l2")},
        {"name": "final", "rule": {"kind": "administrators"}, "condition": "amount > 50000"},
    ]


@pytest.fixture
def make_flow(client, auth, org):
    async def make(steps: list[dict[str, Any]], *, company: str | None = None,
                   request_type: str = "expense") -> dict[str, Any]:
        body: dict[str, Any] = {"request_type": request_type, "name": "test flow", "steps": steps}
        if company:
            body["company_id"] = str(org.companies[company].id)
        response = await client.post("/api/v1/approval-flows", json=body, headers=auth("admin"))
        assert response.status_code == 201, response.text
        return response.json()

    return make


@pytest.fixture
def submit_expense(client, auth):
    """Create an expense as `user` and submit it; answers (expense, approval detail)."""

    async def submit(amount: str = "2000.00", user: str = "sales1", **extra: Any) -> tuple[dict, dict]:
        created = await client.post("/api/v1/expense-requests", headers=auth(user),
                                    json={"title": "差旅", "amount": amount, "category": "travel", **extra})
        assert created.status_code == 201, created.text
        expense_id = created.json()["id"]
        submitted = await client.post(f"/api/v1/expense-requests/{expense_id}/submit", headers=auth(user))
        assert submitted.status_code == 200, submitted.text
        approval = await client.get(f"/api/v1/approvals/{submitted.json()['approval_id']}", headers=auth(user))
        assert approval.status_code == 200, approval.text
        return submitted.json(), approval.json()

    return submit


@pytest.fixture
def act(client, auth):
    async def call(user: str, approval_id: str, verb: str, body: dict | None = None, **headers: str):
        return await client.post(f"/api/v1/approvals/{approval_id}/{verb}", json=body,
                                 headers=auth(user, **headers))

    return call


@pytest.fixture
def principal_of(db, org):
    async def load(username: str):
        return await load_principal(db, org.users[username].id)

    return load


def money(value: str) -> Decimal:
    return Decimal(value)
