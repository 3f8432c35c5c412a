"""Registers the `tow` request type with the approval engine through the request kit. Condition
fields for the flows: the contract's DPD, bucket and overdue amount (as of the submission) and the
company. Submitting applies the company's minimum DPD (lifted by `tow.override_min_dpd` with an
override reason) and the pending-promise hold (the request's own override reason lifts it);
approving opens the tow task, in the approving transaction."""

from decimal import Decimal

from app.approvals import conditions, registry
from app.approvals.requests import register_request
from app.collection.promises import pending_promise_hold
from app.core import audit
from app.core.principal import Principal
from app.towing import permissions as P
from app.towing.errors import TowBelowMinimumDpd
from app.towing.models import TowRequest, TowTask


def check_minimum(principal: Principal, request: TowRequest) -> None:
    """409 `tow.below_minimum_dpd` below the minimum the request was judged on, unless its filer
    holds `tow.override_min_dpd` and gives an override reason."""
    reason = (request.override_reason or "").strip()
    if request.dpd < request.min_dpd and not (reason and principal.has(P.TOW_OVERRIDE_MIN_DPD)):
        raise TowBelowMinimumDpd(
            f"The contract is {request.dpd} days past due; a tow request needs at least {request.min_dpd} "
            f"(below it only with the permission {P.TOW_OVERRIDE_MIN_DPD} and an override reason).",
            extra={"dpd": request.dpd, "minimum_dpd": request.min_dpd})


async def _hold(ctx: registry.EffectContext, request: TowRequest) -> None:
    # The figures were read for this submission (`service.create_request`, `submit_request`).
    check_minimum(ctx.actor, request)
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
    fields={"dpd": conditions.DECIMAL, "bucket": conditions.STRING, "overdue_amount": conditions.DECIMAL,
            "company": conditions.STRING},
    title=lambda r: f"拖机申请 {r.location}",
    snapshot=lambda r: {"contract_id": str(r.contract_id), "machine_id": str(r.machine_id), "reason": r.reason,
                        "location": r.location, "override_reason": r.override_reason, "dpd": r.dpd,
                        "bucket": r.bucket, "overdue_amount": f"{r.overdue_amount:.2f}", "min_dpd": r.min_dpd},
    values=lambda r: {"dpd": Decimal(r.dpd), "bucket": r.bucket, "overdue_amount": r.overdue_amount,
                      "company": str(r.company_id)},
    on_submitted=_hold,
    on_approved=_open_task,
)
