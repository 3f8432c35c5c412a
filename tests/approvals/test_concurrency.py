"""Twenty approvers pressing "approve" on one step at the same moment, over real connections:
exactly one wins, the rest get 409, and the final effect is applied once."""

import asyncio
from decimal import Decimal

import httpx
from sqlalchemy import delete, func, select

from app.approvals import flows as approvals
from app.approvals.models import ApprovalFlow, ApprovalInstance
from app.approvals.schemas import FlowCreate, StepIn, UsersRule
from app.core import db as core_db
from app.core.audit import AuditEvent
from app.expenses import service as expenses
from app.expenses.models import ExpenseRequest
from app.expenses.schemas import ExpenseCreate
from app.notifications.models import Notification
from app.org.repository import load_principal
from tests.conftest import token_for


async def test_twenty_simultaneous_approvals_one_wins(engine, org):
    from app.main import create_app

    factory = core_db.session_factory()
    async with factory() as session:
        admin = await load_principal(session, org.users["admin"].id)
        sales1 = await load_principal(session, org.users["sales1"].id)
        flow, _ = await approvals.create_flow(session, admin, FlowCreate(
            request_type="expense", name="concurrency", company_id=org.companies["C01"].id,
            steps=[StepIn(name="L1", rule=UsersRule(kind="users", user_ids=[org.users["approver1"].id,
                                                                             org.users["approver2"].id]))]))
        expense, _ = await expenses.create(session, sales1, ExpenseCreate(title="并发", amount=Decimal("99.00")))
        await expenses.submit(session, sales1, expense)
        instance_id = await session.scalar(select(ApprovalInstance.id).where(ApprovalInstance.request_id == expense.id))
        flow_id, expense_id = flow.id, expense.id
        await core_db.commit(session)

    try:
        app = create_app()  # the default session provider: one real connection per request
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        tokens = [token_for(org, "approver1" if i % 2 else "approver2") for i in range(20)]
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(*(
                client.post(f"/api/v1/approvals/{instance_id}/approve", json={"comment": f"#{i}"},
                            headers={"Authorization": f"Bearer {token}"})
                for i, token in enumerate(tokens)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [409] * 19, [r.text for r in responses if r.status_code not in (200, 409)]

        async with factory() as session:
            assert await session.scalar(select(ExpenseRequest.status).where(ExpenseRequest.id == expense_id)) \
                == "approved"
            applied = await session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "expense.approved", AuditEvent.entity_id == str(expense_id)))
            assert applied == 1
            approvals_recorded = await session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "approval.approved", AuditEvent.entity_id == str(instance_id)))
            assert approvals_recorded == 1
    finally:
        async with factory() as session:
            await session.execute(delete(Notification).where(Notification.entity_id == str(instance_id)))
            await session.execute(delete(ExpenseRequest).where(ExpenseRequest.id == expense_id))
            await session.execute(delete(ApprovalInstance).where(ApprovalInstance.id == instance_id))
            await session.execute(delete(ApprovalFlow).where(ApprovalFlow.id == flow_id))
            await session.commit()


