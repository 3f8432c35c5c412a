"""Two phones syncing all the time while every kind of writer works on their cases at once (issue 26):
collectors log (with promises that supersede each other, several in one second), payments and their
reversals move the accounts' figures (some held open across the others' commits), a dispatcher moves
cases away and back, notifications arrive. When the writers stop, each phone's replica (every upsert
and tombstone applied) equals a fresh snapshot. Several rounds, a few seconds each; real connections
and commits throughout (tests/field/committed.py)."""

import asyncio
import random
import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, update

from app.collection.models import CollectionCase
from app.core import clock
from app.core import db as core_db
from app.core.business_date import business_date as date_in_zone
from app.core.business_date import business_zone
from app.core.db import utcnow
from app.ledger.models import LedgerAccount
from app.notifications.models import Notification
from app.notifications.service import notify
from tests.collection.log_fixtures import log_body
from tests.conftest import token_for
from tests.field.committed import Device, fresh_snapshot, make_cases, principal_of, remove
from tests.field.conftest import MOBILE

ROUNDS = 3
SECONDS = 2.5
COLLECTORS = ("collector1", "collector2")


@pytest.fixture
def mobile():
    from app.main import create_app

    return httpx.ASGITransport(app=create_app(), raise_app_exceptions=False)


async def _holder(case_id: uuid.UUID) -> uuid.UUID | None:
    async with core_db.session_factory()() as session:
        return await session.scalar(select(CollectionCase.collector_id).where(CollectionCase.id == case_id))


class Writers:
    def __init__(self, org, made, transport, rng: random.Random) -> None:
        self.org, self.made, self.rng, self.stop = org, made, rng, asyncio.Event()
        self.names = {org.users[u].id: u for u in COLLECTORS}
        self.kind = f"race-{made.customer_id.hex[:8]}"  # the round's notifications, removed after it
        self.client = httpx.AsyncClient(transport=transport, base_url="http://test")
        self.done: dict[str, int] = {"logs": 0, "payments": 0, "reversals": 0, "moves": 0, "notifications": 0}

    async def pause(self) -> None:
        await asyncio.sleep(self.rng.uniform(0.0, 0.03))

    async def logs(self) -> None:
        today = date_in_zone(clock.now(), business_zone())
        while not self.stop.is_set():
            case_id = self.rng.choice(self.made.cases)
            holder = await _holder(case_id)
            if holder is None:
                continue
            # Whole seconds, as phones send them: several logs of a case in one second.
            occurred = (utcnow() - timedelta(seconds=1)).replace(microsecond=0)
            body = log_body(occurred_at=occurred.isoformat())
            if self.rng.random() < 0.5:
                body["promise"] = {"amount": f"{self.rng.randint(1, 50)}.00",
                                   "date": (today + timedelta(days=self.rng.randint(1, 20))).isoformat()}
            token = token_for(self.org, self.names[holder])
            response = await self.client.post(f"{MOBILE}/cases/{case_id}/logs", json=body,
                                              headers={"Authorization": f"Bearer {token}"})
            self.done["logs"] += response.status_code == 201
            await self.pause()

    async def payments(self, engine) -> None:
        while not self.stop.is_set():
            contract_id = self.rng.choice(self.made.contracts)
            async with engine.connect() as conn:
                await conn.begin()
                await conn.execute(update(LedgerAccount).where(LedgerAccount.contract_id == contract_id)
                                   .values(overdue_amount=LedgerAccount.overdue_amount - Decimal("0.01")))
                await self.pause()  # held open across the others' commits
                await conn.commit()
            self.done["payments"] += 1
            if self.rng.random() < 0.4:  # reversed
                async with engine.begin() as conn:
                    await conn.execute(update(LedgerAccount).where(LedgerAccount.contract_id == contract_id)
                                       .values(overdue_amount=LedgerAccount.overdue_amount + Decimal("0.01")))
                self.done["reversals"] += 1
            await self.pause()

    async def moves(self, engine) -> None:
        ids = [self.org.users[u].id for u in COLLECTORS]
        while not self.stop.is_set():
            case_id = self.rng.choice(self.made.cases)
            holder = await _holder(case_id)
            async with engine.connect() as conn:
                await conn.begin()
                await conn.execute(update(CollectionCase).where(CollectionCase.id == case_id).values(
                    collector_id=ids[1] if holder == ids[0] else ids[0], version=CollectionCase.version + 1))
                await self.pause()
                await conn.commit()
            self.done["moves"] += 1
            await self.pause()

    async def notifications(self) -> None:
        while not self.stop.is_set():
            async with core_db.session_factory()() as session:
                await notify(session, group_id=self.org.group.id,
                             user_ids=[self.org.users[self.rng.choice(COLLECTORS)].id], kind=self.kind,
                             title=f"通知 {self.done['notifications']}")
                await session.commit()
            self.done["notifications"] += 1
            await self.pause()


async def _phone(device: Device, stop: asyncio.Event, rng: random.Random) -> int:
    syncs = 0
    while not stop.is_set():
        await device.sync()
        syncs += 1
        await asyncio.sleep(rng.uniform(0.0, 0.02))
    return syncs


@pytest.mark.parametrize("round_no", range(ROUNDS))
async def test_two_phones_syncing_through_concurrent_writers_end_equal_to_a_fresh_snapshot(engine, org, mobile,
                                                                                           round_no):
    rng = random.Random(round_no)
    made = await make_cases(org, ["collector1", "collector2", "collector1"])
    try:
        principals = [await principal_of(org.users[u].id) for u in COLLECTORS]
        devices = [Device(p) for p in principals]
        for device in devices:
            await device.sync()
        writers = Writers(org, made, mobile, rng)
        tasks = [writers.logs(), writers.payments(engine), writers.moves(engine), writers.notifications()]
        running = [asyncio.create_task(t) for t in tasks]
        phones = [asyncio.create_task(_phone(d, writers.stop, rng)) for d in devices]
        await asyncio.sleep(SECONDS)
        writers.stop.set()
        await asyncio.gather(*running)
        syncs = await asyncio.gather(*phones)
        await writers.client.aclose()
        assert all(n > 0 for n in writers.done.values()) and min(syncs) > 3, (writers.done, syncs)
        for device, principal in zip(devices, principals, strict=True):
            await device.sync()
            fresh = await fresh_snapshot(principal)
            for kind in fresh:
                assert device.replica.get(kind, {}) == fresh[kind], (kind, writers.done)
    finally:
        async with core_db.session_factory()() as session:
            made.notifications = list(await session.scalars(select(Notification.id).where(
                Notification.kind == f"race-{made.customer_id.hex[:8]}")))
        await remove(made)
