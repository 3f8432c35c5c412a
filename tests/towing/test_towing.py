"""Tow request → approval → tow task → assignment → registration (charge, repossession, yard position)."""

import uuid
from decimal import Decimal

from sqlalchemy import select

from app.collection.models import CollectionCase
from app.contracts.models import Contract, Machine
from app.ledger.models import LedgerAccount, LedgerEntry
from app.ledger.verify import verify
from app.towing import service
from app.towing.models import TowTask
from tests.collection.log_fixtures import at, log_body, uploaded

REQUESTS = "/api/v1/tow-requests"
TASKS = "/api/v1/tow-tasks"
REGISTRATIONS = "/api/v1/tow-registrations"
MOBILE = "/api/mobile/v1"
PARTS = ("exterior", "engine", "hydraulics", "undercarriage_tyres", "cab", "attachments", "keys")


async def machine_of(client, auth, contract_id) -> str:
    contract = (await client.get(f"/api/v1/contracts/{contract_id}", headers=auth("clerk1"))).json()
    return contract["machines"][0]["id"]


async def request_body(client, auth, case, **extra) -> dict:
    return {"contract_id": str(case.contract_id), "machine_id": await machine_of(client, auth, case.contract_id),
            "reason": "连续逾期, 客户失联", "location": "常州市武进区某工地", "latitude": 31.7, "longitude": 119.9,
            **extra}


def registration_body(task_id: str, photo_ids: list[str], **extra) -> dict:
    return {"task_id": task_id, "towed_at": at(11, 9), "place": "常州市武进区某工地", "latitude": 31.7,
            "longitude": 119.9, "yard": "常州停车场", "yard_latitude": 31.781234, "yard_longitude": 119.954321,
            "hour_meter": 5230.5,
            "condition": {p: {"state": "ok"} for p in PARTS} | {"cab": {"state": "damaged", "note": "玻璃裂"}},
            "photo_ids": photo_ids, "cost": "3500.00", **extra}


async def approved_task(client, auth, act, case, tow_flow) -> dict:
    await tow_flow()
    created = await client.post(REQUESTS, json=await request_body(client, auth, case, submit=True),
                                headers=auth("collector1"))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending"
    assert (await act("approver1", created.json()["approval_id"], "approve", {})).status_code == 200
    tasks = (await client.get(TASKS, params={"contract_id": str(case.contract_id)}, headers=auth("dispatcher"))).json()
    assert [t["state"] for t in tasks["items"]] == ["open"]
    assert tasks["items"][0]["request_id"] == created.json()["id"]
    return tasks["items"][0]


async def test_a_pending_promise_holds_the_request_unless_an_override_reason_is_given(client, auth, open_case,
                                                                                     tow_flow):
    case = await open_case()
    await tow_flow()
    promised = await client.post(case.logs, headers=auth("collector1"), json=log_body(
        result="promised", promise={"amount": "1000", "date": "2026-02-15"}))
    assert promised.status_code == 201, promised.text
    held = await client.post(REQUESTS, json=await request_body(client, auth, case, submit=True),
                             headers=auth("collector1"))
    assert held.status_code == 409, held.text
    assert held.json()["code"] == "promise.hold"
    assert (await client.get(REQUESTS, headers=auth("collector1"))).json()["items"] == []  # nothing kept
    overridden = await client.post(REQUESTS, headers=auth("collector1"), json=await request_body(
        client, auth, case, submit=True, override_reason="客户正在转移设备"))
    assert overridden.status_code == 201, overridden.text
    assert overridden.json()["status"] == "pending"


async def test_a_draft_is_edited_then_submitted_and_listed_with_filters(client, auth, open_case, tow_flow, org):
    case = await open_case()
    await tow_flow()
    draft = await client.post(REQUESTS, json=await request_body(client, auth, case), headers=auth("collector1"))
    assert draft.status_code == 201, draft.text
    url = f"{REQUESTS}/{draft.json()['id']}"
    assert draft.json()["status"] == "draft"
    patched = await client.patch(url, json={"location": "常州市新北区"}, headers=auth("collector1"))
    assert patched.status_code == 200, patched.text
    submitted = await client.post(f"{url}/submit", headers=auth("collector1"))
    assert submitted.json()["status"] == "pending"
    locked = await client.patch(url, json={"location": "别处"}, headers=auth("collector1"))
    assert locked.status_code == 409
    mine = await client.get(REQUESTS, params={"status": "pending", "contract_id": str(case.contract_id),
                                              "requester_id": str(org.users["collector1"].id)},
                            headers=auth("approver1"))
    assert [r["id"] for r in mine.json()["items"]] == [draft.json()["id"]]
    none = await client.get(REQUESTS, params={"status": "draft"}, headers=auth("approver1"))
    assert none.json()["items"] == []


async def test_registration_charges_the_cost_repossesses_and_moves_the_machine_to_the_yard(
        client, auth, db, act, open_case, tow_flow, org):
    case = await open_case()
    task = await approved_task(client, auth, act, case, tow_flow)
    assigned = await client.post(f"{TASKS}/{task['id']}/assign", json={"assignee_id": str(org.users["collector1"].id)},
                                 headers=auth("dispatcher"))
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["state"] == "assigned"
    mine = await client.get(f"{MOBILE}/tow-tasks", params={"mine": "true"}, headers=auth("collector1"))
    assert [t["id"] for t in mine.json()["items"]] == [task["id"]]
    assert (await client.get(TASKS, params={"mine": "true"}, headers=auth("dispatcher"))).json()["items"] == []
    payoff_before = (await db.get(LedgerAccount, case.contract_id, populate_existing=True)).payoff

    no_photo = await client.post(REGISTRATIONS, json=registration_body(task["id"], []), headers=auth("collector1"))
    assert no_photo.status_code == 422
    photo = await uploaded(client, auth)
    registered = await client.post(f"{MOBILE}/tow-registrations", json=registration_body(task["id"], [photo]),
                                   headers=auth("collector1"))  # from the phone
    assert registered.status_code == 201, registered.text
    assert registered.json()["condition"]["cab"] == {"state": "damaged", "note": "玻璃裂"}

    charge = await db.scalar(select(LedgerEntry).where(LedgerEntry.contract_id == case.contract_id,
                                                       LedgerEntry.charge_kind == "tow"))
    assert charge is not None and charge.amount == Decimal("3500.00")
    assert str(charge.id) == registered.json()["charge_entry_id"]
    account = await db.get(LedgerAccount, case.contract_id, populate_existing=True)
    assert account.payoff == payoff_before + Decimal("3500.00")
    assert (await verify(db, org.group.id)).ok  # stored figures == the replay of the entries, repossessed too
    contract = await db.get(Contract, case.contract_id, populate_existing=True)
    assert contract.state == "repossessed"
    machine = await db.get(Machine, uuid.UUID(task["machine_id"]), populate_existing=True)
    assert (machine.last_latitude, machine.last_longitude) == (Decimal("31.781234"), Decimal("119.954321"))
    assert (await db.get(CollectionCase, case.id, populate_existing=True)).state == "open"
    assert (await client.get(f"{TASKS}/{task['id']}", headers=auth("collector1"))).json()["state"] == "registered"
    photo_meta = await client.get(f"/api/v1/attachments/{photo}", headers=auth("dispatcher"))
    assert photo_meta.status_code == 200  # the registration's reader: readable to its company's scope

    again = await client.post(REGISTRATIONS, json=registration_body(task["id"], [await uploaded(client, auth)]),
                              headers=auth("collector1"))
    assert again.status_code == 409
    assert again.json()["code"] == "tow_task.already_registered"


async def test_a_task_whose_contract_is_settled_first_is_cancelled(client, auth, db, act, open_case, tow_flow):
    case = await open_case()
    task = await approved_task(client, auth, act, case, tow_flow)
    assert await service.cancel_tasks_of_contract(db, case.contract_id, "contract settled") == 1
    assert await service.cancel_tasks_of_contract(db, case.contract_id, "contract settled") == 0
    row = await db.get(TowTask, uuid.UUID(task["id"]), populate_existing=True)
    assert (row.state, row.cancel_reason) == ("cancelled", "contract settled")
    late = await client.post(REGISTRATIONS, json=registration_body(task["id"], [await uploaded(client, auth)]),
                             headers=auth("admin"))
    assert late.status_code == 409
    assert late.json()["code"] == "tow_task.closed"


async def test_scope_and_permissions(client, auth, act, open_case, tow_flow, org):
    case = await open_case()
    body = await request_body(client, auth, case)
    # collector2 holds no case of the contract and its scope is their own records: like missing.
    foreign = await client.post(REQUESTS, json=body, headers=auth("collector2"))
    assert foreign.status_code == 404
    assert (await client.post(REQUESTS, json=body, headers=auth("sales1"))).status_code == 403
    other_machine = await client.post(REQUESTS, json={**body, "machine_id": str(uuid.uuid4())},
                                      headers=auth("collector1"))
    assert other_machine.status_code == 422
    task = await approved_task(client, auth, act, case, tow_flow)
    assert (await client.get(f"{TASKS}/{task['id']}", headers=auth("collector3"))).status_code == 404
    assert (await client.get(f"{TASKS}/{task['id']}", headers=auth("collector2"))).status_code == 404
    not_a_collector = await client.post(f"{TASKS}/{task['id']}/assign", headers=auth("dispatcher"),
                                        json={"assignee_id": str(org.users["sales1"].id)})
    assert not_a_collector.status_code == 422
    outside = await client.post(f"{TASKS}/{task['id']}/assign", headers=auth("dispatcher"),
                                json={"towing_company": "常州顺达拖车"})
    assert outside.json()["towing_company"] == "常州顺达拖车"
    assert (await client.post(f"{TASKS}/{task['id']}/assign", headers=auth("collector1"),
                              json={"towing_company": "x"})).status_code == 403
    unassigned = await client.post(REGISTRATIONS, json=registration_body(task["id"], [await uploaded(client, auth)]),
                                   headers=auth("collector2"))
    assert unassigned.status_code == 404
