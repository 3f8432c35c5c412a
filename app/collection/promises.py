"""Promises to pay (承诺还款): judged by the close of business on their date, and the hold they put
on repossession.

Judging (`judge_promises`, called by the close of business): one UPDATE turns every pending promise
due by the day into `kept` when the payments that stand (kind `payment`, not reversed) with value
dates from the promise's creation through its date sum to at least its amount, else `broken`, with
`amount_paid` and `judged_on`. Only pending promises are judged, so a second run finds none: each is
judged exactly once. A broken promise notifies the case's collector and the company's dispatchers
(`case.dispatch`), once per promise (the notification's dedupe key).

The hold (`pending_promise_hold`): while a promise is pending, a new tow or lock request on the
contract needs an explicit override reason (409 `promise.hold` without one)."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.collection import log_queries as q
from app.collection import permissions as P
from app.collection.errors import PromiseHold
from app.collection.repository import promise_event_rows
from app.core import events
from app.notifications.service import notify
from app.org import repository as org_repo


async def judge_promises(session: AsyncSession, day: date, contract_ids: Sequence[uuid.UUID] | None = None, *,
                         company_ids: Sequence[uuid.UUID] | None = None) -> dict[str, int]:
    """Judge the pending promises due by `day` (of `contract_ids`, of `company_ids` when given):
    {"kept": n, "broken": m}."""
    judged = await q.judge(session, day, contract_ids, company_ids)
    broken = [j for j in judged if j.state == "broken"]
    if broken:
        await events.publish_from(session, "promise.broken", promise_event_rows([j.id for j in broken]))
    dispatchers: dict[uuid.UUID, list[uuid.UUID]] = {}
    by_company: dict[tuple[uuid.UUID, uuid.UUID], list[q.Judged]] = defaultdict(list)
    for j in broken:
        by_company[(j.group_id, j.company_id)].append(j)
    for (group_id, company_id), promises in by_company.items():
        dispatchers[company_id] = await org_repo.users_holding_permission(session, group_id, P.CASE_DISPATCH,
                                                                          company_ids=[company_id])
        for j in promises:
            await notify(session, group_id=group_id, user_ids=[j.collector_id, *dispatchers[company_id]],
                         kind="promise.broken", title="还款承诺未兑现 / A promise to pay was broken",
                         body=f"{j.promised_date}: {j.amount_paid} of {j.amount} paid",
                         entity_type="collection_case", entity_id=j.case_id, dedupe_key=f"promise-broken:{j.id}")
    return {"kept": len(judged) - len(broken), "broken": len(broken)}


async def pending_promise_hold(session: AsyncSession, contract_id: uuid.UUID, override_reason: str | None) -> None:
    """409 `promise.hold` when a promise is pending on the contract and no override reason is given."""
    if override_reason is not None and override_reason.strip():
        return
    pending = await q.pending_on_contract(session, contract_id)
    if pending is not None:
        raise PromiseHold(f"A promise to pay {pending.amount} by {pending.promised_date} is pending on this "
                          "contract: give an override reason to request repossession or a lock now.")
