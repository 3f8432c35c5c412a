"""Demo collections: the close of business of the business date opens a case for every overdue
demo contract; C01's go to collector1 and collector2 (one left for the dispatcher to assign),
C02's to collector3, the rest wait unassigned. Each case is dated from the day its contract fell
overdue, as if the close of business had run every day."""

import io
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments import service as attachments
from app.attachments.demo import sample_photo
from app.attachments.service import Upload
from app.attachments.storage import Storage, configured_storage
from app.collection import cases, cob, logs, promises
from app.collection.log_schemas import LogCreate
from app.collection.models import CollectionCase
from app.collection.schemas import CaseAssignIn
from app.contracts.models import Contract
from app.core.db import utcnow
from app.customers import repository as customers_repo
from app.ledger import repository as repo_ledger
from app.ledger import service as ledger
from app.ledger.calendar import business_today
from app.ledger.models import LedgerAccount
from app.org import repository as org_repo
from app.org.repository import load_principal


async def seed_collections(session: AsyncSession, org: Any) -> dict[str, int]:
    companies = list(org.companies.values())
    today = await business_today(session, companies[0].id)
    await cob.day_closed(session, today, [c.id for c in companies])
    # Backdate each case to the day after its oldest overdue item fell due.
    await session.execute(
        update(CollectionCase).where(CollectionCase.contract_id == LedgerAccount.contract_id,
                                     LedgerAccount.overdue_since.is_not(None))
        .values(opened_on=LedgerAccount.overdue_since + timedelta(days=1)))
    rows = (await session.execute(select(CollectionCase.id, CollectionCase.company_id)
                                  .join(Contract, Contract.id == CollectionCase.contract_id)
                                  .where(CollectionCase.state == "open")
                                  .order_by(CollectionCase.opened_on, Contract.number))).all()
    c01 = [i for i, company in rows if company == org.companies["C01"].id]
    c02 = [i for i, company in rows if company == org.companies["C02"].id]
    dispatcher = await load_principal(session, org.users["dispatcher"].id)
    admin = await load_principal(session, org.users["admin"].id)
    assert dispatcher is not None and admin is not None
    plan = [(dispatcher, c01[0::2][:-1] if len(c01) > 2 else c01[0::2], "collector1"),
            (dispatcher, c01[1::2], "collector2"), (admin, c02, "collector3")]
    for by, ids, collector in plan:
        if ids:
            await cases.assign(session, by, CaseAssignIn(case_ids=ids, collector_id=org.users[collector].id,
                                                         reason="片区分配"))
    logged = await _logs(session, org, today)
    await cob.day_closed(session, today, [c.id for c in companies])  # priorities after assignment and logs
    return {"cases": len(rows), "c01": len(c01), "c02": len(c02), **logged}


async def _logs(session: AsyncSession, org: Any, today: date) -> dict[str, int]:
    """The last three weeks of each held case: an unanswered call, a visit (with a photo) where the customer
    promised (judged on its date: C01's newest case paid it and kept it, the others broke it), and
    on every other case a call today with a promise still pending."""
    held = (await session.execute(
        select(CollectionCase, LedgerAccount.overdue_amount)
        .join(LedgerAccount, LedgerAccount.contract_id == CollectionCase.contract_id)
        .join(Contract, Contract.id == CollectionCase.contract_id)
        .where(CollectionCase.state == "open", CollectionCase.collector_id.is_not(None))
        .order_by(CollectionCase.company_id, CollectionCase.opened_on, Contract.number))).all()
    zones = await org_repo.company_zones(session, [c.company_id for c, _ in held])
    collectors = {u.id: await load_principal(session, u.id) for u in org.users.values()
                  if u.id in {c.collector_id for c, _ in held}}
    clerk = await load_principal(session, org.users["clerk1"].id)
    counts = {"logs": 0, "kept": 0, "broken": 0, "pending": 0}
    storage = configured_storage()
    # The kept promise goes to C01's most recently opened case whose visit's promise already fell due
    # (an M1 one, whatever the day). The promise is half of what is overdue, so the payment keeps the
    # account in its bucket (on some days it is C01's only M1 one).
    kept_case = next((c.id for c, _ in reversed(held) if c.company_id == org.companies["C01"].id
                      and _promised_on(c.opened_on, today) < today), None)
    for n, (row, overdue) in enumerate(held):
        # Plain values: the logs below rewrite the case row, which would expire the loaded object.
        case = SimpleNamespace(**{c: getattr(row, c) for c in ("id", "group_id", "company_id", "contract_id",
                                                              "customer_id", "collector_id", "opened_on")})
        tz = zones[case.company_id][1]
        who = collectors[case.collector_id]
        contacts = await customers_repo.contacts_of_customer(session, case.customer_id)
        person: dict[str, Any] = ({"contact_id": contacts[0][0].id} if contacts
                                  else {"person": {"name": "现场负责人", "relation": "工地"}})
        base = max(case.opened_on, today - timedelta(days=21))
        promised_on = _promised_on(case.opened_on, today)
        amount = min(overdue, Decimal("5000.00")).quantize(Decimal("0.01"))
        if case.id == kept_case:  # a part of what is overdue: paying it keeps the account in its bucket
            amount = (overdue / 2).quantize(Decimal("0.01"))
        await repo_ledger.set_business_date_override(session, case.group_id, base + timedelta(days=5))
        await logs.create_log(session, who, case.id, LogCreate(
            id=_uuid(case.id, 1), action="call", result="no_answer", notes="电话无人接听", **person,
            occurred_at=_by_now(datetime.combine(base + timedelta(days=1), time(9, 30), tz))))
        visited_at = _by_now(datetime.combine(base + timedelta(days=5), time(15, 0), tz))
        # The visit's photo: taken there and then, except on every third case, where it was taken the
        # day before a few kilometres away (the dispatcher sees those logs flagged).
        honest = n % 3 != 2
        photo = await _photo(session, storage, who, _uuid(case.id, 20),
                             visited_at if honest else visited_at - timedelta(days=1),
                             Decimal("31.230500") if honest else Decimal("31.300000"), Decimal("121.473800"))
        visit = LogCreate(
            id=_uuid(case.id, 2), action="visit", result="promised", notes="上门拜访, 客户承诺近期还款", **person,
            occurred_at=visited_at, attachment_ids=[photo],
            location={"latitude": 31.2304, "longitude": 121.4737, "accuracy_m": 20},
            promise={"amount": str(amount), "date": promised_on.isoformat()} if promised_on < today else None)
        await logs.create_log(session, who, case.id, visit)
        counts["logs"] += 2
        if visit.promise is not None:
            if case.id == kept_case and clerk is not None:
                contract = await session.get(Contract, case.contract_id)
                await repo_ledger.set_business_date_override(session, case.group_id, None)
                await ledger.record_payment(session, clerk, contract, amount=amount,
                                            value_date=promised_on - timedelta(days=1), method="bank_transfer",
                                            notes="按承诺还款")
            judged = await promises.judge_promises(session, promised_on, [case.contract_id])
            counts["kept"] += judged["kept"]
            counts["broken"] += judged["broken"]
        await repo_ledger.set_business_date_override(session, case.group_id, None)
        if n % 2 == 0:
            await logs.create_log(session, who, case.id, LogCreate(
                id=_uuid(case.id, 3), action="call", result="promised", notes="客户表示月底前还款", **person,
                occurred_at=_by_now(datetime.combine(today, time(9, 0), tz)),
                promise={"amount": str(amount), "date": (today + timedelta(days=3)).isoformat()}))
            counts["logs"] += 1
            counts["pending"] += 1
    return counts


def _promised_on(opened_on: date, today: date) -> date:
    """The day the visit's promise (five days into the last three weeks of the case) falls due."""
    return max(opened_on, today - timedelta(days=21)) + timedelta(days=8)


async def _photo(session: AsyncSession, storage: Storage, who: Any, photo_id: uuid.UUID, taken_at: datetime,
                 latitude: Decimal, longitude: Decimal) -> uuid.UUID:
    """A small JPEG with EXIF time and GPS position, uploaded by the collector as the phone would."""
    content = sample_photo(taken_at, latitude, longitude)
    stored, _ = await attachments.upload(session, who, storage, Upload(photo_id, io.BytesIO(content), "现场照片.jpg"))
    return stored.id


def _by_now(at: datetime) -> datetime:
    """`at`, or a minute ago when `at` is still ahead: the business date is the company's (Shanghai),
    so between its midnight and 09:00 a log "today at 09:00" would lie in the future, which a log
    may not (logs.create_log refuses occurred_at more than five minutes ahead)."""
    return min(at, utcnow() - timedelta(minutes=1))


def _uuid(case_id: uuid.UUID, n: int) -> uuid.UUID:
    """A log's id as the phone would make it, fixed per case so the demo is the same every run."""
    return uuid.uuid5(case_id, f"demo-log-{n}")
