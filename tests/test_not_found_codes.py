"""One not-found convention: `<resource>.not_found` per resource, for a missing id and an
out-of-scope one alike (clients tell resources apart by the code)."""

import uuid

import pytest


@pytest.mark.parametrize(("path", "code"), [
    ("/api/v1/companies/{id}", "company.not_found"),
    ("/api/v1/departments/{id}", "department.not_found"),
    ("/api/v1/roles/{id}", "role.not_found"),
    ("/api/v1/users/{id}", "user.not_found"),
    ("/api/v1/approval-flows/{id}", "approval_flow.not_found"),
    ("/api/v1/approvals/{id}", "approval.not_found"),
    ("/api/v1/expense-requests/{id}", "expense.not_found"),
])
async def test_a_missing_resource_answers_its_own_not_found_code(client, auth, path, code):
    response = await client.get(path.format(id=uuid.uuid4()), headers=auth("admin"))
    assert response.status_code == 404, response.text
    assert response.json()["code"] == code


async def test_another_tenants_user_answers_user_not_found(client, auth, org):
    others = [u for u in org.users.values() if u.group_id == org.other_group.id]
    if not others:
        pytest.skip("the demo has no user in the other group")
    response = await client.get(f"/api/v1/users/{others[0].id}", headers=auth("admin"))
    assert response.status_code == 404
    assert response.json()["code"] == "user.not_found"
