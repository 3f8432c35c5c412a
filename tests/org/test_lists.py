"""The organisation lists filter in the repository: equality on each filter given, `q` on names."""


async def _all(client, auth, path: str, **params: str) -> list[dict]:
    response = await client.get(path, params={"limit": "200", **params}, headers=auth("admin"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_users_filter_by_company_activity_and_name(client, auth, org):
    c01 = str(org.companies["C01"].id)
    in_c01 = await _all(client, auth, "/api/v1/users", company_id=c01)
    assert in_c01 and all(u["company_id"] == c01 for u in in_c01)
    assert len(in_c01) < len(await _all(client, auth, "/api/v1/users"))

    # A LIKE wildcard in `q` is taken literally, and `q` combines with the exact filters.
    assert [u["username"] for u in await _all(client, auth, "/api/v1/users", q="sales1")] == ["sales1"]
    assert await _all(client, auth, "/api/v1/users", q="sales_") == []
    assert await _all(client, auth, "/api/v1/users", q="sales1", is_active="false") == []


async def test_departments_filter_by_company(client, auth, org):
    c01 = str(org.companies["C01"].id)
    departments = await _all(client, auth, "/api/v1/departments", company_id=c01)
    assert departments and all(d["company_id"] == c01 for d in departments)
