"""Demo ledger histories (issue 11 "Demo data"): what happened to the demo's shipped contracts
between their shipment and the business date. Instalments paid on time, late (days or weeks after
the due date), partly, or no longer after some point; a cheque that bounced (退票) and its payment
reversed; GPS service fees and freight charges (运费挂账); a few contracts paid off early (the
payoff paid, then settled). So the accounts fall in every bucket (current, M1, M2, M3, M4+).

Every fact goes through the ledger's service, recorded as a clerk would have recorded it on its
own day: the group's business date is walked through each history (an override, as demos and
black-box tests set it), so a fact syncs the penalty through its own day only, the penalty is
posted as the close of business would have posted it (no penalty posted and taken back for the
instalments paid on time), and a payment pays what was owed that day. Then the override is
removed and every account is brought to the business date (`resync`, what the close of business
does), so every account's DPD and bucket are current.

Which contract ends in which bucket follows from the business date (an account is M2 when its
oldest unpaid instalment fell due 31–60 days ago, so the demo stops paying at such an instalment);
the rest (who pays late, who partly, which charges) comes from a seeded `random.Random`: the same
business date gives the same demo.
"""

import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts import repository as contracts_repo
from app.contracts import service as contracts
from app.contracts.models import Contract, ContractState
from app.core.principal import Principal
from app.ledger import entries as ledger_entries
from app.ledger import repository as repo
from app.ledger import service as ledger
from app.ledger.calendar import business_today
from app.ledger.rules import Bucket, Component, LedgerState, bucket, payoff
from app.ledger.schedule import ZERO, Instalment
from app.org.repository import load_principal

PAID_OFF = "paid_off"
BOUNCED = "bounced"  # current, after a cheque that bounced (退票) and was paid again
# The walkthrough's company (C01: clerk1 records its payments, approver2 reverses them) first gets
# one account of each; then, among every company's remaining accounts, one each of these (one
# bounced cheque in all); the
# others stay current (paying on time or late, but paying). The repossessed contracts stopped
# paying long before (M4+), the demo's settled ones are paid off.
WALKTHROUGH = (PAID_OFF, Bucket.M4_PLUS, Bucket.M3, Bucket.M2, Bucket.M1, BOUNCED)
ELSEWHERE = (PAID_OFF, BOUNCED, Bucket.M4_PLUS, Bucket.M3, Bucket.M2, Bucket.M1, Bucket.M1)
GPS_FEE = Decimal("300.00")  # a year, due with the first instalment and every twelfth after it
FREIGHT = (Decimal("1200.00"), Decimal("1800.00"), Decimal("2500.00"), Decimal("3500.00"))
BANKS = ("ICBC", "CCB", "BOC", "ABC", "BOCOM")
STYLES = ("punctual", "punctual", "late", "mixed")
# Inside a day: charges fall due before the payments; a payoff is paid, then the account settled.
ORDER = {"charge": 0, "reverse": 1, "pay": 2, "partial": 2, "cheque": 2, "payoff": 3, "settle": 4}


@dataclass(frozen=True)
class _Event:
    day: date
    action: str
    detail: Any = None


def _windows(schedule: Sequence[Instalment], today: date) -> dict[Bucket, list[Instalment]]:
    """The instalments that, left unpaid, put the account in each bucket today."""
    out: dict[Bucket, list[Instalment]] = defaultdict(list)
    for instalment in schedule:
        if instalment.due_date < today:
            out[bucket((today - instalment.due_date).days)].append(instalment)
    return out


def _fits(target: str, contract: Contract, windows: dict[Bucket, list[Instalment]]) -> bool:
    past = sum(len(v) for v in windows.values())  # instalments due before today
    if target == PAID_OFF:  # a few instalments paid, then the payoff
        return contract.sale_kind == "instalment_sale" and past >= 4
    if target == BOUNCED:
        return past >= 3
    return Bucket(target) in windows


def _targets(contracts: Sequence[Contract], windows: dict[uuid.UUID, dict[Bucket, list[Instalment]]],
             walkthrough_company: uuid.UUID) -> dict[uuid.UUID, str]:
    """Where each account ends: paid off, bounced-and-current, or a bucket (every bucket some account)."""
    targets: dict[uuid.UUID, str] = {}
    for c in contracts:
        if c.state == ContractState.SETTLED:
            targets[c.id] = PAID_OFF
        elif c.state == ContractState.REPOSSESSED:
            deepest = [b for b in Bucket if b in windows[c.id]]
            targets[c.id] = deepest[-1] if deepest else Bucket.CURRENT
    open_ = [c for c in contracts if c.id not in targets]
    for pool, wanted in (([c for c in open_ if c.company_id == walkthrough_company], WALKTHROUGH),
                         (open_, ELSEWHERE)):
        for target in wanted:
            if target == BOUNCED and BOUNCED in targets.values():
                continue
            able = [c for c in pool if c.id not in targets and _fits(target, c, windows[c.id])]
            if able:  # the contract with the fewest other choices, so the later targets still find one
                targets[min(able, key=lambda c: len(windows[c.id])).id] = target
    for c in open_:
        targets.setdefault(c.id, Bucket.CURRENT)
    return targets


def _history(schedule: Sequence[Instalment], target: str, windows: dict[Bucket, list[Instalment]], today: date,
             rng: random.Random, *, gps: bool) -> list[_Event]:
    """The facts of one contract, dated: payments up to the instalment it stops at (`target`)."""
    due = [i for i in schedule if i.due_date <= today]
    stop: Instalment | None = None
    if target == PAID_OFF:
        paid = due[:min(len(due), rng.randint(3, 6))]
    elif target in (Bucket.CURRENT, BOUNCED):
        paid = due
    else:
        choices = [i for i in windows[Bucket(target)] if i.number >= 2] or windows[Bucket(target)]
        stop = rng.choice(choices)
        paid = [i for i in due if i.number < stop.number]
    next_due = {i.number: n.due_date for i, n in zip(schedule, schedule[1:], strict=False)}

    def latest(i: Instalment) -> date:
        """A payment for `i` is made before the next instalment falls due (and not after today)."""
        return min(next_due.get(i.number, today + timedelta(days=1)) - timedelta(days=1), today)

    events: list[_Event] = []
    if due:
        first = due[0].due_date
        if gps:
            events += [_Event(i.due_date, "charge", ("gps_fee", GPS_FEE, "GPS服务费 (年费)"))
                       for i in due if (i.number - 1) % 12 == 0]
        if rng.random() < 0.4:
            events.append(_Event(first, "charge", ("freight", rng.choice(FREIGHT), "运费挂账: 发车运费")))
    bounce = target == BOUNCED
    style = "punctual" if bounce else rng.choice(STYLES)
    day = None
    for n, instalment in enumerate(paid):
        late = style != "punctual" and rng.random() < 0.7
        day = min(instalment.due_date + timedelta(days=rng.randint(3, 25) if late else 0), latest(instalment))
        if bounce and n == 1:  # paid by cheque on the due date; the cheque bounced; paid again by transfer
            events += [_Event(day, "cheque"), _Event(day + timedelta(days=5), "reverse"),
                       _Event(min(day + timedelta(days=9), latest(instalment)), "pay", "退票后重新汇款")]
        elif style == "mixed" and n < len(paid) - 1 and rng.random() < 0.35:  # the next payment catches up
            events.append(_Event(day, "partial", Decimal(rng.randint(40, 70)) / 100))
        else:
            events.append(_Event(day, "pay", "逾期还款" if day > instalment.due_date else "按期还款"))
    if target == PAID_OFF and paid:
        settle = max(min(paid[-1].due_date + timedelta(days=rng.randint(3, 12)), latest(paid[-1])), day or today)
        events += [_Event(settle, "payoff"), _Event(settle, "settle")]
    if stop is not None and rng.random() < 0.5:  # a part of the last instalment it paid anything of
        events.append(_Event(min(stop.due_date + timedelta(days=rng.randint(0, 20)), latest(stop)), "partial",
                             Decimal(rng.randint(30, 60)) / 100))
    return sorted(events, key=lambda e: (e.day, ORDER[e.action]))


def _owed_by(state: LedgerState, day: date) -> Decimal:
    """Everything due on or before `day` and unpaid (penalty included): a payment that clears it."""
    return sum((i.unpaid(c) for i in state.items if i.due_date <= day for c in Component), ZERO)


class _Recorder:
    """Plays one contract's events through the ledger's service, each on its own business date."""

    def __init__(self, session: AsyncSession, contract: Contract, clerk: Principal, reverser: Principal,
                 rng: random.Random) -> None:
        self.session, self.contract, self.clerk, self.reverser, self.rng = session, contract, clerk, reverser, rng
        self.cheque: Any = None
        self.serial = 0

    async def state(self, day: date) -> LedgerState:
        entries = await repo.entries_of(self.session, self.contract.id)
        return ledger_entries.replay(entries, through=day, policy=ledger.policy_of(self.contract))

    async def pay(self, day: date, amount: Decimal, notes: str, method: str | None = None) -> Any:
        self.serial += 1
        method = method or ("cash" if self.rng.random() < 0.15 else "bank_transfer")
        reference = {"bank_transfer": f"{self.rng.choice(BANKS)}{day:%Y%m%d}{self.serial:06d}",
                     "cheque": f"CHQ{day:%Y%m%d}{self.serial:04d}"}.get(method)
        return await ledger.record_payment(self.session, self.clerk, self.contract, amount=amount, value_date=day,
                                           method=method, reference=reference, notes=notes)

    async def play(self, event: _Event) -> None:
        day, action, detail = event.day, event.action, event.detail
        if action == "charge":
            kind, amount, description = detail
            await ledger.post_charge(self.session, self.clerk, self.contract, kind=kind, amount=amount,
                                     due_date=day, description=description)
        elif action == "reverse":
            await ledger.reverse_entry(self.session, self.reverser, self.contract, self.cheque.entry, reason="退票")
        elif action == "settle":
            await ledger.settle(self.session, self.clerk, self.contract, value_date=day,
                                reason="客户申请提前结清, 结清金额已到账")
            if self.contract.state == ContractState.ACTIVE:
                contracts.transition(self.contract, "settle")
                self.contract.closed_reason = "提前结清"
        else:
            state = await self.state(day)
            owed = payoff(state) if action == "payoff" else _owed_by(state, day)
            if action == "partial":
                part = (owed * detail / 100).quantize(Decimal("1"), rounding=ROUND_DOWN) * 100
                if 0 < part < owed:
                    await self.pay(day, part, "部分还款")
            elif owed > 0 and action == "cheque":
                self.cheque = await self.pay(day, owed, "按期还款 (支票)", method="cheque")
            elif owed > 0:
                await self.pay(day, owed, "提前结清款" if action == "payoff" else detail)


async def seed_ledger(session: AsyncSession, org: Any) -> dict[str, list[str]]:
    """Histories for the demo's shipped contracts; returns the contract numbers by bucket (and
    `paid_off`), as the accounts stand on the business date."""
    admin = await load_principal(session, org.users["admin"].id)
    clerk1 = await load_principal(session, org.users["clerk1"].id)
    approver2 = await load_principal(session, org.users["approver2"].id)
    assert admin is not None and clerk1 is not None and approver2 is not None
    rows = (await session.scalars(contracts_repo.filtered_contracts(admin, contracts_repo.ContractFilters())
                                  .order_by(Contract.number))).all()
    shipped = [c for c in rows if c.shipment_date is not None and await repo.account(session, c.id) is not None]
    if not shipped:
        return {}
    today = await business_today(session, shipped[0].company_id)
    schedules = {c.id: (await contracts.schedule_of(session, c))[1] for c in shipped}
    windows = {c.id: _windows(schedules[c.id], today) for c in shipped}
    c01 = org.companies["C01"].id
    targets = _targets(shipped, windows, c01)
    gps = {cid: any(m.gps_device_id for m in machines)
           for cid, machines in (await contracts_repo.machines_of(session, [c.id for c in shipped])).items()}
    rng = random.Random(20261124)  # noqa: S311 - demo data, reproducible
    before = (await repo.business_date_overrides(session, [org.group.id])).get(org.group.id)
    on: date | None = None
    try:
        for contract in shipped:
            clerk = clerk1 if contract.company_id == c01 else admin
            recorder = _Recorder(session, contract, clerk, approver2 if contract.company_id == c01 else admin, rng)
            for event in _history(schedules[contract.id], targets[contract.id], windows[contract.id], today, rng,
                                  gps=gps[contract.id]):
                if event.day != on:
                    await repo.set_business_date_override(session, org.group.id, event.day)
                    on = event.day
                await recorder.play(event)
    finally:
        await repo.set_business_date_override(session, org.group.id, before)
    out: dict[str, list[str]] = defaultdict(list)
    for contract in shipped:
        await ledger.resync(session, contract)
        account = await repo.account(session, contract.id)
        assert account is not None
        out[PAID_OFF if account.settled else account.bucket].append(contract.number)
    return dict(out)
