"""Collection logs (催收日志): written on the phone, often offline, uploaded later; immutable once
stored (a mistake is voided, never edited).

Offline safety. The log's id is the phone's own UUID and the stored `body` its canonical form
(`canonical_body`): an upload whose id is stored answers the stored log (200) when it is the
caller's own and the body is the same, whatever happened to the first answer (the case closed or
moved since); any other upload of a stored id is a 409 `log.conflicting_retry`. Two uploads racing
serialise on the case's row lock and the insert is `ON CONFLICT (id) DO NOTHING`, so exactly one
log is stored and the other upload reads it back. The id is the table's primary key, so it is
global: another user's upload of a stored id is a 409 whatever its body, which tells them no more
than that the (random, unguessable) id is taken; `app/core/client_ids.py` describes the
per-creator reference that would hide even that, at the price of a second id.

Who may log: the case's collector (`case.collect`), or a dispatcher (`case.dispatch`) whose scope
covers the case. A collector whose case was reassigned while they were offline still gets a log
accepted when it occurred while they held the case (it belongs to the history); later, 409
`case.not_assigned_to_you`. Anybody else who may read the case also gets that 409; whoever may
not read it (and never held it) gets 404, as for a missing case.

A log's effects, in its transaction: the case's last contact, the promise (which supersedes the
case's pending promises made earlier) and the case's priority (app/collection/priority.py).

Voiding: by the author within 24 hours of recording, or by a holder of `log.void` in scope. A
voided log's pending promise is withdrawn (state `superseded`: nothing promised stands on a log
that did not happen as written), the case's active promise is cleared when it was that one, and
the case's last contact becomes that of its logs that stand.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments import service as attachments
from app.attachments.photos import evidence_mismatch
from app.collection import log_queries as q
from app.collection import permissions as P
from app.collection.errors import (
    CaseClosed,
    CaseNotAssignedToYou,
    CaseNotFound,
    LogAlreadyVoided,
    LogBeforeCase,
    LogConflictingRetry,
    LogContactNotOfCustomer,
    LogNotFound,
    LogOccurredInFuture,
    LogPersonRequired,
    LogVoidNotAllowed,
    PromiseInvalid,
)
from app.collection.log_schemas import LogCreate, canonical_body
from app.collection.models import CaseAssignment, CollectionCase, CollectionLog, PromiseToPay
from app.collection.priority import days_since, last_contact_date, priority, promise_flag
from app.core import audit
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.principal import Principal
from app.core.scoping import get_readable
from app.core.updates import audited_update
from app.customers import repository as customers_repo
from app.ledger.calendar import business_today
from app.org import repository as org_repo

CLOCK_SKEW = timedelta(minutes=5)  # how far ahead a phone's clock may run
VOID_WINDOW = timedelta(hours=24)  # the author may void their own log this long after recording it


@dataclass
class Logged:
    log: CollectionLog
    promise: PromiseToPay | None
    created: bool


# --- writing a log ------------------------------------------------------------------------------------

async def create_log(session: AsyncSession, principal: Principal, case_id: uuid.UUID, body: LogCreate) -> Logged:
    canonical = canonical_body(case_id, body)
    stored = await q.log_by_id(session, body.id)
    if stored is not None:
        return await _replay(session, principal, stored, canonical)
    if (body.contact_id is None) == (body.person is None):
        raise LogPersonRequired("Give either contact_id (one of the customer's contacts) or person, not both.",
                                errors=[{"pointer": "/body/contact_id", "message": "contact_id or person"}])
    if body.occurred_at > utcnow() + CLOCK_SKEW:
        raise LogOccurredInFuture("occurred_at is more than 5 minutes ahead of the server's clock.",
                                  errors=[{"pointer": "/body/occurred_at", "message": "in the future"}])
    case = await _case_to_log_on(session, principal, case_id, body.occurred_at)
    if case.state != "open":
        raise CaseClosed("The case is closed: log on the contract's open case.")
    zones = await org_repo.company_zones(session, [case.company_id])
    tz = zones[case.company_id][1]
    if body.occurred_at < datetime.combine(case.opened_on, time.min, tz):
        raise LogBeforeCase(f"The case was opened on {case.opened_on}; the log occurred before.",
                            errors=[{"pointer": "/body/occurred_at", "message": "before the case"}])
    if body.contact_id is not None:
        contacts = await customers_repo.contacts_of_customer(session, case.customer_id)
        if body.contact_id not in {contact.id for contact, _ in contacts}:
            raise LogContactNotOfCustomer("The contact is not one of the case customer's contacts.",
                                          errors=[{"pointer": "/body/contact_id", "message": "not a contact of "
                                                                                             "the customer"}])
    today = await business_today(session, case.company_id)
    # A promise holds tow and lock on the contract while pending: one a year away is no promise.
    latest = today + timedelta(days=get_settings().promise_max_days)
    if body.promise is not None and (body.promise.amount <= 0 or not today <= body.promise.date <= latest):
        raise PromiseInvalid(f"A promise needs an amount above 0 and a date from {today} to {latest}.",
                             errors=[{"pointer": "/body/promise", "message": "amount or date"}])

    inserted = await q.insert_log(session, {
        "id": body.id, "group_id": case.group_id, "company_id": case.company_id, "case_id": case.id,
        "contract_id": case.contract_id, "author_id": principal.user_id, "contact_id": body.contact_id,
        "person_name": body.person.name if body.person else None,
        "person_relation": body.person.relation if body.person else None,
        "action": body.action.value, "result": body.result.value, "notes": body.notes,
        "latitude": body.location.latitude if body.location else None,
        "longitude": body.location.longitude if body.location else None,
        "accuracy_m": body.location.accuracy_m if body.location else None,
        "occurred_at": body.occurred_at, "recorded_at": utcnow(), "attachment_ids": body.attachment_ids,
        "body": canonical, "evidence_mismatch": False})
    log = await q.log_by_id(session, body.id)
    if log is None:  # pragma: no cover - inserted or found: the id's row exists either way
        raise LogNotFound(f"Log {body.id} vanished")
    if not inserted:  # the same id uploaded concurrently, and that upload won
        return await _replay(session, principal, log, canonical)
    # The photos become the log's (only the author's own uploads); one taken more than 2 hours or
    # 500 metres away from the log's own time and place flags it for the dispatcher: this is how a
    # "visit" written at the desk shows.
    photos = await attachments.attach(session, principal, body.attachment_ids, ATTACHMENT_KIND, log.id)
    if any(evidence_mismatch(p.taken_at, p.latitude, p.longitude, log.occurred_at, log.latitude, log.longitude)
           for p in photos):
        log.evidence_mismatch = True

    promise = None
    if body.promise is not None:
        promise = await _promise(session, case, log, amount=body.promise.amount, promised_date=body.promise.date,
                                 today=today)
    last = max(filter(None, (case.last_contact_at, log.occurred_at)))
    await _refresh_case(session, principal, case, tz, today, action="case.contact_logged", last_contact_at=last,
                        active_promise_id=promise.id if promise and promise.state == "pending"
                        else case.active_promise_id)
    audit.record(session, principal, "log.recorded", "collection_log", log.id, company_id=log.company_id,
                 group_id=log.group_id, after={**audit.snapshot(log, "case_id", "contract_id", "author_id",
                                                                 "contact_id", "person_name", "action", "result",
                                                                 "occurred_at", "attachment_ids"),
                                               "promise": audit.snapshot(promise, "id", "amount", "promised_date",
                                                                         "state") if promise else None})
    return Logged(log, promise, created=True)


async def _replay(session: AsyncSession, principal: Principal, stored: CollectionLog,
                  canonical: dict[str, Any]) -> Logged:
    if stored.author_id != principal.user_id or stored.body != canonical:
        raise LogConflictingRetry("A log with this id was already uploaded with another body.")
    return Logged(stored, (await q.promises_of_logs(session, [stored.id])).get(stored.id), created=False)


async def _case_to_log_on(session: AsyncSession, principal: Principal, case_id: uuid.UUID,
                          occurred_at: datetime) -> CollectionCase:
    """The case, locked, if the caller may log on it at `occurred_at`; 409 or 404 otherwise."""
    try:
        case = await get_readable(session, principal, CollectionCase, case_id, for_update=True,
                                  code=CaseNotFound.code)
    except NotFound:
        # Out of scope: only a collector who once held the case may reach it, for the history rule.
        history = await q.assignments_held(session, principal, case_id) if principal.has(P.CASE_COLLECT) else None
        if history is None:
            raise
        case = await q.case_for_update(session, case_id)
        if _holder_at(case, history, occurred_at) != principal.user_id:
            raise CaseNotAssignedToYou("The case was reassigned before this log occurred.") from None
        return case
    if case.collector_id == principal.user_id and principal.has(P.CASE_COLLECT):
        return case
    if principal.has(P.CASE_DISPATCH):
        return case
    if principal.has(P.CASE_COLLECT) and case.collector_id != principal.user_id:
        history = await q.assignments_of(session, case.id)
        if _holder_at(case, history, occurred_at) == principal.user_id:
            return case
    raise CaseNotAssignedToYou("Only the case's collector or a dispatcher may log on it.")


def _holder_at(case: CollectionCase, history: list[CaseAssignment], at: datetime) -> uuid.UUID | None:
    """Who held the case at `at`: the collector the last move before it gave it to; before any move,
    whom the first move took it from; without moves, its collector."""
    before = [a for a in history if a.at <= at]
    if before:
        return before[-1].to_collector_id
    return history[0].from_collector_id if history else case.collector_id


async def _promise(session: AsyncSession, case: CollectionCase, log: CollectionLog, *, amount: Decimal,
                   promised_date: date, today: date) -> PromiseToPay:
    """A pending promise; it supersedes the case's pending promises made earlier. One made earlier
    than a pending one (a log uploaded late) is kept in the history as superseded at once."""
    pending = await q.pending_of_case(session, case.id)
    newer = any(at > log.occurred_at for _, at in pending)
    collector_id = case.collector_id if case.collector_id is not None else log.author_id
    promise = PromiseToPay(id=uuid.uuid4(), group_id=case.group_id, company_id=case.company_id, case_id=case.id,
                           contract_id=case.contract_id, log_id=log.id, collector_id=collector_id, amount=amount,
                           created_on=today, promised_date=promised_date,
                           state="superseded" if newer else "pending")
    await q.supersede(session, [p.id for p, at in pending if at <= log.occurred_at])
    session.add(promise)
    await session.flush()
    return promise


async def _refresh_case(session: AsyncSession, principal: Principal, case: CollectionCase, tz: ZoneInfo,
                        today: date, *, action: str, **changes: Any) -> None:
    """Apply a log's changes to the case and recompute its priority from them."""
    active = await q.promise(session, changes.get("active_promise_id", case.active_promise_id))
    bucket, overdue = await q.account_figures(session, case.contract_id)
    last_on = last_contact_date(changes.get("last_contact_at", case.last_contact_at), tz)
    changes["priority"] = priority(bucket, overdue,
                                   promise_flag(active.state if active else None,
                                                active.promised_date if active else None, today),
                                   days_since(last_on, today))
    await audited_update(session, principal, case, changes, action=action, entity_type="collection_case",
                         company_id=case.company_id)


# --- voiding ------------------------------------------------------------------------------------------

async def void_log(session: AsyncSession, principal: Principal, log: CollectionLog, reason: str) -> Logged:
    """`log` was read in scope by the caller."""
    own = log.author_id == principal.user_id and utcnow() - log.recorded_at <= VOID_WINDOW
    if not (own or principal.has(P.LOG_VOID)):
        raise LogVoidNotAllowed("Only the author within 24 hours of recording, or a dispatcher, may void a log.")
    if log.voided_at is not None:
        raise LogAlreadyVoided(f"The log was voided at {log.voided_at.isoformat()}.")
    case = await q.case_for_update(session, log.case_id)
    log.voided_at, log.voided_by_id, log.void_reason = utcnow(), principal.user_id, reason
    promise = (await q.promises_of_logs(session, [log.id])).get(log.id)
    withdrawn = promise is not None and promise.state == "pending"
    if withdrawn:
        await q.supersede(session, [promise.id])
    await session.flush()
    zones = await org_repo.company_zones(session, [case.company_id])
    today = await business_today(session, case.company_id)
    changes: dict[str, Any] = {"last_contact_at": await q.last_contact(session, case.id)}
    if withdrawn and case.active_promise_id == promise.id:
        changes["active_promise_id"] = None
    await _refresh_case(session, principal, case, zones[case.company_id][1], today, action="case.log_voided",
                        **changes)
    audit.record(session, principal, "log.voided", "collection_log", log.id, company_id=log.company_id,
                 group_id=log.group_id, after={"reason": reason, "promise_withdrawn": promise.id if withdrawn
                                               else None})
    if promise is not None:
        await session.refresh(promise)
    return Logged(log, promise, created=False)


# --- reading --------------------------------------------------------------------------------------------

async def get_log(session: AsyncSession, principal: Principal, log_id: uuid.UUID, *,
                  for_update: bool = False) -> CollectionLog:
    return await get_readable(session, principal, CollectionLog, log_id, for_update=for_update,
                              code=LogNotFound.code)


async def with_promises(session: AsyncSession, logs: list[CollectionLog]) -> list[Logged]:
    promises = await q.promises_of_logs(session, [log.id for log in logs])
    return [Logged(log, promises.get(log.id), created=False) for log in logs]


async def _may_read_log_attachment(session: AsyncSession, principal: Principal, log_id: uuid.UUID) -> bool:
    """A log's photos are read by whoever may read the log or its case (the case's collector now)."""
    log = await q.log_by_id(session, log_id)
    return log is not None and log.group_id == principal.group_id and await q.log_or_case_readable(
        session, principal, log)


ATTACHMENT_KIND = "collection_log"
attachments.register_reader(ATTACHMENT_KIND, _may_read_log_attachment)


async def readable_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> CollectionCase:
    return await get_readable(session, principal, CollectionCase, case_id, code=CaseNotFound.code)
