"""Demo data: group `demo` (华东机械集团) with nine companies and its staff, and group `other`.

Loaded by `./scripts/run` into an empty embedded database, or by `scripts/seed-demo`. The tests
seed the same organisation once per run, so demo logins and test fixtures never drift apart.
"""

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import app.domains  # noqa: F401 - the full permission catalogue
from app.approvals.demo import seed_approvals
from app.collection.demo import seed_collections
from app.contracts.demo import seed_contracts
from app.core.permissions import CATALOGUE
from app.core.principal import ScopeKind
from app.core.security import hash_password
from app.customers.demo import seed_customers
from app.devices.demo import seed_debt_requests
from app.field.demo import seed_field
from app.ledger.demo import seed_ledger
from app.messages.demo import seed_messages
from app.org.models import Company, Department, Group, Role, User, UserRole
from app.reports.demo import seed_reports
from app.webhooks.demo import seed_webhooks

DEMO_PASSWORD = "Demo@12345"

# (username, display name, company code, department, role code, manager username)
DEMO_USERS: list[tuple[str, str, str, str | None, str, str | None]] = [
    ("admin", "系统管理员", "C01", None, "sysadmin", None),
    ("leader", "王总 (公司领导)", "C01", None, "leader", None),
    ("approver2", "李经理 (二级审核)", "C01", "finance", "approver_l2", None),
    ("approver1", "赵主管 (一级审核)", "C01", "finance", "approver_l1", "approver2"),
    ("dispatcher", "周派工", "C01", "collections", "dispatcher", "approver1"),
    ("collector1", "吴催收", "C01", "collections", "collector", "dispatcher"),
    ("collector2", "郑催收", "C01", "collections", "collector", "dispatcher"),
    ("collector3", "孙催收", "C02", "collections", "collector", None),
    ("sales1", "钱业务", "C01", "sales", "salesperson", "approver1"),
    ("sales2", "冯业务", "C01", "sales", "salesperson", "approver1"),
    ("clerk1", "陈内勤", "C01", "sales", "clerk", "approver1"),
    ("investigator1", "褚调查", "C01", "finance", "investigator", "approver1"),
]

COMPANIES = [
    ("C01", "华东机械上海公司"), ("C02", "华东机械杭州公司"), ("C03", "华东机械南京公司"),
    ("C04", "华东机械苏州公司"), ("C05", "华东机械合肥公司"), ("C06", "华东机械宁波公司"),
    ("C07", "华东机械无锡公司"), ("C08", "华东机械温州公司"), ("C09", "华东机械常州公司"),
]
DEPARTMENTS = [("sales", "销售部"), ("collections", "催收部"), ("finance", "财务部")]


def _all() -> list[str]:
    return sorted(CATALOGUE)


def _reads() -> list[str]:
    return sorted(p for p in CATALOGUE if p.endswith(".read"))


def _known(*codes: str) -> list[str]:
    """Role permission lists may name permissions of areas not built yet; keep the known ones."""
    return sorted(c for c in codes if c in CATALOGUE)


# role code → (name, rank, scope, permissions factory)
ROLES = {
    "sysadmin": ("系统管理员", 100, ScopeKind.ALL, _all),
    # The leader controls risk at shipment for his seven companies (seed 000): reads, and approves.
    "leader": ("公司领导", 60, ScopeKind.COMPANIES, lambda: sorted({*_reads(), *_known("approval.approve")})),
    "approver_l2": ("二级审核人", 40, ScopeKind.COMPANY, lambda: _known(
        "company.read", "department.read", "user.read", "customer.read", "contact.read", "approval.read",
        "approval.approve", "audit.read", "expense.read", "contract.read", "machine.read", "investigation.read",
        "shipment.read", "ledger.read", "payment.reverse", "payment.refund", "charge.reverse", "case.read", "tow.read",
        "request.read", "device.read", "report.read")),
    "approver_l1": ("一级审核人", 30, ScopeKind.COMPANY, lambda: _known(
        "company.read", "department.read", "user.read", "customer.read", "contact.read", "approval.read",
        "approval.approve", "customer.assign", "expense.read", "contract.read", "machine.read",
        "investigation.read", "shipment.read", "ledger.read", "case.read", "tow.read", "request.read",
        "device.read", "report.read")),
    "dispatcher": ("催收派工", 20, ScopeKind.COMPANY, lambda: _known(
        "company.read", "department.read", "user.read", "customer.read", "approval.read", "approval.submit",
        "expense.read", "expense.create", "contract.read", "machine.read", "investigation.read",
        "investigation.dispatch", "shipment.read", "ledger.read", "case.read", "case.dispatch", "log.void",
        "attachment.upload", "tow.read", "tow.dispatch", "device.read", "message.read", "message.send", "report.read")),
    "clerk": ("内勤", 20, ScopeKind.COMPANY, lambda: _known(
        "company.read", "department.read", "user.read", "customer.read", "customer.create", "customer.update",
        "contact.read", "contact.create", "contact.update", "customer.import", "customer.export",
        "approval.read", "approval.submit", "expense.read", "expense.create", "contract.read", "contract.create",
        "contract.update", "machine.read", "machine.manage", "investigation.read", "shipment.read",
        "shipment.request", "ledger.read", "payment.record", "charge.post", "attachment.upload", "tow.read",
        "request.read", "waiver.request", "settlement.request", "gps_fee.request", "device.read",
        "unlock.request", "message.read", "message.opt_out")),
    "collector": ("催收人员", 10, ScopeKind.SELF, lambda: _known(
        "company.read", "customer.read", "contact.read", "approval.read", "approval.submit", "expense.read",
        "expense.create", "case.read", "case.collect", "attachment.upload", "tow.read", "tow.request",
        "tow.register", "request.read", "waiver.request", "settlement.request", "device.read", "lock.request",
        "unlock.request",
        "message.read", "message.send")),
    "salesperson": ("业务员", 10, ScopeKind.SELF, lambda: _known(
        "company.read", "customer.read", "customer.create", "customer.update", "customer.claim",
        "contact.read", "contact.create", "contact.update", "approval.read", "approval.submit", "expense.read",
        "expense.create", "contract.read", "contract.create", "contract.update", "machine.read",
        "attachment.upload")),
    "investigator": ("调查人员", 10, ScopeKind.SELF, lambda: _known(
        "company.read", "customer.read", "approval.read", "contract.read", "investigation.read",
        "investigation.fill", "attachment.upload")),
}


@dataclass
class DemoOrg:
    group: Group
    other_group: Group
    companies: dict[str, Company] = field(default_factory=dict)
    departments: dict[tuple[str, str], Department] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)


async def seed_org(session: AsyncSession, password_hash: str) -> DemoOrg:
    group = Group(id=uuid.uuid4(), code="demo", name="华东机械集团")
    other = Group(id=uuid.uuid4(), code="other", name="北方设备集团")
    session.add_all([group, other])
    await session.flush()
    org = DemoOrg(group=group, other_group=other)

    for code, name in COMPANIES:
        org.companies[code] = Company(id=uuid.uuid4(), group_id=group.id, code=code, name=name)
    session.add_all(org.companies.values())
    await session.flush()
    for code, company in org.companies.items():
        for key, name in DEPARTMENTS:
            org.departments[(code, key)] = Department(id=uuid.uuid4(), group_id=group.id, company_id=company.id,
                                                      name=name)
    session.add_all(org.departments.values())

    leader_companies = [org.companies[f"C0{i}"].id for i in range(1, 8)]
    for code, (name, rank, scope, perms) in ROLES.items():
        org.roles[code] = Role(
            id=uuid.uuid4(), group_id=group.id, code=code, name=name, permissions=perms(), scope_kind=scope,
            scope_company_ids=leader_companies if scope == ScopeKind.COMPANIES else [], rank=rank,
            is_system_admin=code == "sysadmin",
        )
    other_admin_role = Role(id=uuid.uuid4(), group_id=other.id, code="sysadmin", name="系统管理员",
                            permissions=_all(), scope_kind=ScopeKind.ALL, scope_company_ids=[], rank=100,
                            is_system_admin=True)
    session.add_all([*org.roles.values(), other_admin_role])
    await session.flush()

    for username, display, company_code, dept_key, role_code, manager in DEMO_USERS:
        user = User(
            id=uuid.uuid4(), group_id=group.id, company_id=org.companies[company_code].id,
            department_id=org.departments[(company_code, dept_key)].id if dept_key else None,
            manager_id=org.users[manager].id if manager else None, username=username, display_name=display,
            password_hash=password_hash,
        )
        org.users[username] = user
        session.add(user)
        await session.flush()
        session.add(UserRole(user_id=user.id, role_id=org.roles[role_code].id))

    n01 = Company(id=uuid.uuid4(), group_id=other.id, code="N01", name="北方设备北京公司")
    session.add(n01)
    await session.flush()
    other_admin = User(id=uuid.uuid4(), group_id=other.id, company_id=n01.id, username="other-admin",
                       display_name="北方管理员", password_hash=password_hash)
    session.add(other_admin)
    await session.flush()
    session.add(UserRole(user_id=other_admin.id, role_id=other_admin_role.id))
    org.users["other-admin"] = other_admin

    heads = {("C01", "sales"): "approver1", ("C01", "collections"): "dispatcher", ("C01", "finance"): "approver2"}
    for key, username in heads.items():
        org.departments[key].head_user_id = org.users[username].id
    await session.flush()
    return org


async def seed_demo(session: AsyncSession, *, only_if_empty: bool = True) -> bool:
    """Seed everything; returns False (and does nothing) when the database already has a group."""
    if only_if_empty and await session.scalar(select(Group.id).limit(1)) is not None:
        return False
    org = await seed_org(session, await hash_password(DEMO_PASSWORD))
    await seed_approvals(session, org)
    await seed_customers(session, org)
    await seed_contracts(session, org)
    await seed_ledger(session, org)
    await seed_collections(session, org)
    await seed_debt_requests(session, org)
    await seed_field(session, org)
    await seed_messages(session, org)
    await seed_reports(session, org)
    await seed_webhooks(session, org)  # after the history: only new events go out
    return True
