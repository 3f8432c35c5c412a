"""The worklist and the notifications take the hot path (app/core/hotsql.py): statements compiled
once, rows serialised without models. What the phone receives must be exactly what the models
would have written: the same fields, the same text (money with two decimals, UTC times with `Z`),
the same cursors."""

from sqlalchemy import update

from app.collection.models import CollectionCase
from app.core.pagination import PageParams, paginate
from app.field import repository as repo
from app.field import views
from app.field.router import BY_PRIORITY
from app.field.schemas import FieldCase
from app.notifications.models import Notification
from app.notifications.router import NEWEST_FIRST, NotificationOut, _mine
from app.notifications.service import notify
from app.org.repository import load_principal
from tests.collection.log_fixtures import log_body
from tests.field.conftest import MOBILE
from tests.pages import every_page


async def _model_pages(db, principal, limit):
    """The worklist as the model path writes it (paginate + FieldCase), page by page."""
    pages, cursor = [], None
    while True:
        page = PageParams(limit, cursor, f"{MOBILE}/worklist")  # the list its cursors are bound to
        rows, cursor = await paginate(db, repo.my_cases(principal), page, BY_PRIORITY, CollectionCase.id,
                                      scalars=False)
        items = await views.cases_out(db, principal, rows, contacts=True)
        pages.append({"items": [FieldCase.model_validate(i).model_dump(mode="json") for i in items],
                      "next_cursor": cursor})
        if cursor is None:
            return pages


async def test_the_hot_worklist_answers_exactly_what_the_models_would_page_by_page(client, auth, db, org,
                                                                                     open_case):
    cases = [await open_case() for _ in range(4)]
    await open_case(collector="collector2")  # not mine
    logged = await client.post(f"{MOBILE}/cases/{cases[0].id}/logs", headers=auth("collector1"), json=log_body(
        result="promised", promise={"amount": "1200.5", "date": "2026-02-20"}))
    assert logged.status_code == 201, logged.text
    for n, case in enumerate(cases):  # ties in priority: the id breaks them, across pages too
        await db.execute(update(CollectionCase).where(CollectionCase.id == case.id).values(priority=100 * (n // 2)))
    await db.flush()
    principal = await load_principal(db, org.users["collector1"].id)

    expected = await _model_pages(db, principal, 2)
    got = await every_page(client, f"{MOBILE}/worklist?limit=2", auth("collector1"))
    assert got == expected
    items = [i for page in got for i in page["items"]]
    assert len(items) >= 4 and {str(c.id) for c in cases} <= {i["id"] for i in items}
    first = next(i for i in items if i["id"] == str(cases[0].id))
    assert first["active_promise"]["amount"] == "1200.50" and first["last_log"]["id"] == logged.json()["id"]
    assert first["contacts"] and not any(c["masked"] for c in first["contacts"])


async def test_a_forged_worklist_cursor_is_422_on_the_hot_path(client, auth, open_case):
    await open_case()
    response = await client.get(f"{MOBILE}/worklist?cursor=abc.def", headers=auth("collector1"))
    assert response.status_code == 422 and response.json()["code"] == "pagination.invalid_cursor"


async def test_hot_notifications_answer_exactly_what_the_models_would(client, auth, db, org):
    user = org.users["clerk1"]
    for n in range(3):
        await notify(db, user_ids=[user.id], group_id=org.group.id, kind="demo.test", title=f"第{n}条",
                     body=None if n else "正文", entity_type="case", entity_id=str(n))
    await db.flush()
    principal = await load_principal(db, user.id)
    for unread in (None, True):
        suffix = "" if unread is None else "&unread=true"
        cursor, pages = None, 0
        while True:
            rows, model_cursor = await paginate(
                db, _mine(principal) if unread is None else _mine(principal).where(Notification.read_at.is_(None)),
                PageParams(2, cursor, "/api/v1/notifications"), NEWEST_FIRST, Notification.id)
            query = f"?limit=2{suffix}" + (f"&cursor={cursor}" if cursor else "")
            response = await client.get(f"/api/v1/notifications{query}", headers=auth("clerk1"))
            assert response.status_code == 200, response.text
            assert response.json() == {"items": [NotificationOut.model_validate(r).model_dump(mode="json")
                                                 for r in rows], "next_cursor": model_cursor}
            cursor, pages = model_cursor, pages + 1
            if cursor is None:
                break
        assert pages >= 2


async def test_the_worklist_runs_the_same_statements_with_more_cases_logs_and_contacts(client, auth, open_case,
                                                                                      count_queries):
    async def statements() -> int:
        await client.get(f"{MOBILE}/worklist", headers=auth("collector1"))  # warm-up
        async with count_queries() as counted:
            response = await client.get(f"{MOBILE}/worklist", headers=auth("collector1"))
        assert response.status_code == 200, response.text
        return counted.n

    first = await open_case()
    few = await statements()
    for _ in range(5):
        case = await open_case()
        for _ in range(3):
            assert (await client.post(f"{MOBILE}/cases/{case.id}/logs", headers=auth("collector1"),
                                      json=log_body())).status_code == 201
    assert (await client.post(f"{MOBILE}/cases/{first.id}/logs", headers=auth("collector1"),
                              json=log_body())).status_code == 201
    assert await statements() == few <= 6  # savepoint and its release (tests), stamp, page, last logs, contacts
