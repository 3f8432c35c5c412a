"""The field surface's queries: the change log (the sync's watermark), and "mine" for each kind of
record the phone keeps, each starting from the owning area's scoped statement (`readable()`)."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    Uuid,
    bindparam,
    cast,
    column,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import repository as approvals_repo
from app.approvals.requests import RequestStatus
from app.collection import repository as collection_repo
from app.collection.models import CollectionCase, CollectionLog, PromiseToPay
from app.contracts.models import Contract
from app.core import hotsql
from app.core.principal import Principal
from app.core.scoping import readable
from app.customers.models import Customer
from app.field.models import SyncChange
from app.field.requests import FIELD_REQUESTS
from app.ledger.models import LedgerAccount
from app.notifications.models import Notification
from app.towing.models import TowTask

# --- the change log -----------------------------------------------------------------------------

# The snapshot the cursor is cut at, and the newest change of the user it can see. Taken before
# anything else a sync reads, so whatever is read afterwards is at least as new as the cursor says.
_MARK = text("SELECT pg_current_snapshot()::text AS snapshot, "
             "(SELECT coalesce(max(seq), 0) FROM sync_change WHERE user_id = :user_id) AS seq")

# What the cursor (snapshot `s`, sequence `q`) has not delivered, in two parts.
#
# The user's rows (`audience` true): rows past `q`, and rows of transactions `s` could not see
# (still running when the cursor was cut, committed since; their sequence numbers may be older than
# `q`). Below the snapshot's xmin everything was visible. The reading transaction's own writes count
# as seen (a snapshot never lists its own xid as visible, though its statements see those rows); a
# read-only sync has no xid and the clause is void. Index-backed: (user_id, seq) and (user_id, xid).
#
# The records' rows (`audience` false) of the transactions `s` saw running, for the records the
# user receives now (`sync_audience`, the triggers' own definition): such a transaction decided
# its receivers before a reassignment it could not see had committed, so the holder the cursor's
# sync handed the record to may not be among them. Transactions that began after `s` saw every
# reassignment the cursor's sync did (its reads are at `s`: app/field/sync.py) and wrote their rows
# for the holder. Index-backed: the record rows' partial (xid) index, between the snapshot's xmin
# and xmax; few (the transactions running at one moment), sent whole whatever the page size.
_PENDING = text("""
(SELECT seq, kind, entity_id, true AS audience FROM sync_change
 WHERE user_id = :user_id
   AND (seq > :seq
        OR (xid >= pg_snapshot_xmin(CAST(CAST(:snapshot AS text) AS pg_snapshot))::text::bigint
            AND NOT pg_visible_in_snapshot(xid::text::xid8, CAST(CAST(:snapshot AS text) AS pg_snapshot))
            AND xid IS DISTINCT FROM pg_current_xact_id_if_assigned()::text::bigint))
 ORDER BY seq
 LIMIT :limit)
UNION ALL
SELECT NULL, running.kind, mine.entity_id, false
FROM (SELECT kind, array_agg(DISTINCT entity_id) AS ids FROM sync_change
      WHERE user_id IS NULL
        AND xid >= pg_snapshot_xmin(CAST(CAST(:snapshot AS text) AS pg_snapshot))::text::bigint
        AND xid < pg_snapshot_xmax(CAST(CAST(:snapshot AS text) AS pg_snapshot))::text::bigint
        AND NOT pg_visible_in_snapshot(xid::text::xid8, CAST(CAST(:snapshot AS text) AS pg_snapshot))
        AND xid IS DISTINCT FROM pg_current_xact_id_if_assigned()::text::bigint
      GROUP BY kind) running
CROSS JOIN LATERAL sync_audience(running.kind, running.ids) mine
WHERE mine.user_id = :user_id""")


async def mark(session: AsyncSession, user_id: uuid.UUID) -> tuple[str, int]:
    row = (await session.execute(_MARK, {"user_id": user_id})).one()
    return row.snapshot, row.seq


async def pending_changes(session: AsyncSession, user_id: uuid.UUID, snapshot: str, seq: int,
                          limit: int) -> list[Any]:
    """The user's pending rows (at most `limit`, by sequence) and the running transactions' records
    that are the user's now (`audience` false, no sequence)."""
    return list((await session.execute(_PENDING, {"user_id": user_id, "snapshot": snapshot, "seq": seq,
                                                  "limit": limit})).all())


async def purge_changes(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(SyncChange).where(SyncChange.changed_at < before))
    return result.rowcount or 0


# --- mine, by kind --------------------------------------------------------------------------------

def my_cases(principal: Principal) -> Select[Any]:
    """My open cases with their money, names and active promise (collections' worklist rows)."""
    return collection_repo.case_rows(principal, collection_repo.CaseFilters(collector_id=principal.user_id))


def my_customers(principal: Principal) -> Select[Any]:
    """The customers of my open cases: the case is what puts them in my reach."""
    of_my_cases = readable(principal, CollectionCase, CollectionCase.customer_id).where(
        CollectionCase.collector_id == principal.user_id, CollectionCase.state == "open")
    return select(Customer).where(Customer.id.in_(of_my_cases), Customer.group_id == principal.group_id)


def my_logs(principal: Principal, since: datetime | None) -> Select[Any]:
    stmt = readable(principal, CollectionLog).where(CollectionLog.author_id == principal.user_id)
    return stmt if since is None else stmt.where(CollectionLog.occurred_at >= since)


# The worklist's columns for the hot path (views.worklist_items shapes them as FieldCase).
WORKLIST_COLUMNS = (
    CollectionCase.id, CollectionCase.contract_id, Contract.number.label("contract_number"), CollectionCase.customer_id,
    Customer.name.label("customer_name"), LedgerAccount.dpd, LedgerAccount.bucket, LedgerAccount.overdue_amount,
    CollectionCase.priority, CollectionCase.next_action_date, CollectionCase.last_contact_at,
    CollectionCase.collector_id, CollectionCase.state, PromiseToPay.amount.label("promise_amount"),
    PromiseToPay.promised_date.label("promise_date"), PromiseToPay.state.label("promise_state"))


def my_case_columns(principal: Principal) -> Select[Any]:
    """`my_cases` as the worklist's columns."""
    return collection_repo.case_rows(principal, collection_repo.CaseFilters(collector_id=principal.user_id),
                                     *WORKLIST_COLUMNS)


def _last_log_ids(case_ids: Any) -> Select[Any]:
    cases = func.unnest(case_ids).table_valued(column("case_id", Uuid)).render_derived("cases")
    latest = (select(CollectionLog.id).where(CollectionLog.case_id == cases.c.case_id,
                                             CollectionLog.voided_at.is_(None))
              .order_by(CollectionLog.occurred_at.desc(), CollectionLog.id.desc()).limit(1).lateral("latest"))
    return select(latest.c.id).select_from(cases).join(latest, true())


_LAST_LOG_RECORDS = hotsql.Prepared(
    select(CollectionLog.case_id, CollectionLog.id, CollectionLog.action, CollectionLog.result,
           CollectionLog.occurred_at)
    .where(CollectionLog.id.in_(_last_log_ids(cast(bindparam("case_ids", None, type_=ARRAY(Uuid)), ARRAY(Uuid))))))


async def last_log_records(session: AsyncSession, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """`last_logs` as records (case_id, id, action, result, occurred_at), for the hot worklist."""
    if not case_ids:
        return {}
    return {r["case_id"]: r for r in await _LAST_LOG_RECORDS.fetch(session, case_ids=list(case_ids))}


async def last_logs(session: AsyncSession, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CollectionLog]:
    """Each case's latest standing log: one probe per case down (case_id, occurred_at, id), LIMIT 1
    (a DISTINCT ON would read every log of the cases)."""
    if not case_ids:
        return {}
    ids = cast(bindparam("case_ids", list(case_ids), type_=ARRAY(Uuid)), ARRAY(Uuid))
    stmt = select(CollectionLog).where(CollectionLog.id.in_(_last_log_ids(ids)))
    return {log.case_id: log for log in (await session.scalars(stmt))}


def my_requests(principal: Principal, since: datetime | None = None) -> Select[Any]:
    """My requests of every field kind, one row shape (a UNION of the kinds' scoped statements)."""
    parts = []
    for entry in FIELD_REQUESTS.values():
        model = entry.kind.model
        part = readable(principal, model, literal(entry.path).label("kind"), model.id, model.client_ref,
                        model.contract_id, model.status,
                        (entry.amount(model) if entry.amount else null()).label("amount"), model.approval_id,
                        model.created_at, model.submitted_at, model.approved_at
                        ).where(model.requester_id == principal.user_id)
        if since is not None:  # a snapshot: the recent ones, and whatever is still in the works
            part = part.where(or_(model.created_at >= since,
                                  model.status.in_((RequestStatus.DRAFT, RequestStatus.PENDING))))
        parts.append(part)
    return select(union_all(*parts).subquery("my_requests"))


async def my_request(session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> Any:
    stmt = my_requests(principal)
    return (await session.execute(stmt.where(stmt.selected_columns.id == request_id))).one()


def my_tow_tasks(principal: Principal) -> Select[Any]:
    return readable(principal, TowTask).where(TowTask.assignee_id == principal.user_id, TowTask.state == "assigned")


def my_approvals(principal: Principal) -> Select[Any]:
    return approvals_repo.list_statement(principal, waiting_on_me=True, status="pending")


def my_notifications(principal: Principal, since: datetime | None) -> Select[Any]:
    stmt = readable(principal, Notification).where(Notification.user_id == principal.user_id)
    if since is not None:
        stmt = stmt.where(or_(Notification.created_at >= since, Notification.read_at.is_(None)))
    return stmt


def restricted(stmt: Select[Any], keys: Sequence[Any], *, ids: Sequence[uuid.UUID] | None,
               after: tuple[Any, ...] | None, limit: int) -> Select[Any]:
    """`stmt` narrowed to `ids` (an incremental page; the last key is the id), or to the next
    `limit` rows after `after` in `keys` order (a snapshot page, along the index those keys end)."""
    if ids is not None:
        return stmt.where(keys[-1].in_(list(ids)))
    if after is not None:
        stmt = stmt.where(tuple_(*keys) > tuple_(*after))
    return stmt.order_by(*keys).limit(limit)
