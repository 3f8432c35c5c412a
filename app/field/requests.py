"""The field surface's requests facade: `POST /requests/{kind}` creates and submits a request in one
call, with the phone's own UUID as `client_ref` (its retry with the same body answers 200 with the
first record, whatever happened to the first answer; another body under the same reference is a 409
`request.conflicting_retry`). Table-driven: each kind names its request type, the
platform's input (the field input is the same without `submit` and with `client_ref` required),
the permission, and the area's own create function, so the field surface reuses the rules as they
are. A new kind is one `register` line below."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import requests as kit
from app.core.principal import Principal
from app.devices import permissions as devices_permissions
from app.devices import service as devices
from app.devices.approval import LOCK, UNLOCK
from app.devices.schemas import LockRequestIn, UnlockRequestIn
from app.requests import permissions as money_permissions
from app.requests import service as money_requests
from app.requests.approval import SETTLEMENT, WAIVER
from app.requests.schemas import SettlementRequestIn, WaiverIn
from app.towing import permissions as towing_permissions
from app.towing import service as towing
from app.towing.approval import TOW
from app.towing.schemas import TowRequestCreate

Create = Callable[[AsyncSession, Principal, Any], Awaitable[tuple[Any, bool]]]


@dataclass(frozen=True)
class FieldRequestKind:
    path: str  # /requests/{path}
    kind: kit.RequestKind[Any]
    body: type[BaseModel]  # the field's input
    platform_body: type[BaseModel]
    permission: str
    create: Create
    amount: Callable[[Any], Any] | None = None  # the model's amount column, for kinds that have one

    @property
    def table(self) -> str:
        """The change kind the sync triggers write for this kind's rows (migration field_sync)."""
        return self.kind.model.__tablename__  # type: ignore[no-any-return]


FIELD_REQUESTS: dict[str, FieldRequestKind] = {}


def field_input(path: str, platform_body: type[BaseModel]) -> type[BaseModel]:
    """The platform's input without `submit` (the field always submits) and with the phone's own
    UUID required."""
    fields: dict[str, Any] = {name: (info.annotation, info) for name, info in platform_body.model_fields.items()
                              if name not in ("submit", "client_ref")}
    name = "Field" + "".join(part.title() for part in path.split("-")) + "In"
    return create_model(name, __config__=ConfigDict(**{**platform_body.model_config, "extra": "forbid"}),  # type: ignore[call-overload, no-any-return]
                        client_ref=(uuid.UUID, Field(description="The phone's own UUID for this request: sending "
                                                     "it again with the same body answers 200 with the request it "
                                                     "created, with another body 409 `request.conflicting_retry`")),
                        **fields)


def register(path: str, kind: kit.RequestKind[Any], platform_body: type[BaseModel], permission: str,
             create: Create, amount: Callable[[Any], Any] | None = None) -> FieldRequestKind:
    entry = FieldRequestKind(path, kind, field_input(path, platform_body), platform_body, permission, create, amount)
    FIELD_REQUESTS[path] = entry
    return entry


async def create_and_submit(session: AsyncSession, principal: Principal, path: str,
                            body: BaseModel) -> tuple[Any, bool]:
    """The area's own create with `submit`: the same checks, audit and approval as the platform's."""
    entry = FIELD_REQUESTS[path]
    return await entry.create(session, principal, entry.platform_body(**body.model_dump(), submit=True))


def _money(kind: kit.RequestKind[Any]) -> Create:
    async def create(session: AsyncSession, principal: Principal, body: Any) -> tuple[Any, bool]:
        return await money_requests.create(session, principal, kind, body)
    return create


def _machine(kind: kit.RequestKind[Any], action: str) -> Create:
    async def create(session: AsyncSession, principal: Principal, body: Any) -> tuple[Any, bool]:
        return await devices.create_request(session, principal, kind, action, body)
    return create


register("interest-waiver", WAIVER, WaiverIn, money_permissions.WAIVER_REQUEST, _money(WAIVER),
         amount=lambda model: model.amount)
register("tow", TOW, TowRequestCreate, towing_permissions.TOW_REQUEST, towing.create_request)
register("settlement", SETTLEMENT, SettlementRequestIn, money_permissions.SETTLEMENT_REQUEST, _money(SETTLEMENT))
register("lock", LOCK, LockRequestIn, devices_permissions.LOCK_REQUEST, _machine(LOCK, "lock"))
register("unlock", UNLOCK, UnlockRequestIn, devices_permissions.UNLOCK_REQUEST, _machine(UNLOCK, "unlock"))
