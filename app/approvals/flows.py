"""Approval flow configuration: versioned flows per request type, a company's overriding the
group's. Saving checks every condition parses and every rule can find an approver; running
instances keep the version they started with."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import conditions, registry, rules
from app.approvals import repository as repo
from app.approvals.errors import (
    ApprovalFlowExists,
    ApprovalFlowInvalid,
    ApprovalFlowUnknownCompany,
    ApprovalFlowUnknownRequestType,
)
from app.approvals.models import ApprovalFlow, ApprovalFlowVersion
from app.approvals.schemas import FlowCreate, FlowUpdate, StepIn
from app.approvals.service import may_approve
from app.core import audit
from app.core.errors import InvalidInput
from app.core.principal import Principal
from app.core.sql import advisory_xact_lock
from app.org import repository as org_repo


def _invalid(errors: list[dict[str, str]]) -> InvalidInput:
    return ApprovalFlowInvalid("The approval flow is not valid: " + "; ".join(e["message"] for e in errors),
                               errors=errors)


async def validate_steps(session: AsyncSession, group_id: uuid.UUID, request_type: str,
                         company_id: uuid.UUID | None, steps: list[StepIn]) -> list[dict[str, Any]]:
    """Refuse a flow whose conditions do not parse or a step whose rule can never find an approver.

    Dynamic rules (department head, manager) depend on the submitter and fall back at run time.
    """
    rt = registry.get(request_type)
    fields = rt.condition_fields()
    errors: list[dict[str, str]] = []
    for i, step in enumerate(steps):
        pointer = f"/body/steps/{i}"
        if step.condition is not None:
            try:
                conditions.parse(step.condition, fields)
            except conditions.ConditionError as exc:
                errors.append({"pointer": f"{pointer}/condition", "message": f"step {i + 1}: {exc}"})
        check = await rules.check_saved(session, group_id, company_id, step.rule.model_dump(mode="json"))
        if check is None:
            continue  # department_head / manager: resolved per submitter, with fallbacks
        if check.problems:
            errors.extend({"pointer": f"{pointer}/rule{suffix}", "message": f"step {i + 1}: {message}"}
                          for suffix, message in check.problems)
            continue
        if not await may_approve(session, check.candidates, company_id):
            errors.append({"pointer": f"{pointer}/rule",
                           "message": f"step {i + 1}: the rule finds no user who may approve"})
    if errors:
        raise _invalid(errors)
    return [{"name": s.name, "rule": s.rule.model_dump(mode="json"), "mode": s.mode, "condition": s.condition}
            for s in steps]


async def create_flow(session: AsyncSession, actor: Principal,
                      data: FlowCreate) -> tuple[ApprovalFlow, ApprovalFlowVersion]:
    """One active flow per (request type, company or group); steps validated; version 1."""
    if not registry.is_registered(data.request_type):
        raise ApprovalFlowUnknownRequestType(
            f"Unknown request type {data.request_type!r}.",
            errors=[{"pointer": "/body/request_type", "message": "unknown request type"}])
    if data.company_id is not None and not await org_repo.company_in_group(session, actor.group_id, data.company_id):
        raise ApprovalFlowUnknownCompany("Unknown company.",
                                         errors=[{"pointer": "/body/company_id", "message": "unknown company"}])
    steps = await validate_steps(session, actor.group_id, data.request_type, data.company_id, data.steps)
    await _lock_flow_key(session, actor.group_id, data.request_type)
    if await repo.active_flow_exists(session, actor.group_id, data.request_type, data.company_id):
        raise ApprovalFlowExists("An active flow already exists for this request type and company; edit it instead.")
    flow = ApprovalFlow(group_id=actor.group_id, company_id=data.company_id, request_type=data.request_type,
                        name=data.name, is_active=True, current_version=1)
    session.add(flow)
    await session.flush()
    version = ApprovalFlowVersion(flow_id=flow.id, number=1, steps=steps, created_by_id=actor.user_id)
    session.add(version)
    await session.flush()
    audit.record(session, actor, "approval_flow.created", "approval_flow", flow.id, company_id=flow.company_id,
                 after={**audit.snapshot(flow), "steps": steps})
    return flow, version


async def update_flow(session: AsyncSession, actor: Principal, flow: ApprovalFlow,
                      data: FlowUpdate) -> tuple[ApprovalFlow, ApprovalFlowVersion]:
    """New steps make a new version; running instances keep the version they started with."""
    before = audit.snapshot(flow)
    version = await repo.flow_version(session, flow.id, flow.current_version)
    changes = data.model_dump(exclude_unset=True)
    if data.steps is not None:
        steps = await validate_steps(session, flow.group_id, flow.request_type, flow.company_id, data.steps)
        if steps != version.steps:
            version = ApprovalFlowVersion(flow_id=flow.id, number=flow.current_version + 1, steps=steps,
                                          created_by_id=actor.user_id)
            session.add(version)
            flow.current_version += 1
    if changes.get("name") is not None:
        flow.name = changes["name"]
    if changes.get("is_active") is not None and changes["is_active"] != flow.is_active:
        if changes["is_active"]:
            await _lock_flow_key(session, flow.group_id, flow.request_type)
            if await repo.active_flow_exists(session, flow.group_id, flow.request_type, flow.company_id,
                                             excluding=flow.id):
                raise ApprovalFlowExists("Another active flow exists for this request type and company.")
        flow.is_active = changes["is_active"]
    await session.flush()
    audit.record(session, actor, "approval_flow.updated", "approval_flow", flow.id, company_id=flow.company_id,
                 before=before, after={**audit.snapshot(flow), "steps": version.steps})
    return flow, version


async def _lock_flow_key(session: AsyncSession, group_id: uuid.UUID, request_type: str) -> None:
    await advisory_xact_lock(session, f"approval_flow:{group_id}:{request_type}")
