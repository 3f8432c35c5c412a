"""Registers the `tow` request type with the approval engine through the request kit. Submitting
applies the pending-promise hold (the request's own override reason lifts it); approving opens the
tow task, in the approving transaction."""

from app.approvals import registry
from app.approvals.requests import register_request
from app.collection.promises import pending_promise_hold
from app.core import audit
from app.towing.models import TowRequest, TowTask


async def _hold(ctx: registry.EffectContext, request: TowRequest) -> None:
    await pending_promise_hold(ctx.session, request.contract_id, request.override_reason)


async def _open_task(ctx: registry.EffectContext, request: TowRequest) -> None:
    task = TowTask(group_id=request.group_id, company_id=request.company_id, contract_id=request.contract_id,
                   machine_id=request.machine_id, request_id=request.id, state="open")
    ctx.session.add(task)
    await ctx.session.flush()
    audit.record(ctx.session, ctx.actor, "tow_task.created", "tow_task", task.id, company_id=task.company_id,
                 after=audit.snapshot(task, "contract_id", "machine_id", "request_id", "state"))


TOW = register_request(
    TowRequest,
    name="tow",
    entity_type="tow_request",
    titles={"zh-CN": "拖机申请", "en": "Tow request"},
    fields={},
    title=lambda r: f"拖机申请 {r.location}",
    snapshot=lambda r: {"contract_id": str(r.contract_id), "machine_id": str(r.machine_id), "reason": r.reason,
                        "location": r.location, "override_reason": r.override_reason},
    values=lambda r: {},
    on_submitted=_hold,
    on_approved=_open_task,
)
