"""Data scope and tenant isolation, seen through the API."""

import pytest

from tests.conftest import new_id


async def _company_codes(client, headers) -> list[str]:
    response = await client.get("/api/v1/companies", headers=headers, params={"limit": 200})
    assert response.status_code == 200, response.text
    return [c["code"] for c in response.json()["items"]]


async def test_leader_sees_exactly_the_seven_companies_given(client, auth):
    assert await _company_codes(client, auth("leader")) == [f"C0{i}" for i in range(1, 8)]


async def test_admin_sees_all_nine_companies_of_the_group(client, auth):
    assert await _company_codes(client, auth("admin")) == [f"C0{i}" for i in range(1, 10)]


async def test_other_group_admin_sees_only_its_own_company(client, auth):
    assert await _company_codes(client, auth("other-admin")) == ["N01"]


@pytest.mark.parametrize("path", ["companies/{company}", "users/{user}", "departments/{department}"])
async def test_other_group_gets_404_for_demo_objects(client, auth, org, path):
    url = "/api/v1/" + path.format(company=org.companies["C01"].id, user=org.users["admin"].id,
                                    department=org.departments[("C01", "sales")].id)
    response = await client.get(url, headers=auth("other-admin"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_leader_gets_404_for_a_company_outside_his_seven(client, auth, org):
    response = await client.get(f"/api/v1/companies/{org.companies['C08'].id}", headers=auth("leader"))
    assert response.status_code == 404


async def test_company_scope_sees_own_company_users_only(client, auth, org):
    # dispatcher: scope company (C01); collector3 lives in C02
    ok = await client.get(f"/api/v1/users/{org.users['collector1'].id}", headers=auth("dispatcher"))
    hidden = await client.get(f"/api/v1/users/{org.users['collector3'].id}", headers=auth("dispatcher"))
    assert (ok.status_code, hidden.status_code) == (200, 404)


async def test_unknown_id_and_out_of_scope_id_answer_alike(client, auth, org):
    missing = await client.get(f"/api/v1/companies/{new_id()}", headers=auth("leader"))
    hidden = await client.get(f"/api/v1/companies/{org.companies['C09'].id}", headers=auth("leader"))
    assert missing.status_code == hidden.status_code == 404
    assert missing.json()["code"] == hidden.json()["code"]
