"""Lock and unlock requests and the device commands they queued on the case's timeline (kinds `lock`,
`unlock`, `device_command`): a command shows where its life stands (queued … acknowledged, failed,
expired), which is when the machine's lock state changed or why it did not."""

from typing import Any

from sqlalchemy import Select, func, literal, select

from app.approvals.requests import money, timeline_part
from app.collection.models import CollectionCase
from app.collection.repository import register_timeline_part
from app.devices.models import DeviceCommand, LockRequest, UnlockRequest


def _commands(case: CollectionCase) -> Select[Any]:
    return select(DeviceCommand.created_at.label("at"), literal("device_command").label("kind"),
                  DeviceCommand.id.label("id"),
                  func.jsonb_build_object("action", DeviceCommand.action, "state", DeviceCommand.state,
                                          "machine_id", DeviceCommand.machine_id,
                                          "request_kind", DeviceCommand.request_kind,
                                          "request_id", DeviceCommand.request_id).label("detail")
                  ).where(DeviceCommand.contract_id == case.contract_id)


register_timeline_part(lambda case: timeline_part(LockRequest, "lock", case.contract_id,
                                                  machine_id=LockRequest.machine_id))
register_timeline_part(lambda case: timeline_part(UnlockRequest, "unlock", case.contract_id,
                                                  machine_id=UnlockRequest.machine_id,
                                                  payment_amount=money(UnlockRequest.payment_amount)))
register_timeline_part(_commands)
