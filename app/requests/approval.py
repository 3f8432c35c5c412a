"""Registers the money requests with the approval engine through the request kit. Condition
fields for the flows: a waiver's amount, DPD, bucket and company; a GPS fee's amount and kind."""

from decimal import Decimal

from app.approvals import conditions
from app.approvals.requests import register_request
from app.requests import service
from app.requests.models import GpsFeeRequest, InterestWaiver, SettlementRequest

WAIVER = register_request(
    InterestWaiver,
    name="interest_waiver",
    entity_type="interest_waiver",
    titles={"zh-CN": "利息减免", "en": "Interest waiver"},
    fields={"amount": conditions.DECIMAL, "dpd": conditions.DECIMAL, "bucket": conditions.STRING,
            "company": conditions.STRING},
    title=lambda w: f"利息减免 ¥{w.amount:.2f}",
    snapshot=lambda w: {"contract_id": str(w.contract_id), "amount": f"{w.amount:.2f}", "reason": w.reason,
                        "unpaid_penalty": f"{w.unpaid_penalty:.2f}", "dpd": w.dpd, "bucket": w.bucket,
                        "attachment_ids": [str(a) for a in w.attachment_ids or []]},
    values=lambda w: {"amount": w.amount, "dpd": Decimal(w.dpd), "bucket": w.bucket, "company": str(w.company_id)},
    on_submitted=service.waiver_submitted,
    on_approving=service.waiver_approving,
    on_approved=service.waiver_approved,
)

SETTLEMENT = register_request(
    SettlementRequest,
    name="settlement_request",
    entity_type="settlement_request",
    titles={"zh-CN": "结清申请", "en": "Settlement request"},
    fields={"company": conditions.STRING},
    title=lambda s: "结清申请",
    snapshot=lambda s: {"contract_id": str(s.contract_id), "notes": s.notes},
    values=lambda s: {"company": str(s.company_id)},
    on_submitted=service.settlement_submitted,
    on_approved=service.settlement_approved,
)

GPS_FEE = register_request(
    GpsFeeRequest,
    name="gps_fee",
    entity_type="gps_fee_request",
    titles={"zh-CN": "GPS服务费", "en": "GPS service fee"},
    fields={"amount": conditions.DECIMAL, "kind": conditions.STRING, "company": conditions.STRING},
    title=lambda g: f"GPS服务费 ¥{g.amount:.2f}",
    snapshot=lambda g: {"contract_id": str(g.contract_id), "machine_id": str(g.machine_id), "kind": g.kind,
                        "period_from": g.period_from.isoformat(), "period_to": g.period_to.isoformat(),
                        "amount": f"{g.amount:.2f}", "notes": g.notes},
    values=lambda g: {"amount": g.amount, "kind": g.kind, "company": str(g.company_id)},
    on_approved=service.gps_fee_approved,
)
