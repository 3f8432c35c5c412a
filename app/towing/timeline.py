"""Tow requests on the case's timeline (kind `tow`)."""

from app.approvals.requests import timeline_part
from app.collection.repository import register_timeline_part
from app.towing.models import TowRequest

register_timeline_part(lambda case: timeline_part(TowRequest, "tow", case.contract_id,
                                                  machine_id=TowRequest.machine_id, location=TowRequest.location))
