"""Registers the `contract` and `shipment` request types with the approval engine (the request kit).

Condition fields: a contract's `financed`, `price` and `sale_kind` (the engine adds `company`), so
a flow can add a final step above ¥300 000 financed; a shipment's `financed`."""

from app.approvals import conditions
from app.approvals.requests import register_request
from app.contracts import service, shipments
from app.contracts.models import Contract, ShipmentRequest
from app.core import audit
from app.core.types import money_text

MONEY_TERMS = ("price", "down_payment", "monthly_rent")


def _contract_snapshot(c: Contract) -> dict[str, object]:
    # The terms keep their JSON types (the allocation order a list, no rent null, grace days a
    # number); money is a two-decimal string, rates the decimal string stored.
    terms = {**audit.snapshot(c, *service.TERM_FIELDS), **{f: money_text(getattr(c, f)) for f in MONEY_TERMS}}
    return {"number": c.number, "customer_id": str(c.customer_id), "owner_id": str(c.owner_id),
            "sale_kind": c.sale_kind, "financed": f"{c.financed:.2f}", "terms": terms,
            "needs_investigation": c.needs_investigation}


CONTRACT = register_request(
    Contract,
    name=service.REQUEST_TYPE,
    entity_type="contract",
    titles={"zh-CN": "销售合同", "en": "Sales contract"},
    fields={"financed": conditions.DECIMAL, "price": conditions.DECIMAL, "sale_kind": conditions.STRING},
    title=lambda c: f"销售合同 {c.number} 融资 ¥{c.financed:.2f}",
    snapshot=_contract_snapshot,
    values=lambda c: {"financed": c.financed, "price": c.price, "sale_kind": c.sale_kind},
    on_approved=service.on_approved,
    on_submitted=service.on_submitted,
    on_rejected=service.on_rejected,
    on_withdrawn=service.on_withdrawn,
    submitter=lambda c: c.submitted_by_id or c.requester_id,
)

SHIPMENT = register_request(
    ShipmentRequest,
    name=shipments.REQUEST_TYPE,
    entity_type="shipment_request",
    titles={"zh-CN": "出库发车", "en": "Shipment"},
    fields={"financed": conditions.DECIMAL},
    title=lambda s: f"出库发车 {s.contract_number} ¥{s.financed:.2f}",
    snapshot=lambda s: {"contract_id": str(s.contract_id), "contract_number": s.contract_number,
                        "financed": f"{s.financed:.2f}", "planned_date": s.planned_date.isoformat(),
                        "notes": s.notes, "investigation": s.investigation},
    values=lambda s: {"financed": s.financed},
    on_approved=shipments.on_approved,
    on_rejected=shipments.on_refused,
    on_withdrawn=shipments.on_refused,
)
