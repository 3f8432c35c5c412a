"""The case list (the web's worklist and dispatch lists) takes the hot path (app/core/hotsql.py):
what it answers must be exactly what the models would write, page by page, for a collector's
worklist (contacts, full numbers) and a dispatcher's filtered list (no contacts)."""

from sqlalchemy import update

from app.collection import cases as collection_cases
from app.collection import repository as repo
from app.collection.models import CollectionCase
from app.collection.schemas import CaseOut
from app.core.pagination import PageParams, SortKey, paginate
from app.org.repository import load_principal
from tests.collection.log_fixtures import log_body
from tests.field.conftest import MOBILE
from tests.pages import every_page

BY_PRIORITY = SortKey("-priority", CollectionCase.priority, descending=True)


async def _model_pages(db, principal, filters, mine, limit):
    pages, cursor = [], None
    while True:
        page = PageParams(limit, cursor, "/api/v1/collection-cases")  # the list its cursors are bound to
        rows, cursor = await paginate(db, repo.case_rows(principal, filters), page, BY_PRIORITY,
                                      CollectionCase.id, scalars=False)
        contacts = await collection_cases.contact_cards(db, principal, rows) if mine else {}
        items = [collection_cases.case_out(r, contacts.get(r.CollectionCase.id)) for r in rows]
        pages.append({"items": [CaseOut.model_validate(i).model_dump(mode="json") for i in items],
                      "next_cursor": cursor})
        if cursor is None:
            return pages


async def test_the_hot_case_list_answers_exactly_what_the_models_would(client, auth, db, org, open_case):
    mine = [await open_case() for _ in range(3)]
    await open_case(collector="collector2")
    await open_case(collector=None)
    logged = await client.post(f"{MOBILE}/cases/{mine[0].id}/logs", headers=auth("collector1"), json=log_body(
        result="promised", promise={"amount": "880", "date": "2026-02-20"}))
    assert logged.status_code == 201, logged.text
    for n, case in enumerate(mine):
        await db.execute(update(CollectionCase).where(CollectionCase.id == case.id).values(priority=50 * (n // 2)))
    await db.flush()

    collector = await load_principal(db, org.users["collector1"].id)
    worklist = await every_page(client, "/api/v1/collection-cases?assigned_to=me&limit=2", auth("collector1"))
    assert worklist == await _model_pages(db, collector, repo.CaseFilters(collector_id=collector.user_id), True, 2)
    items = [i for p in worklist for i in p["items"]]
    promised = next(i for i in items if i["id"] == str(mine[0].id))
    assert promised["active_promise"]["amount"] == "880.00" and promised["contacts"]

    dispatcher = await load_principal(db, org.users["dispatcher"].id)
    unassigned = await every_page(client, "/api/v1/collection-cases?unassigned=true&limit=1", auth("dispatcher"))
    assert unassigned == await _model_pages(db, dispatcher, repo.CaseFilters(unassigned=True), False, 1)
    assert all(i["collector_id"] is None and i["contacts"] is None for p in unassigned for i in p["items"])
