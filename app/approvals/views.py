"""Response shapes of instances and flows (bounded queries: a page costs four extra queries, two
for its current steps and approvers, two for the names of everyone it shows)."""

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import repository as repo
from app.approvals.models import (
    ApprovalAction,
    ApprovalAssignment,
    ApprovalFlow,
    ApprovalFlowVersion,
    ApprovalInstance,
    ApprovalStep,
)
from app.approvals.schemas import (
    ActionOut,
    ApprovalDetail,
    ApprovalSummary,
    AssignmentOut,
    CurrentStep,
    FlowOut,
    PersonOut,
    RoundOut,
    StepDef,
    StepOut,
)
from app.core.db import utcnow
from app.org.repository import user_cards


def flow_out(flow: ApprovalFlow, version: ApprovalFlowVersion) -> FlowOut:
    return FlowOut(id=flow.id, request_type=flow.request_type, company_id=flow.company_id, name=flow.name,
                   is_active=flow.is_active, current_version=flow.current_version,
                   steps=[StepDef.model_validate(s) for s in version.steps], created_at=flow.created_at,
                   updated_at=flow.updated_at)


_People = dict[uuid.UUID, PersonOut]


async def _people(session: AsyncSession, instances: list[ApprovalInstance],
                  user_ids: Iterable[uuid.UUID | None]) -> _People:
    """Everyone the response shows, named in one batch (org's `user_cards`: two queries)."""
    wanted = [u for u in user_ids if u is not None]
    people: _People = {}
    for group_id in {i.group_id for i in instances}:  # one tenant per response
        for uid, card in (await user_cards(session, group_id, wanted)).items():
            people[uid] = PersonOut(id=uid, display_name=card.display_name, role_titles=list(card.role_titles),
                                    department_name=card.department_name, company_name=card.company_name)
    return people


def _person(people: _People, user_id: uuid.UUID) -> PersonOut:
    # Every id an approval holds is a user of its group (foreign keys); the placeholder is defensive.
    return people.get(user_id) or PersonOut(id=user_id, display_name=str(user_id), role_titles=[],
                                            department_name=None, company_name="")


def _summary_fields(instance: ApprovalInstance, step: ApprovalStep | None, waiting: list,  # type: ignore[type-arg]
                    people: _People) -> dict:  # type: ignore[type-arg]
    now = utcnow()
    return {
        "id": instance.id, "request_type": instance.request_type, "request_id": instance.request_id,
        "title": instance.title, "company_id": instance.company_id, "submitter_id": instance.submitter_id,
        "status": instance.status, "round": instance.round,
        "current_step": CurrentStep(id=step.id, name=step.name, position=step.position, mode=step.mode)  # type: ignore[arg-type]
        if step is not None else None,
        "waiting_on": waiting, "submitted_at": instance.submitted_at, "waiting_since": instance.waiting_since,
        "waiting_seconds": int((now - instance.waiting_since).total_seconds()) if instance.waiting_since else None,
        "decided_at": instance.decided_at,
        "submitter": _person(people, instance.submitter_id),
        "waiting_on_users": [_person(people, u) for u in waiting],
    }


async def summaries(session: AsyncSession, instances: list[ApprovalInstance]) -> list[ApprovalSummary]:
    steps, waiting = await repo.current_steps_and_waiting(session, instances)
    people = await _people(session, instances, [*(i.submitter_id for i in instances),
                                                *(u for users in waiting.values() for u in users)])
    result = []
    for instance in instances:
        step = steps.get(instance.current_step_id) if instance.current_step_id else None
        result.append(ApprovalSummary(**_summary_fields(instance, step, waiting.get(step.id, []) if step else [],
                                                        people)))
    return result


def _assignment(a: ApprovalAssignment, people: _People) -> AssignmentOut:
    return AssignmentOut(user_id=a.user_id, origin=a.origin, status=a.status, comment=a.comment,  # type: ignore[arg-type]
                         transferred_from_id=a.transferred_from_id, assigned_at=a.assigned_at, acted_at=a.acted_at,
                         user=_person(people, a.user_id),
                         transferred_from=_person(people, a.transferred_from_id) if a.transferred_from_id else None)


def _action(a: ApprovalAction, people: _People) -> ActionOut:
    return ActionOut(id=a.id, round=a.round, step_id=a.step_id, actor_id=a.actor_id, action=a.action,  # type: ignore[arg-type]
                     comment=a.comment, target_user_id=a.target_user_id, created_at=a.created_at,
                     actor=_person(people, a.actor_id),
                     target_user=_person(people, a.target_user_id) if a.target_user_id else None)


async def detail(session: AsyncSession, instance: ApprovalInstance) -> ApprovalDetail:
    """The whole record: a fixed number of queries however many rounds, steps and people."""
    steps = await repo.steps_of(session, instance.id)
    assignments = await repo.assignments_of(session, instance.id)
    actions = await repo.actions_of(session, instance.id)
    rounds = await repo.rounds_of(session, instance.id)
    people = await _people(session, [instance], [
        instance.submitter_id, *(a.user_id for a in assignments), *(a.transferred_from_id for a in assignments),
        *(a.actor_id for a in actions), *(a.target_user_id for a in actions)])
    by_step: dict[uuid.UUID, list[AssignmentOut]] = {}
    for a in assignments:
        by_step.setdefault(a.step_id, []).append(_assignment(a, people))
    current = next((s for s in steps if s.id == instance.current_step_id), None)
    waiting = [a.user_id for a in by_step.get(current.id, []) if a.status == "pending"] if current else []
    return ApprovalDetail(
        **_summary_fields(instance, current, waiting, people),
        flow_id=instance.flow_id, flow_version_id=instance.flow_version_id, snapshot=instance.snapshot,
        steps=[StepOut(id=s.id, round=s.round, position=s.position, name=s.name, rule=s.rule, mode=s.mode,  # type: ignore[arg-type]
                       condition=s.condition, status=s.status, note=s.note, started_at=s.started_at,  # type: ignore[arg-type]
                       decided_at=s.decided_at, assignments=by_step.get(s.id, [])) for s in steps],
        actions=[_action(a, people) for a in actions],
        rounds=[RoundOut(round=r.round, flow_version_id=r.flow_version_id, snapshot=r.snapshot,
                         submitted_at=r.submitted_at, outcome=r.outcome, decided_at=r.decided_at)  # type: ignore[arg-type]
                for r in rounds],
    )
