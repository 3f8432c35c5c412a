"""What the approval engine and the request kit hand over when an employee leaves (see
app.org.handover): the requests they filed that are not approved (draft, pending, rejected or
withdrawn: still theirs to withdraw, revise or resubmit), of every registered kind, with the
approvals they submitted; and the steps waiting on them.

The requests hook runs first and locks the request rows before the approval instances, the lock
order of the request kit (app/approvals/requests.py)."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import repository as repo
from app.approvals import requests as kit
from app.approvals.models import ApprovalAssignment, ApprovalInstance, AssignmentStatus, InstanceStatus
from app.approvals.service import hand_over_submitted, hand_over_waiting
from app.org.handover import HandoverContext, register_handover_hook

OPEN = (kit.RequestStatus.DRAFT, kit.RequestStatus.PENDING, kit.RequestStatus.REJECTED, kit.RequestStatus.WITHDRAWN)


async def _move_requests(session: AsyncSession, ctx: HandoverContext) -> int:
    moved = 0
    for kind in kit.kinds().values():  # every kind, including those registered after this module
        moved += await repo.move_open_requests(session, kind.model, ctx.principal.group_id, ctx.from_user.id,
                                               ctx.to_user.id, OPEN)
    await hand_over_submitted(session, ctx.principal, ctx.from_user.id, ctx.to_user.id)
    return moved


def _request_columns() -> Iterable[Any]:
    return [*((kind.model.requester_id, kind.model.status.in_(OPEN)) for kind in kit.kinds().values()),
            (ApprovalInstance.submitter_id, ApprovalInstance.status != InstanceStatus.APPROVED)]


async def _move_waiting_steps(session: AsyncSession, ctx: HandoverContext) -> int:
    return await hand_over_waiting(session, ctx.principal, ctx.from_user.id, ctx.to_user.id)


register_handover_hook("requests", _move_requests, covers=_request_columns)
register_handover_hook("approvals", _move_waiting_steps,
                       covers=[(ApprovalAssignment.user_id, ApprovalAssignment.status == AssignmentStatus.PENDING)])
