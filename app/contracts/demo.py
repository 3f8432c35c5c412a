"""Demo contracts: seed 000's flows (contracts: L1 approver1 → L2 approver2 → the leader above ¥300 000
financed; shipments: the leader) and 60 contracts on the demo customers of C01–C03 in every state,
each with a machine (GPS ids on most), two submitted investigations (one recommending against),
and contracts active since early 2026 with first due dates spread over the year, so the ledger's
demo (next issue) finds overdue ones in every bucket.

Everything up to approval goes through the services and the engine, as users would. Contracts
shipped in the past are recorded as shipped directly (their shipment request approved, the
contract active, the machines delivered, the ledger's schedule started on the shipment date): the
live path refuses a shipment after the first due date, and these are history. `app.ledger.demo`
then gives them their payments and charges since.
"""

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import flows
from app.approvals import repository as approvals_repo
from app.approvals import service as engine
from app.approvals.requests import RequestStatus
from app.approvals.schemas import FlowCreate, RoleAnyCompanyRule, StepIn, UsersRule
from app.contracts import investigations, machines, service, shipments
from app.contracts import repository as repo
from app.contracts.models import Contract, ContractState, ShipmentRequest
from app.contracts.permissions import CONTRACT_MIGRATE_HISTORY
from app.contracts.schemas import (
    ContractContactIn,
    ContractCreate,
    ContractUpdate,
    DispatchIn,
    InvestigationSubmit,
    MachineCreate,
    Questionnaire,
    ShipmentRequestIn,
    TermsIn,
)
from app.core.db import utcnow
from app.core.principal import Principal
from app.customers import repository as customers_repo
from app.ledger import service as ledger
from app.ledger.calendar import business_today
from app.org.repository import load_principal

S = ContractState
MODELS = [("SY215C", "excavator"), ("SY365H", "excavator"), ("XE60DA", "excavator"), ("LW500FN", "loader"),
          ("ZL50GN", "loader"), ("QY25K5", "crane"), ("STC250", "crane"), ("SR155", "other")]
# index % 10 → what becomes of the contract
PLAN = ["draft", "submitted", "rejected", "approved", "investigating", "shipping", "active", "active", "active",
        "closed"]
STRONG = {"business": {"years_in_business": 8, "fleet_size": 15, "projects": ["沪苏湖铁路土方", "临港物流园"]},
          "assets_liabilities": {"total_assets": "6800000", "total_liabilities": "1500000"},
          "financial": {"existing_loans": "900000", "overdue_count_24m": 0},
          "guarantors": [{"name": "法人代表个人担保", "relation": "法人", "net_assets": "3000000"}],
          "documents": ["营业执照.pdf", "近一年银行流水.pdf", "工程合同.pdf"]}
WEAK = {"business": {"years_in_business": 1, "fleet_size": 2},
        "assets_liabilities": {"total_assets": "900000", "total_liabilities": "760000"},
        "financial": {"existing_loans": "500000", "overdue_count_24m": 4, "notes": "两笔设备贷款曾逾期"},
        "guarantors": [], "documents": ["营业执照.pdf"]}


@dataclass(frozen=True)
class _CustomerFilter:
    """The customer list's filter shape (customers_repo.filter_customers): the owner's private customers."""

    owner_id: Any
    company_id: Any = None
    category: Any = None
    grade: Any = None
    status: str = "private"
    protection_expiring_before: Any = None
    q: Any = None


class _Demo:
    def __init__(self, session: AsyncSession, org: Any, users: dict[str, Principal]) -> None:
        self.session, self.org, self.users = session, org, users
        self.rng = random.Random(20261124)  # noqa: S311 - demo data, reproducible
        self.serial = 0

    async def machine(self, actor: Principal, company_id: Any) -> Any:
        self.serial += 1
        model, category = MODELS[self.serial % len(MODELS)]
        gps = None if self.serial % 6 == 0 else f"GPS-86{self.serial:06d}"
        return await machines.create_machine(self.session, actor, MachineCreate(
            company_id=company_id, model=model, category=category, serial_number=f"{model}-2026{self.serial:04d}",
            engine_number=f"EN{self.serial:07d}", certificate_number=f"HGZ-2026-{self.serial:05d}",
            gps_device_id=gps))

    def terms(self, i: int, first_due: date) -> tuple[str, TermsIn]:
        price = Decimal(self.rng.choice([280, 360, 450, 520, 680, 880, 1200])) * 1000
        if i % 17 == 3:  # a lease
            return "lease", TermsIn(price=price, down_payment=Decimal("0"), annual_rate=Decimal("0"),
                                    term_months=24, first_due_date=first_due, schedule_kind="lease",
                                    monthly_rent=(price / 30).quantize(Decimal("1")))
        if i % 19 == 5:  # full payment: one instalment, no interest
            return "full_payment", TermsIn(price=price, down_payment=Decimal("0"), annual_rate=Decimal("0"),
                                           term_months=1, first_due_date=first_due, schedule_kind="annuity")
        down = (price * Decimal(self.rng.choice(["0.2", "0.3", "0.4"]))).quantize(Decimal("1"))
        kind = self.rng.choice(["annuity", "annuity", "annuity", "equal_principal", "interest_only"])
        return "instalment_sale", TermsIn(
            price=price, down_payment=down, annual_rate=Decimal(self.rng.choice(["0.045", "0.06", "0.075", "0.09"])),
            term_months=self.rng.choice([12, 24, 36]), first_due_date=first_due, schedule_kind=kind)

    async def instance(self, request_type: str, request_id: Any) -> Any:
        found = await approvals_repo.instance_for_request(self.session, request_type, request_id)
        assert found is not None
        return await approvals_repo.get_instance(self.session, self.users["admin"], found.id, for_update=True)

    async def approve_contract(self, contract: Contract) -> None:
        """Each step approved by whom it waits on (approver1, approver2, the leader; the
        administrators where a company has no approver of its own)."""
        instance = await self.instance("contract", contract.id)
        while instance.status == "pending":
            await engine.approve(self.session, await self.waiting_on(instance), instance, comment="同意")
            instance = await self.instance("contract", contract.id)

    async def waiting_on(self, instance: Any) -> Principal:
        waiting = await approvals_repo.pending_assignments(self.session, instance.id)
        approver = await load_principal(self.session, waiting[0].user_id)
        assert approver is not None
        return approver

    async def ship_in_the_past(self, contract: Contract, clerk: Principal) -> None:
        shipped = contract.first_due_date - timedelta(days=12)
        self.session.add(ShipmentRequest(
            group_id=contract.group_id, company_id=contract.company_id, department_id=clerk.department_id,
            requester_id=clerk.user_id, status=RequestStatus.APPROVED, contract_id=contract.id,
            contract_number=contract.number, financed=contract.financed, planned_date=shipped,
            submitted_at=utcnow(), approved_at=utcnow()))
        contract.state, contract.shipment_date = S.ACTIVE, shipped
        await repo.deliver_machines(self.session, contract.id, shipped)
        _, schedule = await service.schedule_of(self.session, contract)
        await ledger.start_schedule(self.session, clerk, contract, schedule, shipped)
        await self.session.flush()


async def _users(session: AsyncSession, org: Any) -> dict[str, Principal]:
    out = {}
    for name in ("admin", "leader", "approver1", "approver2", "dispatcher", "clerk1", "sales1", "sales2",
                 "investigator1"):
        principal = await load_principal(session, org.users[name].id)
        assert principal is not None
        out[name] = principal
    return out


async def _flows(session: AsyncSession, org: Any, admin: Principal) -> None:
    def any_company(code: str) -> RoleAnyCompanyRule:
        return RoleAnyCompanyRule(kind="role_any_company", role_id=org.roles[code].id)

    leader = UsersRule(kind="users", user_ids=[org.users["leader"].id])
    await flows.create_flow(session, admin, FlowCreate(
        request_type="contract", name="销售合同审批 (一级 → 二级 → 30万以上领导终审)", steps=[
            StepIn(name="一级审核", rule=any_company("approver_l1")),
            StepIn(name="二级审核", rule=any_company("approver_l2")),
            StepIn(name="终审 (融资额30万以上)", rule=leader, condition="financed > 300000")]))
    await flows.create_flow(session, admin, FlowCreate(
        request_type="shipment", name="出库发车 (公司领导风控)", steps=[StepIn(name="发车风控", rule=leader)]))


async def seed_contracts(session: AsyncSession, org: Any, count: int = 60) -> None:  # noqa: C901 - a script
    users = await _users(session, org)
    await _flows(session, org, users["admin"])
    demo = _Demo(session, org, users)
    customers = []
    for owner in ("sales1", "sales2"):
        rows = (await session.scalars(customers_repo.filter_customers(
            customers_repo.readable_customers(users[owner]), _CustomerFilter(owner_id=org.users[owner].id)))).all()
        customers += [(owner, c) for c in sorted(rows, key=lambda c: c.name)[:count // 2]]
    c01 = org.companies["C01"].id
    today = await business_today(session, c01)
    # The history's first dues fall in the eleven months before this one, whatever day the demo is seeded.
    first_month = today.year * 12 + today.month - 1 - 11
    investigated = 0
    for i, (owner, customer) in enumerate(customers[:count]):
        plan = PLAN[i % len(PLAN)]
        clerk = users["clerk1"] if customer.company_id == c01 else users["admin"]
        historical = plan in ("active", "closed")
        month = first_month + (i * 7) % 11
        first_due = (date(month // 12, month % 12 + 1, 10 + i % 18) if historical
                     else today + timedelta(days=25 + (i * 11) % 60))
        sale_kind, terms = demo.terms(i, first_due)
        contacts = await customers_repo.contacts_of_customer(session, customer.id)
        # The history is entered as a migration (its first dues lie in past months): the salesperson
        # migrates their own contracts, which takes `contract.migrate_history`.
        author = (replace(users[owner], permissions=users[owner].permissions | {CONTRACT_MIGRATE_HISTORY})
                  if historical else users[owner])
        contract, _ = await service.create_contract(session, author, ContractCreate(
            customer_id=customer.id, sale_kind=sale_kind, terms=terms,
            signed_date=first_due - timedelta(days=40) if historical else None,
            # The demo's investigator works for C01 (investigators investigate for their own company).
            needs_investigation=customer.company_id == c01 and (plan == "investigating" or plan == "approved"
                                                                and i % 20 == 3),
            notes=f"{customer.name} 购机 (演示数据)"))
        machine = await demo.machine(clerk, customer.company_id)
        await service.update_contract(session, clerk, contract, ContractUpdate(
            machine_ids=[machine.id],
            contacts=[ContractContactIn(contact_id=c.id, relation="legal_representative") for c, _ in contacts[:1]]))
        if plan == "draft":
            continue
        if plan == "closed" and i % 30 == 9:
            await service.cancel(session, clerk, contract, "客户取消购机")
            continue
        # The clerk of C01 submits; elsewhere the salesperson (the administrator is no submitter).
        await service.submit(session, clerk if customer.company_id == c01 else users[owner], contract)
        if plan == "submitted":
            continue
        if plan == "rejected":
            instance = await demo.instance("contract", contract.id)
            await engine.reject(session, await demo.waiting_on(instance), instance,
                                reason="首付比例偏低, 请与客户确认后重新提交")
            continue
        await demo.approve_contract(contract)
        if contract.needs_investigation:
            investigation = await repo.investigation_of(session, contract.id)
            assert investigation is not None
            if investigated < 3:
                await investigations.dispatch(session, users["dispatcher"], investigation,
                                              DispatchIn(investigator_id=org.users["investigator1"].id))
            if investigated < 2:
                answers = Questionnaire.model_validate(STRONG if investigated == 0 else WEAK)
                await investigations.submit(session, users["investigator1"], investigation, InvestigationSubmit(
                    answers=answers, recommendation="ship" if investigated == 0 else "do_not_ship",
                    comment="经营稳定, 建议发车" if investigated == 0 else "负债率高且有逾期记录, 不建议发车"))
            investigated += 1
            continue
        if plan == "shipping":
            await shipments.request_shipment(session, clerk, contract, ShipmentRequestIn(notes="随车附件齐全"))
        elif historical:
            await demo.ship_in_the_past(contract, clerk)
            if plan == "closed":
                contract.state = S.SETTLED if i % 30 == 19 else S.REPOSSESSED
                contract.closed_reason = "已结清, 发票及合格证已发放" if contract.state == S.SETTLED else "逾期拖机"
        await session.flush()
