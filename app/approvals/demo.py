"""Demo approvals: seed 000's flow (L1 approver1 → L2 approver2 → final level above 50 000 by the
system administrator) for expense requests, and a few requests in different states."""

from decimal import Decimal
from typing import Any

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
    async def submitted(title: str, amount: str, category: str, *approvals: tuple[Any, str],
                        rejection: str | None = None) -> None:
        """An expense submitted by sales1, then approved in turn (and rejected by approver1)."""
        e = await expense(title, amount, category)
        await expenses.submit(session, sales1, e)
        for approver, comment in approvals:
            await service.approve(session, approver, await instance_of(e), comment=comment)
        if rejection is not None:
            await service.reject(session, approver1, await instance_of(e), reason=rejection)

    async def instance_of(e):  # noqa: ANN001, ANN202
        found = await repo.instance_for_request(session, "expense", e.id)
        return await repo.get_instance(session, approver1, found.id, for_update=True)  # type: ignore[union-attr]

    await submitted("杭州客户拜访差旅", "2380.50", "travel")
    await submitted("展会物料", "12800.00", "office", (approver1, "同意"))
    await submitted("挖掘机维修配件", "3600.00", "repair", (approver1, "同意"), (approver2, "同意"))
    await submitted("客户招待", "5200.00", "entertainment", rejection="缺少发票, 请补充后重新提交")
    await submitted("年度设备巡检外包", "68000.00", "repair", (approver1, "同意"), (approver2, "金额较大, 请终审"))
