"""The two API surfaces. Each area's router is included here, once per surface it belongs to."""

from fastapi import APIRouter

from app.approvals.router import mobile_router as approvals_mobile_router
from app.approvals.router import router as approvals_router
from app.attachments.router import mobile_router as attachments_mobile_router
from app.attachments.router import router as attachments_router
from app.audit.router import router as audit_router
from app.auth.router import build_auth_routers
from app.collection.logs_router import ROUTERS as COLLECTION_LOG_ROUTERS
from app.collection.router import ROUTERS as COLLECTION_ROUTERS
from app.contracts.router import ROUTERS as CONTRACT_ROUTERS
from app.customers.router import router as customers_router
from app.devices.router import callback_router as device_callback_router
from app.devices.router import mobile_router as devices_mobile_router
from app.devices.router import router as devices_router
from app.expenses.router import router as expenses_router
from app.field.router import router as field_router
from app.ledger.cob_router import router as cob_router
from app.ledger.read_router import router as ledger_read_router
from app.ledger.router import ROUTERS as LEDGER_ROUTERS
from app.messages.router import router as messages_router
from app.notifications.router import router as notifications_router
from app.org.router import router as org_router
from app.reports.router import router as reports_router
from app.requests.router import router as money_requests_router
from app.towing.router import mobile_router as towing_mobile_router
from app.towing.router import router as towing_router
from app.webhooks.router import router as webhooks_router

PLATFORM_PREFIX = "/api/v1"
MOBILE_PREFIX = "/api/mobile/v1"


def platform_router() -> APIRouter:
    router = APIRouter(prefix=PLATFORM_PREFIX)
    public, private = build_auth_routers("platform")
    for sub in (public, private, org_router, audit_router, notifications_router, customers_router,
                approvals_router, expenses_router, *CONTRACT_ROUTERS, *LEDGER_ROUTERS, ledger_read_router,
                cob_router, *COLLECTION_ROUTERS, *COLLECTION_LOG_ROUTERS, attachments_router,
                towing_router, money_requests_router, devices_router, device_callback_router, webhooks_router,
                messages_router, reports_router):
        router.include_router(sub)
    return router


def mobile_router() -> APIRouter:
    router = APIRouter(prefix=MOBILE_PREFIX)
    public, private = build_auth_routers("mobile")
    for sub in (public, private):
        router.include_router(sub)
    router.include_router(approvals_mobile_router)
    router.include_router(attachments_mobile_router)
    router.include_router(towing_mobile_router)
    router.include_router(devices_mobile_router)
    router.include_router(field_router)
    return router
