"""The demo approvals (seed 000's flow and requests in several states) load cleanly."""

from sqlalchemy import select

from app.approvals.demo import seed_approvals
from app.approvals.models import ApprovalInstance


async def test_demo_approvals_cover_the_states(db, org):
    await seed_approvals(db, org)
    rows = (await db.execute(select(ApprovalInstance.title, ApprovalInstance.status, ApprovalInstance.current_step_id)
                             .where(ApprovalInstance.group_id == org.group.id))).all()
    statuses = sorted(r.status for r in rows)
    assert statuses == ["approved", "pending", "pending", "pending", "rejected"]
    db.info.pop("audit_pending", None)
