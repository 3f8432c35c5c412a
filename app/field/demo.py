"""The field walkthrough's demo data (README "A day in the field"): approval flows for what a
collector files from the phone (interest waivers, tow and settlement requests: L1 `approver1`, then
L2 `approver2` above ¥1 000 for waivers), unless a flow exists already, and a morning notification
for each C01 collector."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import flows
from app.approvals import repository as approvals_repo
from app.approvals.schemas import FlowCreate, RoleInCompanyRule, StepIn
from app.notifications.service import notify
from app.org.repository import load_principal

FIELD_FLOWS = {
    "interest_waiver": ("利息减免审批", "amount > 1000"),
    "tow": ("拖机申请审批", None),
    "settlement_request": ("结清申请审批", None),
}


async def seed_field(session: AsyncSession, org) -> None:  # noqa: ANN001 - DemoOrg (no import cycle)
    admin = await load_principal(session, org.users["admin"].id)
    assert admin is not None

    def role(code: str) -> RoleInCompanyRule:
        return RoleInCompanyRule(kind="role_in_company", role_id=org.roles[code].id)

    for request_type, (name, second_level) in FIELD_FLOWS.items():
        if await approvals_repo.active_flow_exists(session, org.group.id, request_type, None):
            continue
        steps = [StepIn(name="一级审核", rule=role("approver_l1"))]
        if second_level:
            steps.append(StepIn(name="二级审核", rule=role("approver_l2"), condition=second_level))
        await flows.create_flow(session, admin, FlowCreate(request_type=request_type, name=name, steps=steps))
    await notify(session, group_id=org.group.id, user_ids=[org.users["collector1"].id, org.users["collector2"].id],
                 kind="reminder", title="今日待办: 先跟进承诺今天到期的客户", entity_type="worklist")
