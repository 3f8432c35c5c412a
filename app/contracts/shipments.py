"""Shipment (出库发车): a request on the approval engine (type `shipment`) for an approved contract.
Its snapshot carries the investigation's score, recommendation and factors for the approvers.
On approval the contract becomes active, the shipment date and the machines' delivery are
recorded, and the ledger starts the schedule: its instalments fall due as entries. A shipment after the first
due date is refused: the schedule would start overdue, the contract needs new terms."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import registry
from app.approvals import service as engine
from app.approvals.requests import RequestStatus
from app.contracts import repository as repo
from app.contracts.models import Contract, ShipmentRequest
from app.contracts.schemas import ShipmentRequestIn
from app.contracts.service import schedule_of, shipment_date_allowed, transition
from app.core import audit, events
from app.core.principal import Principal
from app.ledger import service as ledger
from app.ledger.calendar import business_today

REQUEST_TYPE = "shipment"


async def _today(session: AsyncSession, contract: Contract):  # noqa: ANN202 - a date
    return await business_today(session, contract.company_id)


async def request_shipment(session: AsyncSession, principal: Principal, contract: Contract,
                           data: ShipmentRequestIn) -> ShipmentRequest:
    """Create the shipment request and submit it to the engine; the contract is `shipping` meanwhile."""
    planned = data.planned_date or await _today(session, contract)
    before = audit.snapshot(contract, "state")
    transition(contract, "request_shipment")
    shipment_date_allowed(contract, planned)
    investigation = await repo.investigation_of(session, contract.id)
    summary = None if investigation is None or investigation.submitted_at is None else {
        "investigation_id": str(investigation.id), "score": str(investigation.score),
        "recommendation": investigation.recommendation, "factors": investigation.factors,
        "investigator_recommendation": investigation.investigator_recommendation}
    request = ShipmentRequest(group_id=contract.group_id, company_id=contract.company_id,
                              department_id=principal.department_id, requester_id=principal.user_id,
                              status=RequestStatus.DRAFT, contract_id=contract.id, contract_number=contract.number,
                              financed=contract.financed, planned_date=planned, notes=data.notes,
                              investigation=summary)
    session.add(request)
    await session.flush()
    audit.record(session, principal, "contract.request_shipment", "contract", contract.id,
                 company_id=contract.company_id, before=before, after={"state": contract.state,
                                                                      "shipment_request_id": request.id})
    await engine.submit(session, principal, REQUEST_TYPE, request.id)
    return request


async def _contract_of(ctx: registry.EffectContext, request: ShipmentRequest) -> Contract:
    contract = await repo.lock_contract(ctx.session, request.contract_id)
    assert contract is not None  # the request cascades with its contract
    return contract


async def on_approved(ctx: registry.EffectContext, request: ShipmentRequest) -> None:
    contract = await _contract_of(ctx, request)
    shipped = await _today(ctx.session, contract)
    shipment_date_allowed(contract, shipped)
    before = audit.snapshot(contract, "state", "shipment_date")
    transition(contract, "ship")
    contract.shipment_date = shipped
    await repo.deliver_machines(ctx.session, contract.id, shipped)
    _, schedule = await schedule_of(ctx.session, contract)
    await ledger.start_schedule(ctx.session, ctx.actor, contract, schedule, shipped)
    await ctx.session.flush()
    audit.record(ctx.session, ctx.actor, "contract.ship", "contract", contract.id, company_id=contract.company_id,
                 before=before, after=audit.snapshot(contract, "state", "shipment_date"))
    await events.publish(ctx.session, "contract.shipped", {
        "contract_id": contract.id, "contract_number": contract.number, "customer_id": contract.customer_id,
        "shipment_date": shipped, "financed": contract.financed},
        group_id=contract.group_id, company_id=contract.company_id, ordering_key=contract.id)


async def on_refused(ctx: registry.EffectContext, request: ShipmentRequest) -> None:
    """Rejected or withdrawn: the contract waits for a new shipment request."""
    contract = await _contract_of(ctx, request)
    transition(contract, "shipment_refused")
    await ctx.session.flush()
    audit.record(ctx.session, ctx.actor, "contract.shipment_refused", "contract", contract.id,
                 company_id=contract.company_id, after={"state": contract.state, "reason": ctx.comment})
