"""The approval engine's rules: flow configuration and the life of an instance.

Instance state machine (`TRANSITIONS`): pending → approved | rejected | withdrawn; rejected and
withdrawn → pending again on resubmission (a new round, the flow restarts); approved is final.
Every action runs under the instance's row lock (repository.get_instance(for_update=True)), so
two approvers acting at once are decided one after the other.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import conditions, registry, rules
from app.approvals import repository as repo
from app.approvals.errors import (
    ApprovalAlreadyAssigned,
    ApprovalCompanyOutOfScope,
    ApprovalEffectAlreadyApplied,
    ApprovalIllegalTransition,
    ApprovalNoApprover,
    ApprovalNoFlow,
    ApprovalNotAnApprover,
    ApprovalNotSubmitter,
    ApprovalOwnRequest,
    ApprovalReasonRequired,
    ApprovalRuleNotHeld,
    ApprovalStepMovedOn,
    ApprovalStepWithoutApprover,
    ApprovalTransferTargetIneligible,
    ApprovalUrgeTooSoon,
)
from app.approvals.models import (
    ActionKind,
    ApprovalAction,
    ApprovalAssignment,
    ApprovalFlowVersion,
    ApprovalInstance,
    ApprovalRound,
    ApprovalStep,
    AssignmentOrigin,
    AssignmentStatus,
    InstanceStatus,
    StepStatus,
)
from app.approvals.permissions import APPROVAL_APPROVE
from app.core import audit, events
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.principal import Principal
from app.notifications.service import notify
from app.org import repository as org_repo
from app.org.repository import load_principals


async def lock_for_action(session: AsyncSession, actor: Principal, instance_id: uuid.UUID) -> ApprovalInstance:
    """The instance, locked for an action, in the request kit's lock order: the request row first
    (through its type's `lock`), then the instance, so an action here and a submit or withdraw on
    the request's own routes never wait on each other in opposite orders."""
    instance = await repo.get_instance(session, actor, instance_id)
    if registry.is_registered(instance.request_type):
        lock = registry.get(instance.request_type).lock
        if lock is not None:
            await lock(session, instance.request_id)
    return await repo.get_instance(session, actor, instance_id, for_update=True)


# --- the state machine ---------------------------------------------------------------------------------

# (state, action) → state after; "approve" keeps the instance pending until the last step.
TRANSITIONS: dict[tuple[str | None, str], tuple[str, ...]] = {
    (None, ActionKind.SUBMIT): (InstanceStatus.PENDING,),
    (InstanceStatus.REJECTED, ActionKind.SUBMIT): (InstanceStatus.PENDING,),
    (InstanceStatus.WITHDRAWN, ActionKind.SUBMIT): (InstanceStatus.PENDING,),
    (InstanceStatus.PENDING, ActionKind.APPROVE): (InstanceStatus.PENDING, InstanceStatus.APPROVED),
    (InstanceStatus.PENDING, ActionKind.REJECT): (InstanceStatus.REJECTED,),
    (InstanceStatus.PENDING, ActionKind.WITHDRAW): (InstanceStatus.WITHDRAWN,),
    (InstanceStatus.PENDING, ActionKind.URGE): (InstanceStatus.PENDING,),
    (InstanceStatus.PENDING, ActionKind.TRANSFER): (InstanceStatus.PENDING,),
}



def ensure_transition(status: str | None, action: str) -> tuple[str, ...]:
    """The states an action may lead to from `status`; 409 when the action is illegal there."""
    targets = TRANSITIONS.get((status, action))
    if targets is None:
        raise ApprovalIllegalTransition(f"Cannot {action} an approval that is {status or 'not submitted'}.")
    return targets


def _set_status(instance: ApprovalInstance, action: str, new: str) -> None:
    if new not in ensure_transition(instance.status, action):  # pragma: no cover - a programming error
        raise RuntimeError(f"illegal transition {instance.status} -{action}-> {new}")
    instance.status = new


# --- resolving approvers -------------------------------------------------------------------------------


async def may_approve(session: AsyncSession, user_ids: Iterable[uuid.UUID],
                       company_id: uuid.UUID | None) -> list[uuid.UUID]:
    """Those of `user_ids` (in their order) who may act as approvers for a request of `company_id`
    (None: of some company): active, approval.approve, the company in scope. A bounded number of
    queries however many candidates a rule finds."""
    wanted = list(dict.fromkeys(user_ids))
    principals = await load_principals(session, wanted)

    def eligible(principal: Principal | None) -> bool:
        if principal is None or not principal.has(APPROVAL_APPROVE):
            return False
        if company_id is None:
            return principal.scope.all_companies or bool(principal.scope.company_ids)
        return principal.scope.covers_company(company_id)

    return [u for u in wanted if eligible(principals.get(u))]


@dataclass(frozen=True)
class Resolution:
    """Whom a step waits on: (users, origin, note)."""

    users: list[uuid.UUID]
    origin: str
    note: str | None


async def resolve_rules(session: AsyncSession, request: rules.RequestLike,
                        step_rules: list[dict[str, Any]]) -> list[Resolution | None]:
    """Whom each of several steps would wait on if reached now; None for a step that nobody but the
    submitter could approve. A bounded number of queries however many steps and candidates:

    - only users who may approve now (approval.approve, the company in scope) count;
    - the submitter is skipped; if they were the only one, the step goes to their manager;
    - a rule that finds nobody goes to the group's administrators (never approves itself).
    """
    submitter = await org_repo.user_by_id(session, request.submitter_id)
    department_id = submitter.department_id if submitter else None
    manager_id = submitter.manager_id if submitter else None
    data = await rules.prefetch(session, request, step_rules, department_id, manager_id)
    admins = data.admins
    per_rule = [rules.candidates(data, rule) for rule in step_rules]
    everyone = [u for c in per_rule for u in c] + admins + ([manager_id] if manager_id else [])
    may = set(await may_approve(session, everyone, request.company_id))
    fallback = [u for u in admins if u in may and u != request.submitter_id]

    def decide(candidates: list[uuid.UUID]) -> Resolution | None:
        eligible = [u for u in dict.fromkeys(candidates) if u in may]
        if request.submitter_id in eligible:
            others = [u for u in eligible if u != request.submitter_id]
            if others:
                return Resolution(others, AssignmentOrigin.RULE, "submitter skipped")
            if manager_id and manager_id != request.submitter_id and manager_id in may:
                return Resolution([manager_id], AssignmentOrigin.MANAGER,
                                  "the submitter was the only approver: their manager")
        elif eligible:
            return Resolution(eligible, AssignmentOrigin.RULE, None)
        if not fallback:
            return None
        return Resolution(fallback, AssignmentOrigin.ADMINISTRATORS,
                          "the rule found nobody: the group's administrators")

    return [decide(c) for c in per_rule]


async def resolve_approvers(session: AsyncSession, instance: ApprovalInstance,
                            step: ApprovalStep) -> tuple[list[uuid.UUID], str, str | None]:
    """Whom a step waits on, decided at the moment it is reached: (users, origin, note); 409 when
    nobody but the submitter could approve it (see `resolve_rules`)."""
    resolution = (await resolve_rules(session, instance, [step.rule]))[0]
    if resolution is None:
        raise ApprovalNoApprover("Nobody may approve this step (no administrator other than the submitter).")
    return resolution.users, resolution.origin, resolution.note


async def _fallback_administrators(session: AsyncSession, instance: ApprovalInstance) -> list[uuid.UUID]:
    """The group's administrators who may approve the instance, never its submitter; 409 if none."""
    admins = await may_approve(session, [u for u in await org_repo.system_admins(session, instance.group_id)
                                          if u != instance.submitter_id], instance.company_id)
    if not admins:
        raise ApprovalNoApprover("Nobody may approve this step (no administrator other than the submitter).")
    return admins


async def _still_holds(session: AsyncSession, actor: Principal, instance: ApprovalInstance, step: ApprovalStep,
                       assignment: ApprovalAssignment) -> bool:
    """Whether the approver still holds what put them on the step (checked when they act)."""
    if assignment.origin == AssignmentOrigin.TRANSFER:
        return True
    if assignment.origin == AssignmentOrigin.ADMINISTRATORS:
        return actor.is_system_admin
    submitter = await org_repo.user_by_id(session, instance.submitter_id)
    if assignment.origin == AssignmentOrigin.MANAGER:
        return submitter is not None and submitter.manager_id == actor.user_id
    acting = rules.Acting(session, actor, instance, submitter.department_id if submitter else None,
                          submitter.manager_id if submitter else None)
    return await rules.still_holds(acting, step.rule)


# --- the life of an instance -----------------------------------------------------------------------


def _action(session: AsyncSession, instance: ApprovalInstance, actor: Principal, kind: str, *,
            step: ApprovalStep | None = None, comment: str | None = None, target: uuid.UUID | None = None,
            data: dict[str, Any] | None = None) -> None:
    session.add(ApprovalAction(instance_id=instance.id, round=instance.round, step_id=step.id if step else None,
                               actor_id=actor.user_id, action=kind, comment=comment, target_user_id=target,
                               data=data, created_at=utcnow()))


async def _activate(session: AsyncSession, instance: ApprovalInstance, step: ApprovalStep,
                    resolution: Resolution | None = None) -> None:
    """Reach a step: whom it waits on is resolved now, unless the caller has just resolved it."""
    if resolution is not None:
        users, origin, note = resolution.users, resolution.origin, resolution.note
    else:
        users, origin, note = await resolve_approvers(session, instance, step)
    now = utcnow()
    step.status, step.started_at, step.note = StepStatus.ACTIVE, now, note
    if origin != AssignmentOrigin.RULE:
        step.mode = "any"  # one fallback approver suffices
    for user_id in users:
        session.add(ApprovalAssignment(instance_id=instance.id, step_id=step.id, user_id=user_id, origin=origin,
                                       status=AssignmentStatus.PENDING, assigned_at=now))
    instance.current_step_id, instance.waiting_since = step.id, now
    await notify(session, group_id=instance.group_id, user_ids=users, kind="approval.waiting",
                 title=f"待审批: {instance.title}", body=f"{step.name} · {instance.request_type}",
                 entity_type="approval", entity_id=instance.id)


async def _advance(session: AsyncSession, actor: Principal, instance: ApprovalInstance,
                   after_position: int, comment: str | None) -> None:
    """Reach the next applicable step of the round, or finish: final approval and its effect."""
    for step in await repo.steps_of_round(session, instance.id, instance.round):
        if step.position > after_position and step.status == StepStatus.WAITING:
            await _activate(session, instance, step)
            return
    _set_status(instance, ActionKind.APPROVE, InstanceStatus.APPROVED)
    instance.current_step_id, instance.waiting_since, instance.decided_at = None, None, utcnow()
    await repo.close_round(session, instance)
    await _apply_final_effect(session, actor, instance, comment)
    await notify(session, group_id=instance.group_id, user_ids=[instance.submitter_id], kind="approval.approved",
                 title=f"审批通过: {instance.title}", entity_type="approval", entity_id=instance.id)
    await _publish_completed(session, instance)


async def _apply_final_effect(session: AsyncSession, actor: Principal, instance: ApprovalInstance,
                              comment: str | None) -> None:
    """The request type's final-approval effect, exactly once per instance, in this transaction."""
    if instance.effect_applied_at is not None:  # pragma: no cover - the state machine prevents it
        raise ApprovalEffectAlreadyApplied("The approval's effect was already applied.")
    instance.effect_applied_at = utcnow()
    await registry.get(instance.request_type).on_approved(registry.EffectContext(session, actor, instance, comment))


async def _publish_completed(session: AsyncSession, instance: ApprovalInstance) -> None:
    """`approval.completed`, ordered per request (a resubmitted request completes again)."""
    await events.publish(session, "approval.completed", {
        "approval_id": instance.id, "request_type": instance.request_type, "request_id": instance.request_id,
        "status": instance.status, "title": instance.title, "round": instance.round,
        "decided_at": instance.decided_at or utcnow()},
        group_id=instance.group_id, company_id=instance.company_id, ordering_key=instance.request_id)


def _state(instance: ApprovalInstance) -> dict[str, Any]:
    return {"status": instance.status, "round": instance.round,
            "current_step_id": instance.current_step_id, "version": instance.version}


@dataclass
class _Planned:
    step: ApprovalStep
    resolution: Resolution | None  # whom it would wait on if reached now (None: skipped)


async def _plan_round(session: AsyncSession, rt: registry.RequestType, submission: registry.Submission,
                      version: ApprovalFlowVersion) -> list[_Planned]:
    """The round's steps from the flow version, conditions evaluated on the submitted values.

    Refuses (409 approval.step_without_approver, naming the step) a submission with a step that
    applies to it and that nobody but the submitter could approve: otherwise the request would be
    stuck at the step before, whose approval could never advance it. Every applicable step is
    resolved in one batch (`resolve_rules`), so the check costs the same however many steps apply.
    """
    fields = rt.condition_fields()
    values = {**submission.values, "company": await org_repo.company_code(session, submission.company_id)}
    steps: list[ApprovalStep] = []
    for position, definition in enumerate(version.steps):
        applies = conditions.holds(definition.get("condition"), fields, values)
        steps.append(ApprovalStep(
            position=position, name=definition["name"], rule=definition["rule"], mode=definition["mode"],
            condition=definition.get("condition"), status=StepStatus.WAITING if applies else StepStatus.SKIPPED,
            note=None if applies else "condition not met"))
    if all(s.status == StepStatus.SKIPPED for s in steps):
        steps.append(ApprovalStep(position=len(steps), name="管理员审批 (no step applied)",
                                  rule={"kind": "administrators"}, mode="any", condition=None,
                                  status=StepStatus.WAITING))
    applicable = [s for s in steps if s.status == StepStatus.WAITING]
    resolved = dict(zip((s.position for s in applicable),
                        await resolve_rules(session, submission, [s.rule for s in applicable]), strict=True))
    for step in applicable:
        if resolved[step.position] is None:
            raise ApprovalStepWithoutApprover(
                f"Step {step.position + 1} ({step.name}) applies to this request and nobody but the submitter "
                "could approve it; ask an administrator to change the flow or another approver to be appointed.",
                extra={"step": {"position": step.position, "name": step.name}})
    return [_Planned(s, resolved.get(s.position)) for s in steps]


async def submit(session: AsyncSession, actor: Principal, request_type: str,
                 request_id: uuid.UUID) -> ApprovalInstance:
    """Start (or, after a rejection or withdrawal, restart) the approval of a request.

    The request is loaded through its type's loader and its snapshot is kept; the effective flow
    (the company's, else the group's) is copied into the round's steps; conditions are evaluated on
    the submitted values; the first applicable step is reached. No applicable step at all goes to
    the administrators (never approves itself). A step that applies and that nobody but the
    submitter could approve refuses the submission (409 approval.step_without_approver).
    """
    rt = registry.get(request_type)
    submission = await rt.load(session, request_id)
    if submission is None or submission.group_id != actor.group_id:
        raise NotFound(f"{request_type} {request_id} not found.", code=f"{request_type}.not_found")
    instance = await repo.instance_for_request(session, request_type, request_id, for_update=True)
    ensure_transition(instance.status if instance else None, ActionKind.SUBMIT)
    found = await repo.effective_flow(session, actor.group_id, request_type, submission.company_id)
    if found is None:
        raise ApprovalNoFlow(f"No approval flow is configured for {request_type}.")
    flow, version = found
    steps = await _plan_round(session, rt, submission, version)
    now = utcnow()
    before = _state(instance) if instance else None
    if instance is None:
        instance = ApprovalInstance(group_id=submission.group_id, request_type=request_type, request_id=request_id,
                                    round=1, status=InstanceStatus.PENDING, version=1)
        session.add(instance)
    else:
        _set_status(instance, ActionKind.SUBMIT, InstanceStatus.PENDING)
        instance.round += 1
    instance.status = InstanceStatus.PENDING
    instance.company_id, instance.submitter_id = submission.company_id, submission.submitter_id
    instance.title = submission.title[:200]
    instance.flow_id, instance.flow_version_id = flow.id, version.id
    instance.snapshot = audit.to_jsonable(submission.snapshot)
    instance.submitted_at, instance.decided_at, instance.last_urged_at = now, None, None
    instance.effect_applied_at = None
    await session.flush()
    session.add(ApprovalRound(instance_id=instance.id, round=instance.round, flow_version_id=version.id,
                              snapshot=instance.snapshot, submitted_at=now, outcome=InstanceStatus.PENDING))

    for planned in steps:
        planned.step.instance_id, planned.step.round = instance.id, instance.round
    session.add_all(p.step for p in steps)
    await session.flush()
    _action(session, instance, actor, ActionKind.SUBMIT, data={"snapshot": instance.snapshot,
                                                               "flow_version": version.number})
    first = next(p for p in steps if p.step.status == StepStatus.WAITING)
    await _activate(session, instance, first.step, first.resolution)
    await rt.on_submitted(registry.EffectContext(session, actor, instance))
    await session.flush()
    audit.record(session, actor, "approval.submitted", "approval", instance.id, company_id=instance.company_id,
                 before=before, after={**_state(instance), "request_type": request_type,
                                       "request_id": request_id, "snapshot": instance.snapshot})
    return instance


async def _current(session: AsyncSession, instance: ApprovalInstance, action: str,
                   step_id: uuid.UUID | None) -> ApprovalStep:
    ensure_transition(instance.status, action)
    step = await repo.step(session, instance.current_step_id) if instance.current_step_id else None
    if step is None or step.status != StepStatus.ACTIVE:  # pragma: no cover - pending always has one
        raise ApprovalStepMovedOn("The approval has no active step.")
    if step_id is not None and step_id != step.id:
        raise ApprovalStepMovedOn("That step has moved on; reload the approval.")
    return step


async def _approver_assignment(session: AsyncSession, actor: Principal, instance: ApprovalInstance,
                               step: ApprovalStep) -> ApprovalAssignment:
    """The actor's pending assignment on the current step, after the rules every approver must meet:
    never the submitter; approval.approve (route), the company in scope and the step's rule held now.
    """
    if actor.user_id == instance.submitter_id:
        raise ApprovalOwnRequest("The submitter never approves their own request.")
    assignment = next((a for a in await repo.assignments_of_step(session, step.id)
                       if a.user_id == actor.user_id and a.status == AssignmentStatus.PENDING), None)
    if assignment is None:
        if await repo.has_decided_in_round(session, instance, actor.user_id):
            raise ApprovalStepMovedOn("You have already acted on this approval, or the step has moved on.")
        raise ApprovalNotAnApprover("The approval is not waiting on you.")
    if not actor.scope.covers_company(instance.company_id):
        raise ApprovalCompanyOutOfScope("The request's company is outside your data scope.")
    if not await _still_holds(session, actor, instance, step, assignment):
        raise ApprovalRuleNotHeld("You no longer hold the step's approver rule.")
    return assignment


async def _finish_round(session: AsyncSession, instance: ApprovalInstance) -> list[uuid.UUID]:
    """Cancel what is still open in the round; answers who was still waiting."""
    waiting: list[uuid.UUID] = []
    now = utcnow()
    for assignment in await repo.pending_assignments(session, instance.id):
        assignment.status, assignment.acted_at = AssignmentStatus.CANCELLED, now
        waiting.append(assignment.user_id)
    for step in await repo.steps_of_round(session, instance.id, instance.round):
        if step.status in (StepStatus.WAITING, StepStatus.ACTIVE):
            step.status, step.decided_at = StepStatus.CANCELLED, now
    instance.current_step_id, instance.waiting_since, instance.decided_at = None, None, now
    return waiting


async def approve(session: AsyncSession, actor: Principal, instance: ApprovalInstance, *,
                  comment: str | None = None, step_id: uuid.UUID | None = None) -> ApprovalInstance:
    """Approve the current step. "any": the first approval decides it; "all" (countersign): every
    assignee must approve. The last step's approval applies the final effect, exactly once."""
    step = await _current(session, instance, ActionKind.APPROVE, step_id)
    assignment = await _approver_assignment(session, actor, instance, step)
    # Every step, not only the last: an approver never signs what no longer stands.
    await registry.get(instance.request_type).on_approving(
        registry.EffectContext(session, actor, instance, comment))
    before = _state(instance)
    now = utcnow()
    assignment.status, assignment.comment, assignment.acted_at = AssignmentStatus.APPROVED, comment, now
    _action(session, instance, actor, ActionKind.APPROVE, step=step, comment=comment)
    assignments = await repo.assignments_of_step(session, step.id)
    open_ = [a for a in assignments if a.status == AssignmentStatus.PENDING]
    if step.mode == "any" or not open_:
        for other in open_:
            other.status, other.acted_at = AssignmentStatus.CANCELLED, now
        step.status, step.decided_at = StepStatus.APPROVED, now
        await session.flush()
        await _advance(session, actor, instance, step.position, comment)
    # The assignments changed, maybe not the instance row: its ETag must still move.
    instance.version += 1
    await session.flush()
    audit.record(session, actor, "approval.approved", "approval", instance.id, company_id=instance.company_id,
                 before=before, after={**_state(instance), "step": step.name, "comment": comment})
    return instance


async def reject(session: AsyncSession, actor: Principal, instance: ApprovalInstance, *, reason: str,
                 step_id: uuid.UUID | None = None) -> ApprovalInstance:
    """Reject with a reason: back to the submitter, who may revise and resubmit (the flow restarts)."""
    if not reason or not reason.strip():
        raise ApprovalReasonRequired("A rejection needs a reason.",
                                     errors=[{"pointer": "/body/reason", "message": "required"}])
    step = await _current(session, instance, ActionKind.REJECT, step_id)
    assignment = await _approver_assignment(session, actor, instance, step)
    before = _state(instance)
    now = utcnow()
    assignment.status, assignment.comment, assignment.acted_at = AssignmentStatus.REJECTED, reason, now
    step.status, step.decided_at = StepStatus.REJECTED, now
    _action(session, instance, actor, ActionKind.REJECT, step=step, comment=reason)
    await session.flush()
    await _finish_round(session, instance)
    _set_status(instance, ActionKind.REJECT, InstanceStatus.REJECTED)
    await repo.close_round(session, instance)
    await registry.get(instance.request_type).on_rejected(registry.EffectContext(session, actor, instance, reason))
    await _publish_completed(session, instance)
    await notify(session, group_id=instance.group_id, user_ids=[instance.submitter_id], kind="approval.rejected",
                 title=f"审批被拒绝: {instance.title}", body=reason, entity_type="approval", entity_id=instance.id)
    await session.flush()
    audit.record(session, actor, "approval.rejected", "approval", instance.id, company_id=instance.company_id,
                 before=before, after={**_state(instance), "step": step.name, "reason": reason})
    return instance


def _ensure_submitter(actor: Principal, instance: ApprovalInstance, what: str) -> None:
    if actor.user_id != instance.submitter_id:
        raise ApprovalNotSubmitter(f"Only the submitter may {what} this approval.")


async def withdraw(session: AsyncSession, actor: Principal, instance: ApprovalInstance, *,
                   reason: str | None = None) -> ApprovalInstance:
    """The submitter takes the request back before the final approval."""
    _ensure_submitter(actor, instance, "withdraw")
    ensure_transition(instance.status, ActionKind.WITHDRAW)
    before = _state(instance)
    step = await repo.step(session, instance.current_step_id) if instance.current_step_id else None
    _action(session, instance, actor, ActionKind.WITHDRAW, step=step, comment=reason)
    waiting = await _finish_round(session, instance)
    _set_status(instance, ActionKind.WITHDRAW, InstanceStatus.WITHDRAWN)
    await repo.close_round(session, instance)
    await registry.get(instance.request_type).on_withdrawn(registry.EffectContext(session, actor, instance, reason))
    await notify(session, group_id=instance.group_id, user_ids=waiting, kind="approval.withdrawn",
                 title=f"申请已撤回: {instance.title}", body=reason, entity_type="approval", entity_id=instance.id)
    await session.flush()
    audit.record(session, actor, "approval.withdrawn", "approval", instance.id, company_id=instance.company_id,
                 before=before, after={**_state(instance), "reason": reason})
    return instance


async def urge(session: AsyncSession, actor: Principal, instance: ApprovalInstance, *,
               comment: str | None = None, now: datetime | None = None) -> ApprovalInstance:
    """The submitter reminds the current approvers; at most once per `urge_interval_seconds`."""
    _ensure_submitter(actor, instance, "urge")
    ensure_transition(instance.status, ActionKind.URGE)
    now = now or utcnow()
    interval = timedelta(seconds=get_settings().urge_interval_seconds)
    if instance.last_urged_at is not None and now - instance.last_urged_at < interval:
        retry = int((instance.last_urged_at + interval - now).total_seconds()) + 1
        raise ApprovalUrgeTooSoon("This approval was urged recently; try again later.",
                                  headers={"Retry-After": str(retry)})
    step = await repo.step(session, instance.current_step_id) if instance.current_step_id else None
    instance.last_urged_at = now
    _action(session, instance, actor, ActionKind.URGE, step=step, comment=comment)
    waiting = [a.user_id for a in await repo.pending_assignments(session, instance.id)]
    await notify(session, group_id=instance.group_id, user_ids=waiting, kind="approval.urged",
                 title=f"催办: {instance.title}", body=comment, entity_type="approval", entity_id=instance.id)
    await session.flush()
    audit.record(session, actor, "approval.urged", "approval", instance.id, company_id=instance.company_id,
                 after={"waiting_on": waiting, "comment": comment})
    return instance


async def transfer(session: AsyncSession, actor: Principal, instance: ApprovalInstance, *, to_user_id: uuid.UUID,
                   reason: str, step_id: uuid.UUID | None = None) -> ApprovalInstance:
    """A current approver hands their part of the step to another user who may approve it
    (approval.approve, the company in scope, not the submitter, not already waited on)."""
    step = await _current(session, instance, ActionKind.TRANSFER, step_id)
    assignment = await _approver_assignment(session, actor, instance, step)
    pointer = [{"pointer": "/body/to_user_id", "message": "not an eligible approver"}]
    if to_user_id in (actor.user_id, instance.submitter_id) or not await org_repo.users_in_group(
            session, instance.group_id, [to_user_id]) or not await may_approve(session, [to_user_id],
                                                                                instance.company_id):
        raise ApprovalTransferTargetIneligible(
            "The approval can only be transferred to another user who may approve it.", errors=pointer)
    if any(a.user_id == to_user_id and a.status == AssignmentStatus.PENDING
           for a in await repo.assignments_of_step(session, step.id)):
        raise ApprovalAlreadyAssigned("That user is already an approver of this step.")
    before = _state(instance)
    now = utcnow()
    assignment.status, assignment.comment, assignment.acted_at = AssignmentStatus.TRANSFERRED, reason, now
    await session.flush()
    session.add(ApprovalAssignment(instance_id=instance.id, step_id=step.id, user_id=to_user_id,
                                   origin=AssignmentOrigin.TRANSFER, status=AssignmentStatus.PENDING,
                                   transferred_from_id=actor.user_id, assigned_at=now))
    _action(session, instance, actor, ActionKind.TRANSFER, step=step, comment=reason, target=to_user_id)
    # Only the assignments changed; the instance row did not, yet its ETag covers who it waits on.
    instance.version += 1
    await notify(session, group_id=instance.group_id, user_ids=[to_user_id], kind="approval.waiting",
                 title=f"待审批(转交): {instance.title}", body=reason, entity_type="approval", entity_id=instance.id)
    await session.flush()
    audit.record(session, actor, "approval.transferred", "approval", instance.id, company_id=instance.company_id,
                 before=before, after={**_state(instance), "from": actor.user_id, "to": to_user_id,
                                       "reason": reason})
    return instance


async def _to_administrators(session: AsyncSession, instance: ApprovalInstance, step: ApprovalStep,
                             from_user_id: uuid.UUID, now: datetime) -> list[uuid.UUID]:
    """A step a handover left waiting on nobody waits on the group's administrators (as a rule that
    finds nobody does); answers them."""
    admins = await _fallback_administrators(session, instance)
    step.mode, step.note = "any", "handover: the group's administrators"
    session.add_all(ApprovalAssignment(instance_id=instance.id, step_id=step.id, user_id=u,
                                       origin=AssignmentOrigin.ADMINISTRATORS, status=AssignmentStatus.PENDING,
                                       transferred_from_id=from_user_id, assigned_at=now) for u in admins)
    return admins


async def hand_over_submitted(session: AsyncSession, actor: Principal, from_user_id: uuid.UUID,
                              to_user_id: uuid.UUID) -> int:
    """The leaver's submitted approvals not yet approved (pending, or rejected or withdrawn and
    waiting for a resubmission) name the receiver as their submitter, who may then withdraw,
    revise and resubmit them; answers how many.

    The submitter never approves their own request: where the receiver is waited on by the
    current step of one of them, that place is cancelled, and a step left waiting on nobody goes
    to the group's administrators.
    """
    now = utcnow()
    instances = await repo.open_instances_submitted_by(session, actor.group_id, from_user_id)
    for instance in instances:
        instance.submitter_id = to_user_id
        step, waiting_now = None, []
        if instance.status == InstanceStatus.PENDING:
            step = await _current(session, instance, ActionKind.TRANSFER, None)
            assignments = await repo.assignments_of_step(session, step.id)
            own = [a for a in assignments if a.user_id == to_user_id and a.status == AssignmentStatus.PENDING]
            for assignment in own:
                assignment.status, assignment.acted_at = AssignmentStatus.CANCELLED, now
                assignment.comment = "handover: the submitter never approves"
            await session.flush()
            if own and not any(a.status == AssignmentStatus.PENDING for a in assignments):
                waiting_now = await _to_administrators(session, instance, step, from_user_id, now)
        _action(session, instance, actor, ActionKind.TRANSFER, step=step, comment="handover: submitter",
                target=to_user_id, data={"submitter_handover_from": str(from_user_id)})
        instance.version += 1
        if waiting_now:
            await notify(session, group_id=instance.group_id, user_ids=waiting_now, kind="approval.waiting",
                         title=f"待审批(交接): {instance.title}", entity_type="approval", entity_id=instance.id)
    await session.flush()
    return len(instances)


async def hand_over_waiting(session: AsyncSession, actor: Principal, from_user_id: uuid.UUID,
                            to_user_id: uuid.UUID) -> int:
    """A leaver's place on every step waiting on them goes to `to_user_id` (a handover), so no step
    stalls on an account that is about to be locked; answers how many steps the receiver took over.

    Where the receiver may not take the place (they submitted the request, are already waited on
    by that step, or may not approve for its company) the leaver's place is cancelled; a step left
    waiting on nobody goes to the group's administrators, as a rule that finds nobody does.
    """
    moved = 0
    now = utcnow()
    for instance in await repo.pending_instances_waiting_on(session, actor.group_id, from_user_id):
        step = await _current(session, instance, ActionKind.TRANSFER, None)
        assignments = await repo.assignments_of_step(session, step.id)
        leaving = next(a for a in assignments if a.user_id == from_user_id and a.status == AssignmentStatus.PENDING)
        takes_over = (to_user_id != instance.submitter_id
                      and not any(a.user_id == to_user_id and a.status == AssignmentStatus.PENDING
                                  for a in assignments)
                      and bool(await may_approve(session, [to_user_id], instance.company_id)))
        leaving.status = AssignmentStatus.TRANSFERRED if takes_over else AssignmentStatus.CANCELLED
        leaving.comment, leaving.acted_at = "handover", now
        await session.flush()
        if takes_over:
            session.add(ApprovalAssignment(instance_id=instance.id, step_id=step.id, user_id=to_user_id,
                                           origin=AssignmentOrigin.TRANSFER, status=AssignmentStatus.PENDING,
                                           transferred_from_id=from_user_id, assigned_at=now))
            waiting_now = [to_user_id]
            moved += 1
        elif not any(a.status == AssignmentStatus.PENDING for a in assignments):
            waiting_now = await _to_administrators(session, instance, step, from_user_id, now)
        else:
            waiting_now = []
        _action(session, instance, actor, ActionKind.TRANSFER, step=step, comment="handover",
                target=to_user_id if takes_over else None, data={"handover_from": str(from_user_id)})
        # Only the assignments changed; the instance row did not, yet its ETag covers who it waits on.
        instance.version += 1
        await notify(session, group_id=instance.group_id, user_ids=waiting_now, kind="approval.waiting",
                     title=f"待审批(交接): {instance.title}", entity_type="approval", entity_id=instance.id)
    # The handover itself is the one audit event (app.org.handover); each instance's history keeps
    # the transfer as an action.
    await session.flush()
    return moved


async def withdraw_request(session: AsyncSession, actor: Principal, request_type: str,
                           request_id: uuid.UUID) -> ApprovalInstance:
    """Withdraw through the request (e.g. POST /expense-requests/{id}/withdraw)."""
    found = await repo.instance_for_request(session, request_type, request_id)
    if found is None:
        raise ApprovalIllegalTransition("The request has not been submitted.")
    instance = await repo.get_instance(session, actor, found.id, for_update=True)
    return await withdraw(session, actor, instance)
