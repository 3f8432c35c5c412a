"""Response shapes of instances and flows (bounded queries: a page costs two extra queries)."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import repository as repo
from app.approvals.models import ApprovalFlow, ApprovalFlowVersion, ApprovalInstance, ApprovalStep
from app.approvals.schemas import (
    ActionOut,
    ApprovalDetail,
    ApprovalSummary,
    AssignmentOut,
    CurrentStep,
    FlowOut,
    StepDef,
    StepOut,
)
from app.core.db import utcnow


def flow_out(flow: ApprovalFlow, version: ApprovalFlowVersion) -> FlowOut:
    return FlowOut(id=flow.id, request_type=flow.request_type, company_id=flow.company_id, name=flow.name,
                   is_active=flow.is_active, current_version=flow.current_version,
                   steps=[StepDef.model_validate(s) for s in version.steps], created_at=flow.created_at,
                   updated_at=flow.updated_at)


def _summary_fields(instance: ApprovalInstance, step: ApprovalStep | None, waiting: list) -> dict:  # type: ignore[type-arg]
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
    }


async def summaries(session: AsyncSession, instances: list[ApprovalInstance]) -> list[ApprovalSummary]:
    steps, waiting = await repo.current_steps_and_waiting(session, instances)
    result = []
    for instance in instances:
        step = steps.get(instance.current_step_id) if instance.current_step_id else None
        result.append(ApprovalSummary(**_summary_fields(instance, step, waiting.get(step.id, []) if step else [])))
    return result


async def detail(session: AsyncSession, instance: ApprovalInstance) -> ApprovalDetail:
    steps = await repo.steps_of(session, instance.id)
    assignments = await repo.assignments_of(session, instance.id)
    actions = await repo.actions_of(session, instance.id)
    by_step: dict = {}  # type: ignore[type-arg]
    for a in assignments:
        by_step.setdefault(a.step_id, []).append(AssignmentOut.model_validate(a))
    current = next((s for s in steps if s.id == instance.current_step_id), None)
    waiting = [a.user_id for a in by_step.get(current.id, []) if a.status == "pending"] if current else []
    return ApprovalDetail(
        **_summary_fields(instance, current, waiting),
        flow_id=instance.flow_id, flow_version_id=instance.flow_version_id, snapshot=instance.snapshot,
        steps=[StepOut(id=s.id, round=s.round, position=s.position, name=s.name, rule=s.rule, mode=s.mode,  # type: ignore[arg-type]
                       condition=s.condition, status=s.status, note=s.note, started_at=s.started_at,  # type: ignore[arg-type]
                       decided_at=s.decided_at, assignments=by_step.get(s.id, [])) for s in steps],
        actions=[ActionOut.model_validate(a) for a in actions],
    )
