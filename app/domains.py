"""Imports every domain's models, permissions and registrations (request types, handover hooks,
periodic jobs) so that metadata, the permission catalogue and the registries are complete in every
entry point: the app, alembic, the CLI, seeding and tests."""

from app.approvals import handover as approval_handover  # noqa: F401 - registers its handover hook
from app.approvals import models as approval_models  # noqa: F401
from app.approvals import permissions as approval_permissions  # noqa: F401
from app.attachments import models as attachment_models  # noqa: F401
from app.attachments import permissions as attachment_permissions  # noqa: F401
from app.attachments import service as attachment_service  # noqa: F401 - registers the attachments-purge job
from app.auth import models as auth_models  # noqa: F401
from app.auth.service import principal_from_access_token
from app.collection import cob as collection_cob  # noqa: F401 - registers the close-of-business step
from app.collection import handover as collection_handover  # noqa: F401 - registers the open-cases hook
from app.collection import models as collection_models  # noqa: F401
from app.collection import permissions as collection_permissions  # noqa: F401
from app.contracts import approval as contract_approval  # noqa: F401 - registers contract and shipment
from app.contracts import handover as contract_handover  # noqa: F401 - registers the draft handover hook
from app.contracts import models as contract_models  # noqa: F401
from app.contracts import permissions as contract_permissions  # noqa: F401
from app.core import audit, events, idempotency  # noqa: F401
from app.core.principal import register_principal_resolver
from app.customers import handover as customer_handover  # noqa: F401 - registers handover hooks
from app.customers import models as customer_models  # noqa: F401
from app.customers import permissions as customer_permissions  # noqa: F401
from app.devices import approval as device_approval  # noqa: F401 - registers the lock and unlock request types
from app.devices import delivery as device_delivery  # noqa: F401 - registers the device.send queue handler
from app.devices import jobs as device_jobs  # noqa: F401 - registers the device-command-expiry job
from app.devices import models as device_models  # noqa: F401
from app.devices import permissions as device_permissions  # noqa: F401
from app.devices import timeline as device_timeline  # noqa: F401 - adds locks, unlocks and commands to the case timeline
from app.expenses import approval as expense_approval  # noqa: F401 - registers the request type
from app.expenses import models as expense_models  # noqa: F401
from app.expenses import permissions as expense_permissions  # noqa: F401
from app.field import models as field_models  # noqa: F401
from app.field import sync as field_sync  # noqa: F401 - registers the change-log purge job
from app.ledger import cob as ledger_cob  # noqa: F401 - registers the close-of-business job
from app.ledger import cob_models as ledger_cob_models  # noqa: F401
from app.ledger import models as ledger_models  # noqa: F401
from app.ledger import permissions as ledger_permissions  # noqa: F401
from app.ledger import verify as ledger_verify  # noqa: F401 - registers the verify-ledger job
from app.messages import cob as message_cob  # noqa: F401 - registers the close-of-business messages
from app.messages import delivery as message_delivery  # noqa: F401 - registers the message.send job
from app.messages import models as message_models  # noqa: F401
from app.messages import permissions as message_permissions  # noqa: F401
from app.messages import timeline as message_timeline  # noqa: F401 - adds messages to the case timeline
from app.notifications import models as notification_models  # noqa: F401
from app.org import models as org_models  # noqa: F401
from app.org import permissions as org_permissions  # noqa: F401
from app.reports import cob as reports_cob  # noqa: F401 - registers the month-end snapshot
from app.reports import models as report_models  # noqa: F401
from app.reports import permissions as report_permissions  # noqa: F401
from app.requests import approval as money_request_approval  # noqa: F401 - registers the request types
from app.requests import models as money_request_models  # noqa: F401
from app.requests import permissions as money_request_permissions  # noqa: F401
from app.requests import timeline as money_request_timeline  # noqa: F401 - adds waivers and settlements to the case timeline
from app.towing import approval as towing_approval  # noqa: F401 - registers the tow request type
from app.towing import handover as towing_handover  # noqa: F401 - registers the tow-task hook
from app.towing import models as towing_models  # noqa: F401
from app.towing import permissions as towing_permissions  # noqa: F401
from app.towing import service as towing_service  # noqa: F401 - registers the tow_registration reader
from app.towing import timeline as towing_timeline  # noqa: F401 - adds tow requests to the case timeline
from app.webhooks import handover as webhook_handover  # noqa: F401 - registers the subscriptions hook
from app.webhooks import models as webhook_models  # noqa: F401
from app.webhooks import permissions as webhook_permissions  # noqa: F401
from app.webhooks import service as webhook_service  # noqa: F401 - registers the fan-out and webhook.deliver

register_principal_resolver(principal_from_access_token)
