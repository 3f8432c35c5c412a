"""The README's "A day in the field", step by step on the demo data: log in on the phone, sync,
upload a photo and log a visit with it (retried as after a lost answer), file a waiver, and after
the dispatcher reassigns the case, sync again: it is gone."""

import uuid
from datetime import timedelta
from decimal import Decimal

from app.attachments.demo import sample_photo
from app.collection.demo import seed_collections
from app.contracts.demo import seed_contracts
from app.core import clock
from app.customers.demo import seed_customers
from app.demo.seed import DEMO_PASSWORD
from app.devices.demo import default_flows
from app.field.demo import seed_field
from app.ledger.demo import seed_ledger
from app.org.repository import load_principal
from tests.attachments.helpers import upload
from tests.field.conftest import MOBILE


async def test_a_day_in_the_field(client, db, org, auth):
    for seed in (seed_customers, seed_contracts, seed_ledger, seed_collections, seed_field):
        await seed(db, org)
    await default_flows(db, org, await load_principal(db, org.users["admin"].id))  # what approves the phone's

    login = await client.post(f"{MOBILE}/auth/token", data={"username": "collector1", "password": DEMO_PASSWORD})
    assert login.status_code == 200, login.text
    phone = {"Authorization": f"Bearer {login.json()['access_token']}"}

    first = (await client.get(f"{MOBILE}/sync", headers=phone)).json()
    cases = first["changes"]["cases"]["upserted"]
    assert cases and first["changes"]["customers"]["upserted"] and first["changes"]["notifications"]["upserted"]
    # The most urgent case with a penalty to waive (a waiver above the unpaid penalty is refused).
    penalties = {c["id"]: Decimal((await client.get(f"/api/v1/contracts/{c['contract_id']}/interest-waiver-form",
                                                    headers=auth("collector1"))).json()["unpaid_penalty"])
                 for c in cases}
    case = max((c for c in cases if penalties[c["id"]] >= 1), key=lambda c: c["priority"])

    photo = str(uuid.uuid4())
    uploaded = await upload(client, phone, sample_photo(), attachment_id=photo, path=f"{MOBILE}/attachments")
    assert uploaded.status_code == 201, uploaded.text
    visit = {"id": str(uuid.uuid4()), "person": {"name": "李工", "relation": "工地负责人"}, "action": "visit",
             "result": "promised", "notes": "客户称月底回款", "attachment_ids": [photo],
             "occurred_at": (clock.now() - timedelta(minutes=5)).isoformat()}
    sent = [await client.post(f"{MOBILE}/cases/{case['id']}/logs", headers=phone, json=visit) for _ in range(2)]
    assert [s.status_code for s in sent] == [201, 200], sent[0].text

    waiver = await client.post(f"{MOBILE}/requests/interest-waiver", headers=phone, json={
        "client_ref": str(uuid.uuid4()), "contract_id": case["contract_id"], "amount": "1.00",
        "reason": "客户已承诺月底还清逾期, 申请减免部分罚息"})
    assert waiver.status_code == 201 and waiver.json()["status"] == "pending", waiver.text

    middle = (await client.get(f"{MOBILE}/sync", params={"cursor": first["cursor"]}, headers=phone)).json()
    assert [log["id"] for log in middle["changes"]["logs"]["upserted"]] == [visit["id"]]
    assert [r["id"] for r in middle["changes"]["requests"]["upserted"]] == [waiver.json()["id"]]

    moved = await client.post("/api/v1/collection-cases/assign", headers=auth("dispatcher"), json={
        "case_ids": [case["id"]], "collector_id": str(org.users["collector2"].id), "reason": "区域调整"})
    assert moved.status_code == 200, moved.text
    last = (await client.get(f"{MOBILE}/sync", params={"cursor": middle["cursor"]}, headers=phone)).json()
    assert last["changes"]["cases"]["deleted"] == [case["id"]]
    worklist = (await client.get(f"{MOBILE}/worklist", headers=phone)).json()["items"]
    assert case["id"] not in [c["id"] for c in worklist]
