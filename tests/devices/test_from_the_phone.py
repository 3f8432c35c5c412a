"""Lock and unlock requests filed from the phone (`POST /api/mobile/v1/requests/lock|unlock`): created
and submitted in one call, retry-safe by the phone's UUID, listed among my requests, and synced."""

import uuid

from tests.collection.log_fixtures import log_body

MOBILE = "/api/mobile/v1"


async def test_a_lock_filed_from_the_phone_is_submitted_once_and_reaches_the_sync(client, auth, machine_case):
    mc = await machine_case()
    phone = auth("collector1")
    snapshot = await client.get(f"{MOBILE}/sync", headers=phone)
    assert snapshot.status_code == 200, snapshot.text
    while snapshot.json()["has_more"]:
        snapshot = await client.get(f"{MOBILE}/sync", headers=phone, params={"cursor": snapshot.json()["cursor"]})
    body = {"client_ref": str(uuid.uuid4()), "contract_id": mc.contract_id, "machine_id": mc.machine_id,
            "reason": "失联三周, 申请锁机"}
    first = await client.post(f"{MOBILE}/requests/lock", headers=phone, json=body)
    again = await client.post(f"{MOBILE}/requests/lock", headers=phone, json=body)
    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]  # the retry, not a second lock
    assert first.json()["status"] == "pending" and first.json()["kind"] == "lock"

    mine = await client.get(f"{MOBILE}/requests", headers=phone)
    assert [r["id"] for r in mine.json()["items"] if r["kind"] == "lock"] == [first.json()["id"]]
    changed = await client.get(f"{MOBILE}/sync", headers=phone, params={"cursor": snapshot.json()["cursor"]})
    assert first.json()["id"] in {r["id"] for r in changed.json()["changes"]["requests"]["upserted"]}

    unlock = await client.post(f"{MOBILE}/requests/unlock", headers=phone, json={
        **body, "client_ref": str(uuid.uuid4()), "reason": "已还款, 申请开机"})
    assert unlock.status_code == 201 and unlock.json()["kind"] == "unlock", unlock.text


async def test_a_lock_from_the_phone_keeps_the_pending_promise_hold(client, auth, machine_case):
    mc = await machine_case()
    promised = await client.post(mc.case.logs, headers=auth("collector1"), json=log_body(
        result="promised", promise={"amount": "1000", "date": "2026-02-15"}))
    assert promised.status_code == 201, promised.text
    body = {"client_ref": str(uuid.uuid4()), "contract_id": mc.contract_id, "machine_id": mc.machine_id,
            "reason": "失联"}
    held = await client.post(f"{MOBILE}/requests/lock", headers=auth("collector1"), json=body)
    assert held.status_code == 409 and held.json()["code"] == "promise.hold", held.text
    overridden = await client.post(f"{MOBILE}/requests/lock", headers=auth("collector1"),
                                   json={**body, "override_reason": "客户正在转移设备"})
    assert overridden.status_code == 201 and overridden.json()["status"] == "pending", overridden.text
