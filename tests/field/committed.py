"""Committed cases for the sync's tests with real concurrent transactions (each writer its own
connection and commit): C01 contracts of a fresh customer with their ledger accounts and open cases,
deleted afterwards with everything the tests wrote under them. A device is a replica the phone would
keep: the sync's upserts and tombstones applied to a dict per kind."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, or_, select, text, update

from app.collection.models import CaseAssignment, CollectionCase, CollectionLog, PromiseToPay
from app.contracts.models import Contract
from app.core import db as core_db
from app.core.principal import Principal
from app.customers.models import Customer
from app.field import sync as field_sync
from app.field.models import SyncChange
from app.ledger.models import LedgerAccount
from app.notifications.models import Notification
from app.org.repository import load_principal


@dataclass
class Committed:
    customer_id: uuid.UUID
    contracts: list[uuid.UUID] = field(default_factory=list)
    cases: list[uuid.UUID] = field(default_factory=list)
    notifications: list[uuid.UUID] = field(default_factory=list)


async def make_cases(org: Any, holders: list[str], overdue: str = "100.00") -> Committed:
    """One committed open case per holder (a username), each on its own contract and account."""
    c01, sales1 = org.companies["C01"], org.users["sales1"]
    made = Committed(customer_id=uuid.uuid4())
    async with core_db.session_factory()() as session:
        session.add(Customer(id=made.customer_id, group_id=org.group.id, company_id=c01.id, name="同步并发客户",
                             name_norm=f"sync-race-{made.customer_id}", owner_id=sales1.id,
                             created_by_id=sales1.id))
        await session.flush()
        for holder in holders:
            contract = Contract(id=uuid.uuid4(), group_id=org.group.id, company_id=c01.id, requester_id=sales1.id,
                                number=f"HT-SYNC-{uuid.uuid4().hex[:8]}", customer_id=made.customer_id,
                                owner_id=sales1.id, sale_kind="instalment_sale", price=Decimal("1000"),
                                down_payment=Decimal("0"), annual_rate=Decimal("0"), term_months=1,
                                first_due_date=date(2026, 1, 31), schedule_kind="annuity",
                                penalty_daily_rate=Decimal("0.0005"),
                                allocation_order=["penalty", "fee", "interest", "principal"])
            session.add(contract)
            await session.flush()
            session.add(LedgerAccount(contract_id=contract.id, group_id=org.group.id, company_id=c01.id,
                                      as_of=date(2026, 2, 10), penalty_daily_rate=Decimal("0.0005"), grace_days=3,
                                      overdue_amount=Decimal(overdue), dpd=10, bucket="M1"))
            case = CollectionCase(id=uuid.uuid4(), group_id=org.group.id, company_id=c01.id,
                                  contract_id=contract.id, customer_id=made.customer_id, opened_on=date(2026, 2, 1),
                                  state="open", priority=0, collector_id=org.users[holder].id)
            session.add(case)
            await session.flush()
            made.contracts.append(contract.id)
            made.cases.append(case.id)
        await session.commit()
    return made


async def remove(made: Committed) -> None:
    async with core_db.session_factory()() as session:
        logs = select(CollectionLog.id).where(CollectionLog.case_id.in_(made.cases))
        await session.execute(update(CollectionCase).where(CollectionCase.id.in_(made.cases))
                              .values(active_promise_id=None))
        await session.execute(delete(SyncChange).where(or_(
            SyncChange.entity_id.in_([*made.cases, made.customer_id, *made.notifications]),
            SyncChange.entity_id.in_(logs))))
        await session.execute(delete(PromiseToPay).where(PromiseToPay.case_id.in_(made.cases)))
        await session.execute(delete(CollectionLog).where(CollectionLog.case_id.in_(made.cases)))
        await session.execute(delete(CaseAssignment).where(CaseAssignment.case_id.in_(made.cases)))
        await session.execute(delete(CollectionCase).where(CollectionCase.id.in_(made.cases)))
        await session.execute(delete(LedgerAccount).where(LedgerAccount.contract_id.in_(made.contracts)))
        await session.execute(delete(Contract).where(Contract.id.in_(made.contracts)))
        await session.execute(delete(Customer).where(Customer.id == made.customer_id))
        await session.execute(delete(Notification).where(Notification.id.in_(made.notifications)))
        await session.commit()


async def principal_of(user_id: uuid.UUID) -> Principal:
    async with core_db.session_factory()() as session:
        return await load_principal(session, user_id)


async def sync_once(principal: Principal, cursor: str | None) -> Any:
    """One page of a sync as the route runs it: a read-only session in autocommit, its own connection."""
    async with core_db.read_session_factory()() as session:
        return await field_sync.sync(session, principal, cursor)


class Device:
    """A phone: its replica of each kind (id → the record as JSON) and its cursor."""

    def __init__(self, principal: Principal) -> None:
        self.principal, self.cursor = principal, None
        self.replica: dict[str, dict[str, Any]] = {}

    async def sync(self) -> None:
        """Sync until nothing more (a snapshot the first time)."""
        while True:
            out = await sync_once(self.principal, self.cursor)
            apply(self.replica, out)
            self.cursor = out.cursor
            if not out.has_more:
                return


def apply(replica: dict[str, dict[str, Any]], out: Any) -> None:
    for name, changes in out.changes.model_dump(mode="json").items():
        kept = replica.setdefault(name, {})
        for item in changes["upserted"]:
            kept[item["id"]] = item
        for ident in changes["deleted"]:
            kept.pop(ident, None)


async def fresh_snapshot(principal: Principal) -> dict[str, dict[str, Any]]:
    device = Device(principal)
    await device.sync()
    return device.replica


async def in_transaction(engine: Any) -> AsyncIterator[Any]:
    async with engine.connect() as conn:
        await conn.begin()
        yield conn


async def xact_id(conn: Any) -> int:
    return int(await conn.scalar(text("SELECT pg_current_xact_id()::text::bigint")))
