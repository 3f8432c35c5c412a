"""The first consumer: expense requests (CRUD, offline ids, scope, editing rules)."""

import uuid

from tests.conftest import new_id


async def test_create_read_update_delete_a_draft(client, auth, org):
    created = await client.post("/api/v1/expense-requests", headers=auth("sales1"),
                                json={"title": "油费", "amount": "123.4", "category": "travel"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["amount"] == "123.40" and body["status"] == "draft" and body["approval_id"] is None
    assert body["company_id"] == str(org.companies["C01"].id)
    url = f"/api/v1/expense-requests/{body['id']}"
    etag = created.headers["etag"]
    stale = await client.patch(url, json={"title": "x"}, headers=auth("sales1", **{"If-Match": 'W/"7"'}))
    assert stale.status_code == 412
    updated = await client.patch(url, json={"amount": "200"}, headers=auth("sales1", **{"If-Match": etag}))
    assert updated.status_code == 200 and updated.json()["amount"] == "200.00"
    assert (await client.patch(url, json={"amount": "1"}, headers=auth("sales2"))).status_code == 404
    listed = await client.get("/api/v1/expense-requests", params={"mine": True}, headers=auth("sales1"))
    assert [e["id"] for e in listed.json()["items"]] == [body["id"]]
    assert (await client.delete(url, headers=auth("sales1"))).status_code == 204
    assert (await client.get(url, headers=auth("sales1"))).status_code == 404


async def test_a_repeated_client_id_returns_the_first_record(client, auth):
    ref = new_id()
    first = await client.post("/api/v1/expense-requests", headers=auth("collector1"),
                              json={"client_ref": ref, "title": "拖车费", "amount": "800.00"})
    again = await client.post("/api/v1/expense-requests", headers=auth("collector1"),
                              json={"client_ref": ref, "title": "拖车费", "amount": "800.00"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["client_ref"] == ref
    assert again.headers["location"] == f"/api/v1/expense-requests/{first.json()['id']}"


async def test_a_client_id_used_by_somebody_else_is_indistinguishable_from_a_free_one(client, auth):
    """Another tenant's (or colleague's) client id must not be revealed: the upload is answered
    exactly as for an id nobody used (201, a record of one's own), never 409."""
    ref = new_id()
    theirs = await client.post("/api/v1/expense-requests", headers=auth("other-admin"),
                               json={"client_ref": ref, "title": "x", "amount": "1"})
    assert theirs.status_code == 201, theirs.text
    results = {}
    for who, used_ref in (("collector2", ref), ("collector1", ref), ("dispatcher", new_id())):
        response = await client.post("/api/v1/expense-requests", headers=auth(who),
                                     json={"client_ref": used_ref, "title": "x", "amount": "1"})
        results[who] = response
        assert response.status_code == 201, (who, response.text)
        assert response.json()["client_ref"] == used_ref and response.json()["id"] != theirs.json()["id"]
    assert set(results["collector2"].json()) == set(results["dispatcher"].json())
    # The other tenant's record is untouched and still theirs alone.
    url = f"/api/v1/expense-requests/{theirs.json()['id']}"
    assert (await client.get(url, headers=auth("collector2"))).status_code == 404
    assert (await client.get(url, headers=auth("other-admin"))).json()["title"] == "x"


async def test_the_old_id_field_is_refused_rather_than_silently_ignored(client, auth):
    response = await client.post("/api/v1/expense-requests", headers=auth("collector1"),
                                 json={"id": new_id(), "title": "x", "amount": "1"})
    assert response.status_code == 422


async def test_invalid_amounts_are_refused(client, auth):
    for amount in ("0", "-1", "1.234", "abc", "1e30"):
        response = await client.post("/api/v1/expense-requests", headers=auth("sales1"),
                                     json={"title": "x", "amount": amount})
        assert response.status_code == 422, (amount, response.text)


async def test_scope_of_expenses(client, auth, org):
    created = (await client.post("/api/v1/expense-requests", headers=auth("sales1"),
                                 json={"title": "x", "amount": "10"})).json()
    url = f"/api/v1/expense-requests/{created['id']}"
    seen = {u: (await client.get(url, headers=auth(u))).status_code
            for u in ("sales1", "approver1", "leader", "sales2", "collector3", "other-admin")}
    assert seen == {"sales1": 200, "approver1": 200, "leader": 200, "sales2": 404, "collector3": 404,
                    "other-admin": 404}
    # visible is not changeable: only the requester edits or submits
    assert (await client.post(f"{url}/submit", headers=auth("dispatcher"))).status_code == 403


async def test_only_a_draft_is_deleted_and_an_approved_request_is_final(client, auth, org, make_flow, act):
    await make_flow([{"name": "L1", "rule": {"kind": "users", "user_ids": [str(org.users["approver1"].id)]}}])
    created = (await client.post("/api/v1/expense-requests", headers=auth("sales1"),
                                 json={"title": "x", "amount": "10"})).json()
    url = f"/api/v1/expense-requests/{created['id']}"
    submitted = (await client.post(f"{url}/submit", headers=auth("sales1"))).json()
    assert submitted["status"] == "pending"
    assert (await client.post(f"{url}/submit", headers=auth("sales1"))).status_code == 409
    assert (await client.delete(url, headers=auth("sales1"))).status_code == 409
    await act("approver1", submitted["approval_id"], "approve")
    for attempt in (client.patch(url, json={"title": "y"}, headers=auth("sales1")),
                    client.post(f"{url}/submit", headers=auth("sales1")),
                    client.post(f"{url}/withdraw", headers=auth("sales1"))):
        assert (await attempt).status_code == 409


async def test_two_concurrent_uploads_of_one_client_id_make_one_record(org):
    """The phone retries while its first upload is still running: both answers carry the same
    record, created once (the loser of the unique-constraint race returns the winner's row)."""
    import asyncio
    from decimal import Decimal

    from sqlalchemy import delete, func, select

    from app.core import db as core_db
    from app.expenses import service
    from app.expenses.models import ExpenseRequest
    from app.expenses.schemas import ExpenseCreate
    from app.org.repository import load_principal

    ref = uuid.uuid4()
    started = asyncio.Event()

    async def upload() -> tuple[uuid.UUID, bool]:
        async with core_db.session_factory()() as session:
            principal = await load_principal(session, org.users["collector1"].id)
            result = await service.create(session, principal, ExpenseCreate(client_ref=ref, title="拖车费",
                                                                            amount=Decimal("800")))
            if not started.is_set():
                started.set()
                await asyncio.sleep(0.2)  # hold the first insert uncommitted while the second runs
            expense_id, created = result[0].id, result[1]
            await session.commit()  # no audit hooks: nothing to clean up beyond the rows
            return expense_id, created

    try:
        outcomes = await asyncio.gather(upload(), upload())
        assert outcomes[0][0] == outcomes[1][0]
        assert sorted(created for _, created in outcomes) == [False, True]
        async with core_db.session_factory()() as session:
            assert await session.scalar(select(func.count()).select_from(ExpenseRequest)
                                        .where(ExpenseRequest.client_ref == ref)) == 1
    finally:
        async with core_db.session_factory()() as session:
            await session.execute(delete(ExpenseRequest).where(ExpenseRequest.client_ref == ref))
            await session.commit()
