"""Interest waivers and settlement requests on the case's timeline (kinds `waiver`, `settlement`)."""

from app.approvals.requests import money, timeline_part
from app.collection.repository import register_timeline_part
from app.requests.models import InterestWaiver, SettlementRequest

register_timeline_part(lambda case: timeline_part(InterestWaiver, "waiver", case.contract_id,
                                                  amount=money(InterestWaiver.amount)))
register_timeline_part(lambda case: timeline_part(SettlementRequest, "settlement", case.contract_id,
                                                  payoff_at_submission=money(SettlementRequest.payoff_at_submission)))
