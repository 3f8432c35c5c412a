"""Registers the `lock` and `unlock` request types with the approval engine through the request kit.
Submitting a lock applies the pending-promise hold (its own override reason lifts it), like a tow
request; approving either queues the device command and its delivery, in the approving transaction."""

from app.approvals import registry
from app.approvals.requests import register_request
from app.collection.promises import pending_promise_hold
from app.devices import delivery, service
from app.devices.models import LockRequest, UnlockRequest


async def _hold(ctx: registry.EffectContext, request: LockRequest) -> None:
    await pending_promise_hold(ctx.session, request.contract_id, request.override_reason)


async def _lock(ctx: registry.EffectContext, request: LockRequest) -> None:
    await service.queue_command(ctx, request, "lock", delivery.schedule)


async def _unlock(ctx: registry.EffectContext, request: UnlockRequest) -> None:
    await service.queue_command(ctx, request, "unlock", delivery.schedule)


LOCK = register_request(
    LockRequest,
    name="lock",
    entity_type="lock_request",
    titles={"zh-CN": "锁机申请", "en": "Lock request"},
    fields={},
    title=lambda r: "锁机申请",
    snapshot=lambda r: {"contract_id": str(r.contract_id), "machine_id": str(r.machine_id), "reason": r.reason,
                        "override_reason": r.override_reason},
    values=lambda r: {},
    on_submitted=_hold,
    on_approved=_lock,
)

UNLOCK = register_request(
    UnlockRequest,
    name="unlock",
    entity_type="unlock_request",
    titles={"zh-CN": "开机申请", "en": "Unlock request"},
    fields={},
    title=lambda r: "开机申请" + (f" (回款 ¥{r.payment_amount:.2f})" if r.payment_amount is not None else ""),
    snapshot=lambda r: {"contract_id": str(r.contract_id), "machine_id": str(r.machine_id), "reason": r.reason,
                        "payment_entry_id": None if r.payment_entry_id is None else str(r.payment_entry_id),
                        "payment_amount": None if r.payment_amount is None else f"{r.payment_amount:.2f}",
                        "payment_date": None if r.payment_date is None else r.payment_date.isoformat()},
    values=lambda r: {},
    on_approved=_unlock,
)
