"""Demo approvals: seed 000's flow (L1 approver1 → L2 approver2 → final level above 50 000 by the
system administrator) for expense requests, and a few requests in different states."""

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import flows, service
from app.approvals import repository as repo
from app.approvals.schemas import (
    AdministratorsRule,
    FlowCreate,
    RoleInCompanyRule,
    StepIn,
)
from app.core.principal import Principal
from app.expenses import service as expenses
from app.expenses.schemas import ExpenseCreate
from app.org.repository import load_principal


async def _principal(session: AsyncSession, org, username: str) -> Principal:  # noqa: ANN001
    principal = await load_principal(session, org.users[username].id)
    assert principal is not None
    return principal


async def seed_approvals(session: AsyncSession, org) -> None:  # noqa: ANN001 - DemoOrg (no import cycle)
    admin = await _principal(session, org, "admin")

    def role(code: str) -> RoleInCompanyRule:
        return RoleInCompanyRule(kind="role_in_company", role_id=org.roles[code].id)

    await flows.create_flow(session, admin, FlowCreate(
        request_type="expense", name="费用审批 (一级 → 二级 → 终审)",
        steps=[
            StepIn(name="一级审核", rule=role("approver_l1")),
            StepIn(name="二级审核", rule=role("approver_l2")),
            StepIn(name="终审 (5万元以上)", rule=AdministratorsRule(kind="administrators"), condition="amount > 50000"),
        ]))
    sales1 = await _principal(session, org, "sales1")
    approver1 = await _principal(session, org, "approver1")
    approver2 = await _principal(session, org, "approver2")

    async def expense(title: str, amount: str, category: str = "travel"):  # noqa: ANN202
        created, _ = await expenses.create(session, sales1, ExpenseCreate(title=title, amount=Decimal(amount),
                                                                          category=category))  # type: ignore[arg-type]
        return created

    await expense("客户拜访差旅 (草稿)", "860.00")
    waiting_l1 = await expense("杭州客户拜访差旅", "2380.50")
    await expenses.submit(session, sales1, waiting_l1)

    async def instance_of(e):  # noqa: ANN001, ANN202
        found = await repo.instance_for_request(session, "expense", e.id)
        return await repo.get_instance(session, approver1, found.id, for_update=True)  # type: ignore[union-attr]

    waiting_l2 = await expense("展会物料", "12800.00", "office")
    await expenses.submit(session, sales1, waiting_l2)
    await service.approve(session, approver1, await instance_of(waiting_l2), comment="同意")

    approved = await expense("挖掘机维修配件", "3600.00", "repair")
    await expenses.submit(session, sales1, approved)
    await service.approve(session, approver1, await instance_of(approved), comment="同意")
    await service.approve(session, approver2, await instance_of(approved), comment="同意")

    rejected = await expense("客户招待", "5200.00", "entertainment")
    await expenses.submit(session, sales1, rejected)
    await service.reject(session, approver1, await instance_of(rejected), reason="缺少发票, 请补充后重新提交")

    big = await expense("年度设备巡检外包", "68000.00", "repair")
    await expenses.submit(session, sales1, big)
    await service.approve(session, approver1, await instance_of(big), comment="同意")
    await service.approve(session, approver2, await instance_of(big), comment="金额较大, 请终审")
