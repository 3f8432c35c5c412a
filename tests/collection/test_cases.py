"""Collection cases: the close of business opens and closes them, dispatch assigns them (with
history), the worklist shows a collector their own open cases by priority with full numbers of the
contacts to call, scope decides who sees what."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Numeric, String, func, literal, select

from app.collection import cob
from app.collection.models import CaseAssignment, CollectionCase
from app.collection.priority import priority, priority_sql
from app.contracts.models import Contract
from app.ledger import cob as ledger_cob
from app.ledger import service as ledger
from app.org.repository import load_principal

D = Decimal
CASES = "/api/v1/collection-cases"


async def test_the_close_of_business_opens_one_case_per_overdue_contract_and_closes_it_when_cured(
        db, org, overdue_case, business_date):
    case = await overdue_case()
    assert (case.state, case.opened_on, case.collector_id) == ("open", date(2026, 2, 10), None)
    contract = await db.get(Contract, case.contract_id)
    await cob.day_closed(db, date(2026, 2, 10), [contract.company_id])  # again: still one open case
    assert await db.scalar(select(func.count()).where(CollectionCase.contract_id == contract.id)) == 1
    clerk = await load_principal(db, org.users["clerk1"].id)
    await ledger.record_payment(db, clerk, contract, amount=D("34588.67"), value_date=date(2026, 2, 10),
                                method="bank_transfer")
    await cob.day_closed(db, date(2026, 2, 10), [contract.company_id])
    closed = await db.get(CollectionCase, case.id, populate_existing=True)
    assert (closed.state, closed.outcome, closed.closed_on) == ("closed", "cured", date(2026, 2, 10))
    # Overdue again at the next instalment: a new case, linked to the previous one.
    await business_date(date(2026, 3, 5))
    await ledger.resync(db, contract)
    await cob.day_closed(db, date(2026, 3, 5), [contract.company_id])
    reopened = await db.scalar(select(CollectionCase).where(CollectionCase.contract_id == contract.id,
                                                            CollectionCase.state == "open"))
    assert reopened.previous_case_id == case.id and reopened.opened_on == date(2026, 3, 5)


async def test_assignment_keeps_history_and_moves_the_case_between_worklists_at_once(
        client, auth, db, org, overdue_case):
    case = await overdue_case()
    body = {"case_ids": [str(case.id)], "collector_id": str(org.users["collector1"].id), "reason": "片区"}
    assigned = await client.post(f"{CASES}/assign", json=body, headers=auth("dispatcher"))
    assert assigned.status_code == 200, assigned.text
    assert [c["case_id"] for c in assigned.json()["changed"]] == [str(case.id)]
    worklist = await client.get(CASES, params={"assigned_to": "me"}, headers=auth("collector1"))
    (item,) = worklist.json()["items"]
    assert item["id"] == str(case.id) and item["contacts"] and not item["contacts"][0]["masked"]
    assert (item["dpd"], item["bucket"], item["overdue_amount"]) == (10, "M1", "34588.67")

    moved = await client.post(f"{CASES}/assign", headers=auth("dispatcher"), json={
        **body, "collector_id": str(org.users["collector2"].id), "reason": "调整"})
    assert moved.status_code == 200
    assert (await client.get(CASES, params={"assigned_to": "me"}, headers=auth("collector1"))).json()["items"] == []
    gone = await client.get(f"{CASES}/{case.id}", headers=auth("collector1"))
    assert gone.status_code == 404 and gone.json()["code"] == "case.not_found"
    history = (await client.get(f"{CASES}/{case.id}/assignments", headers=auth("dispatcher"))).json()
    assert [(h["from_collector_id"], h["to_collector_id"], h["reason"]) for h in history] == [
        (None, str(org.users["collector1"].id), "片区"),
        (str(org.users["collector1"].id), str(org.users["collector2"].id), "调整")]
    # The dispatcher sees the case, but the contacts' numbers stay masked for them.
    detail = (await client.get(f"{CASES}/{case.id}", headers=auth("dispatcher"))).json()
    assert detail["contacts"][0]["masked"] is True


async def test_assigning_to_somebody_who_is_not_a_collector_of_the_company_is_refused(
        client, auth, org, overdue_case):
    case = await overdue_case()
    for user in ("collector3", "sales1"):  # C02's collector; C01 but not a collector
        response = await client.post(f"{CASES}/assign", headers=auth("dispatcher"), json={
            "case_ids": [str(case.id)], "collector_id": str(org.users[user].id)})
        assert response.status_code == 422 and response.json()["code"] == "case.invalid_collector"
    refused = await client.post(f"{CASES}/assign", headers=auth("collector1"), json={
        "case_ids": [str(case.id)], "collector_id": str(org.users["collector1"].id)})
    assert refused.status_code == 403


async def test_auto_assign_preview_is_what_it_does(client, auth, db, org, overdue_case):
    made = [await overdue_case(), await overdue_case(date(2026, 3, 10)), await overdue_case()]
    company = str(org.companies["C01"].id)
    preview = await client.post(f"{CASES}/auto-assign", json={"company_id": company, "dry_run": True},
                                headers=auth("dispatcher"))
    assert preview.status_code == 200, preview.text
    plan = preview.json()["plan"]
    assert {p["case_id"] for p in plan} >= {str(c.id) for c in made}
    assert await db.scalar(select(func.count()).select_from(CaseAssignment)) == 0
    done = await client.post(f"{CASES}/auto-assign", json={"company_id": company, "dry_run": False},
                             headers=auth("dispatcher"))
    assert done.json()["plan"] == plan
    collectors = {p["to_collector_id"] for p in plan}
    assert collectors <= {str(org.users["collector1"].id), str(org.users["collector2"].id)}
    assert len(collectors) == min(2, len(plan))  # spread: the least loaded collector takes the next case
    held = await db.scalars(select(CollectionCase.collector_id).where(CollectionCase.id.in_([c.id for c in made])))
    assert {str(c) for c in held} <= collectors


async def test_scope_collectors_see_their_own_the_leader_c01_to_c07_another_tenant_nothing(
        client, auth, org, overdue_case):
    case = await overdue_case()
    await client.post(f"{CASES}/assign", headers=auth("dispatcher"), json={
        "case_ids": [str(case.id)], "collector_id": str(org.users["collector1"].id)})
    for user, sees in (("collector1", True), ("collector2", False), ("collector3", False), ("leader", True),
                       ("dispatcher", True), ("other-admin", False)):
        listed = await client.get(CASES, headers=auth(user))
        assert (str(case.id) in [c["id"] for c in listed.json()["items"]]) is sees, user
        single = await client.get(f"{CASES}/{case.id}", headers=auth(user))
        assert single.status_code == (200 if sees else 404), user


async def test_the_worklist_orders_by_the_documented_priority(client, auth, db, org, overdue_case):
    older = await overdue_case(date(2026, 3, 10))  # instalments 1 and 2 overdue: M2
    newer = await overdue_case(date(2026, 2, 10))
    for c in (older, newer):
        await client.post(f"{CASES}/assign", headers=auth("dispatcher"), json={
            "case_ids": [str(c.id)], "collector_id": str(org.users["collector1"].id)})
    items = (await client.get(CASES, params={"assigned_to": "me"}, headers=auth("collector1"))).json()["items"]
    assert [i["id"] for i in items] == [str(older.id), str(newer.id)]
    first = items[0]
    assert first["priority"] == priority(first["bucket"], D(first["overdue_amount"]), 0, 99)


async def test_the_worklist_pages_with_a_cursor(client, auth, db, org, overdue_case):
    """A worklist longer than a page answers a cursor (its rows hold the case whole, not its columns)."""
    older = await overdue_case(date(2026, 3, 10))
    newer = await overdue_case(date(2026, 2, 10))
    await client.post(f"{CASES}/assign", headers=auth("dispatcher"), json={
        "case_ids": [str(older.id), str(newer.id)], "collector_id": str(org.users["collector1"].id)})
    first = await client.get(CASES, params={"assigned_to": "me", "limit": 1}, headers=auth("collector1"))
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    second = (await client.get(CASES, params={"assigned_to": "me", "limit": 1, "cursor": cursor},
                               headers=auth("collector1"))).json()
    assert [first.json()["items"][0]["id"], second["items"][0]["id"]] == [str(older.id), str(newer.id)]
    assert second["next_cursor"] is None


async def test_the_timeline_shows_assignments_and_payments_newest_first(client, auth, db, org, overdue_case):
    case = await overdue_case()
    await client.post(f"{CASES}/assign", headers=auth("dispatcher"), json={
        "case_ids": [str(case.id)], "collector_id": str(org.users["collector1"].id)})
    clerk = await load_principal(db, org.users["clerk1"].id)
    await ledger.record_payment(db, clerk, await db.get(Contract, case.contract_id), amount=D("100.00"),
                                value_date=date(2026, 2, 10), method="cash")
    timeline = await client.get(f"{CASES}/{case.id}/timeline", headers=auth("collector1"))
    assert timeline.status_code == 200, timeline.text
    events = timeline.json()["items"]
    # (In a test everything shares one transaction, whose now() the payment's recorded_at takes.)
    assert sorted(e["kind"] for e in events) == ["assignment", "payment"]
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
    missing = await client.get(f"{CASES}/{uuid.uuid4()}/timeline", headers=auth("collector1"))
    assert missing.status_code == 404


async def test_a_leaving_collectors_open_cases_move_to_the_receiver_with_history(client, auth, db, org,
                                                                                  overdue_case):
    case = await overdue_case()
    await client.post(f"{CASES}/assign", headers=auth("dispatcher"), json={
        "case_ids": [str(case.id)], "collector_id": str(org.users["collector1"].id)})
    response = await client.post("/api/v1/handovers", headers=auth("admin"), json={
        "from_user_id": str(org.users["collector1"].id), "to_user_id": str(org.users["collector2"].id),
        "reason": "离职"})
    assert response.status_code == 201, response.text
    assert response.json()["moved"]["open_collection_cases"] == 1
    mine = await client.get(CASES, params={"assigned_to": "me"}, headers=auth("collector2"))
    assert [c["id"] for c in mine.json()["items"]] == [str(case.id)]
    history = (await client.get(f"{CASES}/{case.id}/assignments", headers=auth("dispatcher"))).json()
    assert history[-1]["reason"] == "handover"


async def test_the_priority_sql_is_the_documented_formula(db):
    today = date(2026, 3, 1)
    for bucket, amount, state, promised, last, flag, days in (
            ("M4+", D("12345678.00"), None, None, None, 0, 99),
            ("M1", D("999.99"), "pending", today, date(2026, 2, 27), 1, 2),
            ("current", D("0"), "broken", None, date(2026, 3, 2), 1, 0),
            ("M2", D("5000"), "pending", date(2026, 3, 2), date(2025, 1, 1), 0, 99)):
        sql = priority_sql(literal(bucket, String), literal(amount, Numeric), literal(state, String),
                           literal(promised, Date), literal(last, Date), today)
        assert await db.scalar(select(sql)) == priority(bucket, amount, flag, days)


async def test_the_ledgers_close_of_business_opens_the_case_even_when_a_payment_brought_the_day_up_to_date(
        db, org, shipped, business_date):
    contract = await db.get(Contract, uuid.UUID((await shipped())["id"]))
    await business_date(date(2026, 2, 3))
    clerk = await load_principal(db, org.users["clerk1"].id)
    # A partial payment on the 3rd syncs the account through the 3rd before any close of business.
    await ledger.record_payment(db, clerk, contract, amount=D("100.00"), value_date=date(2026, 2, 3), method="cash")
    await ledger_cob.close_of_business(db, org.group.id)
    case = await db.scalar(select(CollectionCase).where(CollectionCase.contract_id == contract.id))
    assert case is not None and case.state == "open"
