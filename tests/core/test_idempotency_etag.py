"""Idempotency-Key replays and conflicts; ETag / If-Match."""

from sqlalchemy import func, select

from app.org.models import Company


async def test_same_key_and_body_replays_the_first_response_and_creates_once(client, auth, db, org):
    headers = auth("admin", **{"Idempotency-Key": "create-c10"})
    body = {"code": "C10", "name": "华东机械扬州公司"}
    first = await client.post("/api/v1/companies", json=body, headers=headers)
    second = await client.post("/api/v1/companies", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    count = await db.scalar(select(func.count()).select_from(Company).where(Company.code == "C10"))
    assert count == 1


async def test_same_key_with_a_different_body_is_a_409(client, auth):
    headers = auth("admin", **{"Idempotency-Key": "create-c11"})
    await client.post("/api/v1/companies", json={"code": "C11", "name": "A"}, headers=headers)
    again = await client.post("/api/v1/companies", json={"code": "C11", "name": "B"}, headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "idempotency.key_reused"


async def test_keys_are_per_caller(client, auth, org, db):
    from app.org.models import UserPermission

    db.add(UserPermission(user_id=org.users["approver2"].id, permission="company.manage", granted=True))
    await db.flush()
    first = await client.post("/api/v1/companies", json={"code": "C12", "name": "A"},
                              headers=auth("admin", **{"Idempotency-Key": "shared"}))
    other = await client.post("/api/v1/companies", json={"code": "C13", "name": "B"},
                              headers=auth("approver2", **{"Idempotency-Key": "shared"}))
    assert first.status_code == 201
    # approver2's scope is one company: creating companies needs group scope (403), not a replay of admin's.
    assert other.status_code == 403


async def test_failed_request_is_not_stored_so_a_corrected_retry_works(client, auth):
    headers = auth("admin", **{"Idempotency-Key": "retry-after-fix"})
    dup = await client.post("/api/v1/companies", json={"code": "C01", "name": "dup"}, headers=headers)
    assert dup.status_code == 409
    fixed = await client.post("/api/v1/companies", json={"code": "C01", "name": "dup"}, headers=headers)
    assert fixed.status_code == 409  # still the same conflict, computed afresh, not replayed
    assert "idempotent-replayed" not in fixed.headers


async def test_get_returns_an_etag_and_stale_if_match_gets_412(client, auth, org):
    url = f"/api/v1/companies/{org.companies['C02'].id}"
    etag = (await client.get(url, headers=auth("admin"))).headers["etag"]
    ok = await client.patch(url, json={"name": "新名称"}, headers=auth("admin", **{"If-Match": etag}))
    assert ok.status_code == 200
    assert ok.headers["etag"] != etag
    stale = await client.patch(url, json={"name": "又一个"}, headers=auth("admin", **{"If-Match": etag}))
    assert stale.status_code == 412
    assert stale.json()["code"] == "resource.stale"


async def test_state_change_with_stale_if_match_gets_412(client, auth, org):
    url = f"/api/v1/users/{org.users['collector1'].id}"
    etag = (await client.get(url, headers=auth("admin"))).headers["etag"]
    await client.patch(url, json={"display_name": "x"}, headers=auth("admin"))
    locked = await client.post(url + "/lock", headers=auth("admin", **{"If-Match": etag}))
    assert locked.status_code == 412


async def test_whitespace_around_an_idempotency_key_is_not_part_of_it(client, auth):
    body = {"code": "C14", "name": "华东机械泰州公司"}
    first = await client.post("/api/v1/companies", json=body, headers=auth("admin", **{"Idempotency-Key": "k-14"}))
    again = await client.post("/api/v1/companies", json=body,
                              headers=auth("admin", **{"Idempotency-Key": "k-14 \t"}))
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"


async def test_an_if_match_list_may_hold_tabs_between_its_tags(client, auth, org):
    company_id = org.companies["C01"].id
    current = await client.get(f"/api/v1/companies/{company_id}", headers=auth("admin"))
    listed = f'W/"999",\t {current.headers["etag"]} \t'
    response = await client.patch(f"/api/v1/companies/{company_id}", json={"name": "华东机械上海公司"},
                                  headers=auth("admin", **{"If-Match": listed}))
    assert response.status_code == 200, response.text
    stale = await client.patch(f"/api/v1/companies/{company_id}", json={"name": "x"},
                               headers=auth("admin", **{"If-Match": 'W/"999"\t,\t"998"'}))
    assert stale.status_code == 412 and stale.json()["code"] == "resource.stale"
