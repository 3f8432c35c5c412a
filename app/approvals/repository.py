"""Every query of the approval engine. Reads of instances start from `readable(principal, ...)`."""

import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, case, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.approvals.errors import (
    ApprovalFlowNotFound,
    ApprovalNotFound,
)
from app.approvals.models import (
    ApprovalAction,
    ApprovalAssignment,
    ApprovalFlow,
    ApprovalFlowVersion,
    ApprovalInstance,
    ApprovalRound,
    ApprovalStep,
    AssignmentStatus,
    InstanceStatus,
)
from app.core.db import utcnow
from app.core.principal import Principal
from app.core.scoping import readable

# --- flows ---------------------------------------------------------------------------------------------


async def effective_flow(session: AsyncSession, group_id: uuid.UUID, request_type: str,
                         company_id: uuid.UUID) -> tuple[ApprovalFlow, ApprovalFlowVersion] | None:
    """The company's active flow for the type, else the group's; with its current version."""
    row = (await session.execute(
        select(ApprovalFlow, ApprovalFlowVersion)
        .join(ApprovalFlowVersion, and_(ApprovalFlowVersion.flow_id == ApprovalFlow.id,
                                        ApprovalFlowVersion.number == ApprovalFlow.current_version))
        .where(ApprovalFlow.group_id == group_id, ApprovalFlow.request_type == request_type,
               ApprovalFlow.is_active.is_(True),
               (ApprovalFlow.company_id == company_id) | ApprovalFlow.company_id.is_(None))
        .order_by(ApprovalFlow.company_id.is_(None))  # the company's own flow first
        .limit(1)
    )).first()
    return None if row is None else (row[0], row[1])


async def active_flow_exists(session: AsyncSession, group_id: uuid.UUID, request_type: str,
                             company_id: uuid.UUID | None, *, excluding: uuid.UUID | None = None) -> bool:
    stmt = select(ApprovalFlow.id).where(
        ApprovalFlow.group_id == group_id, ApprovalFlow.request_type == request_type,
        ApprovalFlow.is_active.is_(True),
        ApprovalFlow.company_id == company_id if company_id is not None else ApprovalFlow.company_id.is_(None),
    )
    if excluding is not None:
        stmt = stmt.where(ApprovalFlow.id != excluding)
    return await session.scalar(stmt.limit(1)) is not None


async def flow_version(session: AsyncSession, flow_id: uuid.UUID, number: int) -> ApprovalFlowVersion:
    version = await session.scalar(select(ApprovalFlowVersion).where(ApprovalFlowVersion.flow_id == flow_id,
                                                                      ApprovalFlowVersion.number == number))
    if version is None:  # pragma: no cover - written with the flow
        raise ApprovalFlowNotFound("Flow version not found.")
    return version


async def current_versions(session: AsyncSession, flows: list[ApprovalFlow]) -> dict[uuid.UUID, ApprovalFlowVersion]:
    if not flows:
        return {}
    rows = (await session.scalars(
        select(ApprovalFlowVersion).join(ApprovalFlow, ApprovalFlow.id == ApprovalFlowVersion.flow_id)
        .where(ApprovalFlowVersion.flow_id.in_([f.id for f in flows]),
               ApprovalFlowVersion.number == ApprovalFlow.current_version)
    )).all()
    return {v.flow_id: v for v in rows}


async def versions_of(session: AsyncSession, flow_id: uuid.UUID) -> list[ApprovalFlowVersion]:
    return list((await session.scalars(
        select(ApprovalFlowVersion).where(ApprovalFlowVersion.flow_id == flow_id)
        .order_by(ApprovalFlowVersion.number.desc()))).all())


# --- requests ------------------------------------------------------------------------------------------

R = TypeVar("R", bound=Any)


async def lock_request(session: AsyncSession, model: type[R], request_id: uuid.UUID) -> R | None:
    """The request row, locked for this transaction (the first lock of any request action)."""
    return await session.scalar(select(model).where(model.id == request_id).with_for_update())


# --- instances -----------------------------------------------------------------------------------------

_ASSIGNMENT_ORDER = (ApprovalAssignment.assigned_at, ApprovalAssignment.id)
C = TypeVar("C", bound=Any)


async def _of_instance(session: AsyncSession, model: type[C], instance_id: uuid.UUID, *order_by: Any,
                       where: Any = None) -> list[C]:
    """An instance's child rows (steps, assignments, rounds, actions) in the order given."""
    stmt = select(model).where(model.instance_id == instance_id).order_by(*order_by)
    if where is not None:
        stmt = stmt.where(where)
    return list((await session.scalars(stmt)).all())


async def get_instance(session: AsyncSession, principal: Principal, instance_id: uuid.UUID,
                       *, for_update: bool = False) -> ApprovalInstance:
    """The instance if the principal may see it (404 otherwise); row-locked for actions.

    The row lock serialises every action on one instance: two approvers acting at once are
    decided one after the other, and the second sees the step has moved on.
    """
    stmt = readable(principal, ApprovalInstance).where(ApprovalInstance.id == instance_id)
    if for_update:
        # populate_existing: an instance read earlier in this transaction is refreshed with what the
        # lock waited for, not served stale from the session.
        stmt = stmt.with_for_update(of=ApprovalInstance).execution_options(populate_existing=True)
    instance = await session.scalar(stmt)
    if instance is None:
        raise ApprovalNotFound(f"Approval {instance_id} not found.")
    return instance


async def pending_instances_waiting_on(session: AsyncSession, group_id: uuid.UUID,
                                       user_id: uuid.UUID) -> list[ApprovalInstance]:
    """Pending instances with a step waiting on `user_id`, row-locked in id order (the same lock
    an approver's action takes, so a handover and an approval are decided one after the other)."""
    waiting = select(ApprovalAssignment.instance_id).where(ApprovalAssignment.user_id == user_id,
                                                           ApprovalAssignment.status == AssignmentStatus.PENDING)
    return list((await session.scalars(
        select(ApprovalInstance).where(ApprovalInstance.group_id == group_id,
                                       ApprovalInstance.status == InstanceStatus.PENDING,
                                       ApprovalInstance.id.in_(waiting))
        .order_by(ApprovalInstance.id).with_for_update()
    )).all())


async def open_instances_submitted_by(session: AsyncSession, group_id: uuid.UUID,
                                     user_id: uuid.UUID) -> list[ApprovalInstance]:
    """The user's submitted instances not approved (pending, or back with them: rejected,
    withdrawn), row-locked in id order like `pending_instances_waiting_on`."""
    return list((await session.scalars(
        select(ApprovalInstance).where(ApprovalInstance.group_id == group_id, ApprovalInstance.submitter_id == user_id,
                                       ApprovalInstance.status != InstanceStatus.APPROVED)
        .order_by(ApprovalInstance.id).with_for_update()
    )).all())


async def move_open_requests(session: AsyncSession, model: Any, group_id: uuid.UUID, from_user_id: uuid.UUID,
                             to_user_id: uuid.UUID, statuses: tuple[str, ...]) -> int:
    """A request kind's rows of one requester in `statuses` to another requester, in one
    statement. A client reference the receiver already used for a request of theirs is dropped
    from the moved one (client references are unique per requester)."""
    theirs = aliased(model)
    clash = exists().where(theirs.requester_id == to_user_id, theirs.client_ref == model.client_ref)
    result = await session.execute(
        update(model).where(model.group_id == group_id, model.requester_id == from_user_id,
                            model.status.in_(statuses))
        .values(requester_id=to_user_id, client_ref=case((clash, None), else_=model.client_ref),
                client_body=case((clash, None), else_=model.client_body), version=model.version + 1,
                updated_at=utcnow())
        .execution_options(synchronize_session="fetch"))
    return result.rowcount or 0  # type: ignore[attr-defined]


async def instance_for_request(session: AsyncSession, request_type: str, request_id: uuid.UUID,
                               *, for_update: bool = False) -> ApprovalInstance | None:
    stmt = select(ApprovalInstance).where(ApprovalInstance.request_type == request_type,
                                          ApprovalInstance.request_id == request_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def steps_of_round(session: AsyncSession, instance_id: uuid.UUID, round_: int) -> list[ApprovalStep]:
    return await _of_instance(session, ApprovalStep, instance_id, ApprovalStep.position,
                              where=ApprovalStep.round == round_)


async def step(session: AsyncSession, step_id: uuid.UUID) -> ApprovalStep | None:
    return await session.scalar(select(ApprovalStep).where(ApprovalStep.id == step_id))


async def assignments_of_step(session: AsyncSession, step_id: uuid.UUID) -> list[ApprovalAssignment]:
    return list((await session.scalars(select(ApprovalAssignment).where(ApprovalAssignment.step_id == step_id)
                                       .order_by(*_ASSIGNMENT_ORDER))).all())


async def pending_assignments(session: AsyncSession, instance_id: uuid.UUID) -> list[ApprovalAssignment]:
    return await _of_instance(session, ApprovalAssignment, instance_id, *_ASSIGNMENT_ORDER,
                              where=ApprovalAssignment.status == AssignmentStatus.PENDING)


async def has_decided_in_round(session: AsyncSession, instance: ApprovalInstance, user_id: uuid.UUID) -> bool:
    """Whether the user had an assignment in this round that is no longer pending (acted, or moved on)."""
    found = await session.scalar(
        select(ApprovalAssignment.id)
        .join(ApprovalStep, ApprovalStep.id == ApprovalAssignment.step_id)
        .where(ApprovalAssignment.instance_id == instance.id, ApprovalAssignment.user_id == user_id,
               ApprovalAssignment.status != AssignmentStatus.PENDING, ApprovalStep.round == instance.round)
        .limit(1))
    return found is not None


async def steps_of(session: AsyncSession, instance_id: uuid.UUID) -> list[ApprovalStep]:
    return await _of_instance(session, ApprovalStep, instance_id, ApprovalStep.round, ApprovalStep.position)


async def assignments_of(session: AsyncSession, instance_id: uuid.UUID) -> list[ApprovalAssignment]:
    return await _of_instance(session, ApprovalAssignment, instance_id, *_ASSIGNMENT_ORDER)


async def rounds_of(session: AsyncSession, instance_id: uuid.UUID) -> list[ApprovalRound]:
    return await _of_instance(session, ApprovalRound, instance_id, ApprovalRound.round)


async def close_round(session: AsyncSession, instance: ApprovalInstance) -> None:
    """Record how the instance's current round ended (its status now) and when."""
    await session.execute(
        update(ApprovalRound).where(ApprovalRound.instance_id == instance.id, ApprovalRound.round == instance.round)
        .values(outcome=instance.status, decided_at=instance.decided_at))


async def actions_of(session: AsyncSession, instance_id: uuid.UUID) -> list[ApprovalAction]:
    return await _of_instance(session, ApprovalAction, instance_id, ApprovalAction.created_at, ApprovalAction.id)


def list_statement(principal: Principal, *, waiting_on_me: bool = False, submitted_by_me: bool = False,
                   status: str | None = None, request_type: str | None = None,
                   waiting_before: datetime | None = None) -> Select:  # type: ignore[type-arg]
    """The scoped list; the inbox joins the pending assignments (partial index on user_id)."""
    stmt = readable(principal, ApprovalInstance)
    if waiting_on_me:
        stmt = stmt.join(ApprovalAssignment, and_(ApprovalAssignment.instance_id == ApprovalInstance.id,
                                                  ApprovalAssignment.user_id == principal.user_id,
                                                  ApprovalAssignment.status == AssignmentStatus.PENDING))
    if submitted_by_me:
        stmt = stmt.where(ApprovalInstance.submitter_id == principal.user_id)
    if status is not None:
        stmt = stmt.where(ApprovalInstance.status == status)
    if request_type is not None:
        stmt = stmt.where(ApprovalInstance.request_type == request_type)
    if waiting_before is not None:
        stmt = stmt.where(ApprovalInstance.status == InstanceStatus.PENDING,
                          ApprovalInstance.waiting_since <= waiting_before)
    return stmt


async def current_steps_and_waiting(session: AsyncSession, instances: list[ApprovalInstance]
                                    ) -> tuple[dict[uuid.UUID, ApprovalStep], dict[uuid.UUID, list[uuid.UUID]]]:
    """Current step and pending approvers of each listed instance: two queries for a whole page."""
    step_ids = [i.current_step_id for i in instances if i.current_step_id is not None]
    if not step_ids:
        return {}, {}
    steps = {s.id: s for s in (await session.scalars(select(ApprovalStep).where(ApprovalStep.id.in_(step_ids))))}
    waiting: dict[uuid.UUID, list[uuid.UUID]] = {}
    rows = (await session.execute(
        select(ApprovalAssignment.step_id, ApprovalAssignment.user_id)
        .where(ApprovalAssignment.step_id.in_(step_ids), ApprovalAssignment.status == AssignmentStatus.PENDING)
        .order_by(ApprovalAssignment.assigned_at, ApprovalAssignment.id))).all()
    for step_id, user_id in rows:
        waiting.setdefault(step_id, []).append(user_id)
    return steps, waiting
