"""Lock and unlock requests: filed on a machine with a GPS device of a contract in reach, the
pending-promise hold on a lock (lifted by an override reason), the unlock form's latest payment,
drafts, filters, and scoping (another tenant's or an out-of-scope command is 404, like a missing one)."""

import uuid

from tests.collection.log_fixtures import log_body
from tests.devices.conftest import COMMANDS, LOCKS, UNLOCKS


async def test_a_pending_promise_holds_a_lock_unless_an_override_reason_is_given(client, auth, machine_case):
    mc = await machine_case()
    promised = await client.post(mc.case.logs, headers=auth("collector1"), json=log_body(
        result="promised", promise={"amount": "1000", "date": "2026-02-15"}))
    assert promised.status_code == 201, promised.text
    body = {"contract_id": mc.contract_id, "machine_id": mc.machine_id, "reason": "失联", "submit": True}
    held = await client.post(LOCKS, json=body, headers=auth("collector1"))
    assert held.status_code == 409, held.text
    assert held.json()["code"] == "promise.hold"
    assert (await client.get(LOCKS, headers=auth("collector1"))).json()["items"] == []
    overridden = await client.post(LOCKS, json={**body, "override_reason": "客户正在转移设备"},
                                   headers=auth("collector1"))
    assert overridden.status_code == 201, overridden.text
    assert overridden.json()["status"] == "pending"
    unlock = await client.post(UNLOCKS, json=body, headers=auth("collector1"))  # the hold is for locks only
    assert unlock.status_code == 201, unlock.text


async def test_the_unlock_form_and_request_show_the_latest_payment(client, auth, machine_case):
    mc = await machine_case()
    form_url = f"/api/v1/contracts/{mc.contract_id}/unlock-request-form"
    empty = await client.get(form_url, headers=auth("collector1"))
    assert empty.status_code == 200, empty.text
    assert empty.json()["latest_payment"] is None
    assert empty.json()["machines"][0]["lock_state"] == "unlocked"
    for reference, amount in (("U-1", "1000.00"), ("U-2", "2500.00")):
        paid = await client.post(f"/api/v1/contracts/{mc.contract_id}/payments", headers=auth("clerk1"), json={
            "amount": amount, "value_date": "2026-02-10", "method": "bank_transfer", "reference": reference})
        assert paid.status_code == 201, paid.text
    form = (await client.get(f"/api/mobile/v1/contracts/{mc.contract_id}/unlock-request-form",
                             headers=auth("collector1"))).json()
    assert form["latest_payment"]["amount"] == "2500.00"
    created = await client.post(f"/api/mobile/v1{UNLOCKS.removeprefix('/api/v1')}", headers=auth("collector1"),
                                json={"contract_id": mc.contract_id, "machine_id": mc.machine_id, "reason": "已还款"})
    assert created.status_code == 201, created.text
    assert created.json()["payment_amount"] == "2500.00" and created.json()["status"] == "draft"
    assert created.json()["payment_entry_id"] == form["latest_payment"]["entry_id"]


async def test_a_machine_not_of_the_contract_or_a_contract_out_of_reach_is_refused(client, auth, machine_case):
    mc = await machine_case()
    wrong = await client.post(LOCKS, headers=auth("collector1"), json={
        "contract_id": mc.contract_id, "machine_id": str(uuid.uuid4()), "reason": "x"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "device.machine_not_of_contract"
    for user in ("collector3", "other-admin"):  # C02's collector; another tenant
        form = await client.get(f"/api/v1/contracts/{mc.contract_id}/unlock-request-form", headers=auth(user))
        assert form.status_code in (403, 404), (user, form.text)
    outside = await client.post(UNLOCKS, headers=auth("collector3"), json={
        "contract_id": mc.contract_id, "machine_id": mc.machine_id, "reason": "x"})
    assert outside.status_code == 404


async def test_drafts_are_edited_submitted_and_listed_with_filters(client, auth, org, machine_case):
    mc = await machine_case()
    draft = await client.post(LOCKS, headers=auth("collector1"), json={
        "contract_id": mc.contract_id, "machine_id": mc.machine_id, "reason": "逾期"})
    assert draft.status_code == 201, draft.text
    url = f"{LOCKS}/{draft.json()['id']}"
    assert (await client.patch(url, json={"reason": "逾期90天"}, headers=auth("collector1"))).status_code == 200
    submitted = await client.post(f"{url}/submit", headers=auth("collector1"))
    assert submitted.json()["status"] == "pending" and submitted.json()["reason"] == "逾期90天"
    assert (await client.patch(url, json={"reason": "x"}, headers=auth("collector1"))).status_code == 409
    listed = await client.get(LOCKS, headers=auth("approver1"), params={
        "status": "pending", "contract_id": mc.contract_id, "machine_id": mc.machine_id,
        "requester_id": str(org.users["collector1"].id)})
    assert [r["id"] for r in listed.json()["items"]] == [draft.json()["id"]]
    assert (await client.get(LOCKS, params={"status": "draft"}, headers=auth("approver1"))).json()["items"] == []
    withdrawn = await client.post(f"{url}/withdraw", headers=auth("collector1"))
    assert withdrawn.json()["status"] == "withdrawn"


async def test_commands_are_seen_like_their_contract_and_404_elsewhere(client, auth, machine_case, approved,
                                                                       count_queries):
    mc = await machine_case()
    command = await approved(mc)
    for user in ("collector1", "approver1", "dispatcher", "leader"):
        assert (await client.get(f"{COMMANDS}/{command['id']}", headers=auth(user))).status_code == 200, user
    for user in ("collector3", "other-admin"):
        hidden = await client.get(f"{COMMANDS}/{command['id']}", headers=auth(user))
        assert hidden.status_code == 404, (user, hidden.text)
        assert hidden.json()["code"] == "device_command.not_found"
        assert (await client.get(COMMANDS, headers=auth(user))).json()["items"] == []
    missing = await client.get(f"{COMMANDS}/{uuid.uuid4()}", headers=auth("approver1"))
    assert missing.status_code == 404
    await approved(mc, "unlock")
    async with count_queries() as counted:
        listed = await client.get(COMMANDS, params={"machine_id": mc.machine_id}, headers=auth("approver1"))
    assert len(listed.json()["items"]) == 2
    assert counted.n <= 8, counted.n
