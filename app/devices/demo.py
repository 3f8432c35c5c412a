"""Demo data for issue 13 (debt requests and remote lock/unlock): the default flows, amount-tiered where
an amount exists (waiver ≤ ¥1 000: L1; ≤ ¥10 000: L1 + L2; above: + the leader), and requests of every
kind (waiver, tow, settlement, GPS fee, lock, unlock) in every state (draft, pending, approved,
rejected, withdrawn) on C01's overdue contracts; the approved locks' commands acknowledged, waiting
for the machine to stop, expired, and one left queued that the server's queue worker delivers to the
in-process gateway simulator, which acknowledges it by itself a moment after `./scripts/run` starts."""

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import flows
from app.approvals import repository as approvals_repo
from app.approvals import requests as kit
from app.approvals import service as engine
from app.approvals.schemas import FlowCreate, RoleAnyCompanyRule, StepIn, UsersRule
from app.collection import repository as collection_repo
from app.contracts import repository as contracts_repo
from app.contracts.models import Contract, ContractState, Machine
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.principal import Principal
from app.devices import service
from app.devices.approval import LOCK, UNLOCK
from app.devices.gateway import Accepted
from app.devices.models import UNSENT, DeviceCommand
from app.devices.schemas import LockRequestIn, UnlockRequestIn
from app.ledger import service as ledger
from app.ledger.calendar import business_today
from app.org import repository as org_repo
from app.org.repository import load_principal
from app.requests import service as money_requests
from app.requests.approval import GPS_FEE, SETTLEMENT, WAIVER
from app.requests.schemas import GpsFeeIn, SettlementRequestIn, WaiverIn
from app.towing import service as towing
from app.towing.approval import TOW
from app.towing.permissions import TOW_OVERRIDE_MIN_DPD
from app.towing.schemas import TowRequestCreate

STATES = ("draft", "pending", "approved", "rejected", "withdrawn")


async def default_flows(session: AsyncSession, org: Any, admin: Principal) -> None:
    """The default approval flows of the debt requests (seed 000's amount tiers for waivers)."""

    def any_company(code: str) -> RoleAnyCompanyRule:
        return RoleAnyCompanyRule(kind="role_any_company", role_id=org.roles[code].id)

    l1, l2 = StepIn(name="一级审核", rule=any_company("approver_l1")), any_company("approver_l2")
    leader = UsersRule(kind="users", user_ids=[org.users["leader"].id])
    definitions = {
        "interest_waiver": ("利息减免 (1千以内一级; 1万以内二级; 以上领导)", [
            l1, StepIn(name="二级审核 (1千元以上)", rule=l2, condition="amount > 1000"),
            StepIn(name="领导审批 (1万元以上)", rule=leader, condition="amount > 10000")]),
        "tow": ("拖机申请 (一级 → 二级)", [l1, StepIn(name="二级审核", rule=l2)]),
        "settlement_request": ("结清申请 (一级 → 二级)", [l1, StepIn(name="二级审核", rule=l2)]),
        "gps_fee": ("GPS服务费 (1千以内一级; 以上二级)", [
            l1, StepIn(name="二级审核 (1千元以上)", rule=l2, condition="amount > 1000")]),
        "lock": ("锁机申请 (一级审核)", [l1]),
        "unlock": ("开机申请 (一级审核)", [l1]),
    }
    for request_type, (name, steps) in definitions.items():
        await flows.create_flow(session, admin, FlowCreate(request_type=request_type, name=name, steps=steps))


class _Requests:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def decide(self, kind: kit.RequestKind[Any], request: Any, state: str, requester: Principal) -> None:
        """Take a submitted request to `state`: approved (every step), rejected, withdrawn or left pending."""
        if state == "withdrawn":
            await kit.withdraw(self.session, requester, kind, request)
            return
        while state in ("approved", "rejected"):
            found = await approvals_repo.instance_for_request(self.session, kind.name, request.id)
            assert found is not None
            waiting = await approvals_repo.pending_assignments(self.session, found.id)
            if not waiting:
                return
            approver = await load_principal(self.session, waiting[0].user_id)
            assert approver is not None
            instance = await approvals_repo.get_instance(self.session, approver, found.id, for_update=True)
            if state == "rejected":
                await engine.reject(self.session, approver, instance, reason="依据不足, 请补充材料后重新提交")
                return
            await engine.approve(self.session, approver, instance, comment="同意")

    async def every_state(self, kind: kit.RequestKind[Any], requester: Principal,
                          create: Callable[[str, bool], Awaitable[Any]], states: tuple[str, ...] = STATES) -> list[Any]:
        made = []
        for state in states:
            request = await create(state, state != "draft")
            if state != "draft":
                await self.decide(kind, request, state, requester)
            made.append(request)
        return made


async def _in_reach(session: AsyncSession, collectors: list[Principal]
                    ) -> tuple[list[Contract], list[tuple[Contract, Machine, Principal]]]:
    """The active contracts of the collectors' open cases, and their machines with a GPS device (with
    the collector who may file on each)."""
    contracts: list[Contract] = []
    pairs: list[tuple[Contract, Machine, Principal]] = []
    for collector in collectors:
        ids = sorted(set((await session.scalars(collection_repo.contracts_held_by(collector))).all()))
        held = sorted((c for c in [await contracts_repo.lock_contract(session, i) for i in ids]
                       if c is not None and c.state == ContractState.ACTIVE), key=lambda c: c.number)
        machines = await contracts_repo.machines_of(session, [c.id for c in held])
        contracts += held
        pairs += [(c, m, collector) for c in held for m in machines.get(c.id, []) if m.gps_device_id]
    return contracts, pairs


async def seed_debt_requests(session: AsyncSession, org: Any) -> dict[str, int]:
    users = {name: await load_principal(session, org.users[name].id)
             for name in ("admin", "collector1", "collector2", "collector3", "clerk1")}
    admin, clerk = users["admin"], users["clerk1"]
    collectors = [users["collector1"], users["collector2"], users["collector3"]]
    assert admin is not None and clerk is not None and all(collectors)
    await default_flows(session, org, admin)
    held, pairs = await _in_reach(session, collectors)  # type: ignore[arg-type]
    if len(pairs) < 5:  # the demo's overdue contracts of C01 decide how many; nothing to show without them
        return {"requests": 0}
    demo = _Requests(session)
    today = await business_today(session, held[0].company_id)
    penalties = {c.id: (await money_requests.account_of(session, c, resync=False)).unpaid_penalty for c in held}
    most = max((p for p in pairs), key=lambda p: penalties[p[0].id])
    tiers = iter(("800.00", "5000.00", "12000.00", "800.00"))  # the waiver flow's three tiers

    async def waiver(state: str, submit: bool) -> Any:
        # Never above the penalty as it stands when filed (a waiver above it is refused), and at most
        # half of it: the approved one lowers it, and the pending one must still be approvable after.
        half = ((await money_requests.account_of(session, most[0], resync=False)).unpaid_penalty / 2).quantize(
            Decimal("0.01"), rounding=ROUND_DOWN)
        amount = min(Decimal("300.00") if state == "approved" else Decimal(next(tiers)), half)
        request, _ = await money_requests.create(session, most[2], WAIVER, WaiverIn(
            contract_id=most[0].id, amount=amount, reason="客户经营困难, 申请减免部分罚息", submit=submit))
        return request

    # The demo's tows are filed below the default minimum DPD on some days: their collector holds the
    # override (a single permission granted to him, as an administrator would) and gives its reason.
    await org_repo.set_permission_override(session, pairs[0][2].user_id, TOW_OVERRIDE_MIN_DPD, True)
    await session.flush()
    tower = await load_principal(session, pairs[0][2].user_id)
    assert tower is not None

    async def tow(state: str, submit: bool) -> Any:
        contract, machine, _ = pairs[0]
        request, _ = await towing.create_request(session, tower, TowRequestCreate(
            contract_id=contract.id, machine_id=machine.id, reason="连续逾期, 客户失联",
            location="江苏省常州市武进区某工地", override_reason="客户多次失约, 设备有转移风险", submit=submit))
        return request

    async def gps_fee(state: str, submit: bool) -> Any:
        contract, machine, _ = pairs[1]
        request, _ = await money_requests.create(session, clerk, GPS_FEE, GpsFeeIn(
            contract_id=contract.id, machine_id=machine.id, kind="renewal", period_from=today,
            period_to=today + timedelta(days=364),
            amount=Decimal("680.00") if state == "approved" else Decimal("1200.00"), notes="GPS年度服务费续费",
            submit=submit))
        return request

    async def unlock(state: str, submit: bool) -> Any:
        contract, machine, collector = pairs[4]
        request, _ = await service.create_request(session, collector, UNLOCK, "unlock", UnlockRequestIn(
            contract_id=contract.id, machine_id=machine.id, reason="客户已补缴欠款, 申请开机", submit=submit))
        return request

    def lock_on(pair: tuple[Contract, Machine, Principal]) -> Callable[[str, bool], Awaitable[Any]]:
        async def lock(state: str, submit: bool) -> Any:
            request, _ = await service.create_request(session, pair[2], LOCK, "lock", LockRequestIn(
                contract_id=pair[0].id, machine_id=pair[1].id, reason="逾期未还, 申请远程锁机",
                override_reason="承诺多次未兑现", submit=submit))
            return request
        return lock

    count = 0
    for kind, requester, create in ((WAIVER, most[2], waiver), (TOW, tower, tow), (GPS_FEE, clerk, gps_fee),
                                    (UNLOCK, pairs[4][2], unlock)):
        count += len(await demo.every_state(kind, requester, create))
    await _report(session, pairs[4][1], "0")
    await _acknowledge(session, await _command_of(session, pairs[4][1]))  # the device answered the unlock
    count += len(await demo.every_state(LOCK, pairs[3][2], lock_on(pairs[3]), ("draft", "pending", "rejected",
                                                                               "withdrawn")))
    count += await _locks(session, demo, [(lock_on(p), p[1], p[2]) for p in pairs[:4]])
    # The approved settlement last: it settles the contract, and a settled contract takes no new request.
    c01 = [c for c in held if c.company_id == clerk.company_id]
    # Never C01's only account of a bucket (the ledger walkthrough shows C01 with one of each), nor a
    # contract the requests above use; on a day with no such contract the demo has no approved settlement.
    buckets = {c.id: (await money_requests.account_of(session, c, resync=False)).bucket for c in c01}
    busy = {p[0].id for p in pairs[:5]}
    free = [c for c in c01 if c.id not in busy and sum(b == buckets[c.id] for b in buckets.values()) > 1]
    settled = free[-1] if free else c01[-1]
    states = ("draft", "pending", "rejected", "withdrawn", *(("approved",) if free else ()))
    count += len(await demo.every_state(SETTLEMENT, clerk, _settlement(session, clerk, settled, today), states))
    return {"requests": count}


async def _command_of(session: AsyncSession, machine: Machine) -> DeviceCommand:
    commands = await service.repo.lock_open_of_machine(session, machine.id, UNSENT)
    assert commands, machine.id
    return commands[-1]


async def _report(session: AsyncSession, machine: Machine, speed_kmh: str) -> None:
    """The machine's device reports where it is, now (a lock goes out only on a fresh report)."""
    await service.position_report(session, machine.gps_device_id or "", latitude=Decimal("31.781234"),
                                  longitude=Decimal("119.954321"), speed_kmh=Decimal(speed_kmh), blocked=None,
                                  at=utcnow())


async def _acknowledge(session: AsyncSession, command: DeviceCommand) -> None:
    target = await service.delivery_target(session, command.id)
    assert target is not None and target[1]
    await service.sent(session, command, Accepted(offline=False, answer={"status": 200, "demo": True}))
    await service.command_result(session, command.id, "acknowledged", "engine stopped",
                                 {"result": "acknowledged", "demo": True})


async def _locks(session: AsyncSession, demo: _Requests,
                 locks: list[tuple[Callable[[str, bool], Awaitable[Any]], Machine, Principal]]) -> int:
    """Approved locks on four machines: one expired (sent while the device was offline, never answered),
    one acknowledged, one waiting for its moving machine to stop, one queued for the server to deliver."""
    async def approved(i: int) -> DeviceCommand:
        create, machine, requester = locks[i]
        await demo.decide(LOCK, await create("approved", True), "approved", requester)
        return await _command_of(session, machine)

    for _, machine, _ in (locks[0], locks[1], locks[3]):
        await _report(session, machine, "0")
    expired = await approved(0)
    assert await service.delivery_target(session, expired.id) == (expired, True)
    await service.sent(session, expired, Accepted(offline=True, answer={"status": 202, "demo": True}))
    ttl = timedelta(hours=get_settings().device_command_ttl_hours)
    await service.expire_due(session, utcnow() + ttl + timedelta(minutes=1))  # the only open command yet
    await _acknowledge(session, await approved(1))
    await _report(session, locks[2][1], "28.5")  # moving
    waiting = await approved(2)
    assert await service.delivery_target(session, waiting.id) == (waiting, False)
    await approved(3)  # queued: delivered by the server's queue worker once it runs
    return 4


def _settlement(session: AsyncSession, clerk: Principal, contract: Contract,
                today: date) -> Callable[[str, bool], Awaitable[Any]]:
    async def create(state: str, submit: bool) -> Any:
        if state == "approved":  # the customer pays everything off first: the approval needs a payoff of 0.00
            account = await money_requests.account_of(session, contract)
            await ledger.record_payment(session, clerk, contract, amount=account.payoff, value_date=today,
                                        method="bank_transfer", reference="DEMO-PAYOFF", notes="一次性结清")
        request, _ = await money_requests.create(session, clerk, SETTLEMENT, SettlementRequestIn(
            contract_id=contract.id, notes="客户申请结清, 领取发票和合格证", submit=submit))
        return request
    return create
