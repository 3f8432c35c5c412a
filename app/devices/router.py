"""Lock and unlock requests (the request kit's routes, with their own create and list), the unlock
form, device commands (read-only: they move by approval, delivery and the gateway), and the gateway's
signed callback. Thin: parse, call the service or repository, shape."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel

from app.approvals import requests as kit
from app.approvals.request_routes import RETRIED, Status, request_routes
from app.core.errors import problem_responses
from app.core.etag import declares, set_etag
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, paginate, sort_param
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session, TransactionalRoute
from app.core.scoping import get_readable
from app.core.types import BusinessDate
from app.devices import intake, service, signing
from app.devices import permissions as P
from app.devices import repository as repo
from app.devices.approval import LOCK, UNLOCK
from app.devices.errors import DeviceCommandNotFound
from app.devices.models import DeviceCommand
from app.devices.schemas import (
    CallbackOut,
    CommandAction,
    CommandState,
    DeviceCommandDetail,
    DeviceCommandOut,
    LockRequestIn,
    LockRequestOut,
    LockRequestUpdate,
    UnlockFormOut,
    UnlockRequestIn,
    UnlockRequestOut,
    UnlockRequestUpdate,
)

TAGS = ["devices"]
router = api_router(tags=TAGS)
Reader = Requires(P.DEVICE_READ)
COMMAND_SORTS = {"created_at": SortKey("created_at", DeviceCommand.created_at)}


def device_request_routes(target: APIRouter, kind: kit.RequestKind[Any], action: str, *, path: str, resource: str,
                          create: type[BaseModel], update: type[BaseModel], out: type[BaseModel], write: str,
                          prefix: str = "") -> None:
    """The kit's detail, update, delete, submit and withdraw; create (the contract's scope, the machine
    and its GPS device, submit in one call) and the list (more filters) are this area's."""
    model = kind.model
    Writer = Requires(write)  # noqa: N806 - a type in the signatures below
    sorts = {"created_at": SortKey("created_at", model.created_at)}
    title = kind.engine_type.titles["en"].lower()

    async def list_requests(session: Session, principal: Reader, page: PageQuery,
                            sort: Annotated[SortKey, Depends(sort_param(sorts, "-created_at"))],
                            status: Status | None = None, company_id: uuid.UUID | None = None,
                            contract_id: uuid.UUID | None = None, machine_id: uuid.UUID | None = None,
                            requester_id: uuid.UUID | None = None,
                            created_from: Annotated[BusinessDate | None, Query(description="On or after")] = None,
                            created_to: Annotated[BusinessDate | None, Query(description="On or before")] = None,
                            mine: bool = False) -> Any:
        filters = repo.RequestFilters(status=status, company_id=company_id, contract_id=contract_id,
                                      requester_id=requester_id, created_from=created_from, created_to=created_to)
        stmt = repo.filtered_requests(principal, model, filters, machine_id=machine_id, mine=mine)
        rows, cursor = await paginate(session, stmt, page, sort, model.id)
        return Page[out](items=[out.model_validate(r) for r in rows], next_cursor=cursor)  # type: ignore[valid-type]

    @declares(etag=True, location=True)
    async def create_request(session: Session, principal: Writer, body: create,  # type: ignore[valid-type]
                             http: Request, response: Response) -> Any:
        request, created = await service.create_request(session, principal, kind, action, body)
        if not created:
            response.status_code = 200
        response.headers["Location"] = f"{http.url.path}/{request.id}"
        set_etag(response, request.version)
        return out.model_validate(request)

    target.add_api_route(path, list_requests, methods=["GET"], response_model=Page[out],  # type: ignore[valid-type]
                         operation_id=f"{prefix}list_{resource}s", summary=f"List {title}s")
    target.add_api_route(path, create_request, methods=["POST"], response_model=out, status_code=201,
                         operation_id=f"{prefix}create_{resource}", summary=f"Create {title}",
                         dependencies=[Idempotent], responses=RETRIED)
    request_routes(target, kind, path=path, resource=f"{prefix}{resource}", create=create, update=update, out=out,
                   read=P.DEVICE_READ, write=write, id_name=f"{resource}_id", omit=frozenset({"create", "list"}))


def requests_routes(target: APIRouter, prefix: str = "") -> APIRouter:
    device_request_routes(target, LOCK, "lock", path="/lock-requests", resource="lock_request",
                          create=LockRequestIn, update=LockRequestUpdate, out=LockRequestOut, write=P.LOCK_REQUEST,
                          prefix=prefix)
    device_request_routes(target, UNLOCK, "unlock", path="/unlock-requests", resource="unlock_request",
                          create=UnlockRequestIn, update=UnlockRequestUpdate, out=UnlockRequestOut,
                          write=P.UNLOCK_REQUEST, prefix=prefix)

    async def unlock_form(session: Session, principal: Requires(P.UNLOCK_REQUEST), contract_id: uuid.UUID) -> Any:
        return UnlockFormOut.model_validate(await service.unlock_form(session, principal, contract_id))

    target.add_api_route("/contracts/{contract_id}/unlock-request-form", unlock_form, methods=["GET"],
                         response_model=UnlockFormOut, operation_id=f"{prefix}get_unlock_request_form",
                         summary="Unlock form: the contract's latest payment and its machines' lock states")
    return target




async def list_device_commands(session: Session, principal: Reader, page: PageQuery,
                               sort: Annotated[SortKey, Depends(sort_param(COMMAND_SORTS, "-created_at"))],
                               state: CommandState | None = None, action: CommandAction | None = None,
                               contract_id: uuid.UUID | None = None, machine_id: uuid.UUID | None = None,
                               request_id: uuid.UUID | None = None) -> Any:
    stmt = repo.filtered_commands(principal, state=state, action=action, contract_id=contract_id,
                                  machine_id=machine_id, request_id=request_id)
    rows, cursor = await paginate(session, stmt, page, sort, DeviceCommand.id)
    return Page[DeviceCommandOut](items=[DeviceCommandOut.model_validate(r) for r in rows], next_cursor=cursor)


@declares(etag=True)
async def get_device_command(session: Session, principal: Reader, command_id: Annotated[uuid.UUID, Path()],
                             response: Response) -> Any:
    command = await get_readable(session, principal, DeviceCommand, command_id, code=DeviceCommandNotFound.code)
    transitions = (await repo.transitions_of(session, [command.id]))[command.id]
    set_etag(response, command.version)
    return DeviceCommandDetail.model_validate({**DeviceCommandOut.model_validate(command).model_dump(),
                                               "transitions": transitions})


def command_routes(target: APIRouter, prefix: str = "") -> APIRouter:
    target.add_api_route("/device-commands", list_device_commands, methods=["GET"],
                         response_model=Page[DeviceCommandOut], operation_id=f"{prefix}list_device_commands",
                         summary="List device commands")
    target.add_api_route("/device-commands/{command_id}", get_device_command, methods=["GET"],
                         response_model=DeviceCommandDetail, operation_id=f"{prefix}get_device_command",
                         summary="Get device command, with every transition and the provider's answers")
    return target


command_routes(requests_routes(router))
mobile_router = command_routes(requests_routes(api_router(tags=TAGS), "mobile_"), "mobile_")

# The gateway's callback: no bearer token (the provider has none); the signature is its authentication.
callback_router = APIRouter(route_class=TransactionalRoute, tags=TAGS)
CALLBACK_BODY = {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [intake.CommandResult.model_json_schema(), intake.PositionReport.model_json_schema()]}}}}


@callback_router.post(
    "/device-gateway/callbacks", response_model=CallbackOut, operation_id="receive_device_gateway_callback",
    summary="Gateway callback: a command's result or a position report (HMAC-SHA256 signed)",
    description=f"Authenticated by `{signing.SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of "
                f"'<{signing.TIMESTAMP_HEADER}>.<raw body>'>` with the shared secret; a timestamp older than "
                "5 minutes, a bad signature or a replayed request answers 401. Applied once per `event_id`. A "
                "command result whose command, device and group disagree answers 409 and changes nothing.",
    responses=problem_responses(401, 409, 422), openapi_extra={"requestBody": CALLBACK_BODY})
async def receive_callback(session: Session, http: Request,
                           timestamp: Annotated[str | None, Header(alias=signing.TIMESTAMP_HEADER,
                                                                   max_length=20)] = None,
                           signature: Annotated[str | None, Header(alias=signing.SIGNATURE_HEADER,
                                                                   max_length=100)] = None) -> Any:
    return CallbackOut.model_validate(await intake.receive(session, await http.body(), timestamp, signature))


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its nested models written in place: a body documented by hand
    (the route reads it raw, to authenticate before it parses) cannot point into `components`."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        return [resolve(item) for item in node] if isinstance(node, list) else node

    return resolve(schema)


TraccarKey = Annotated[str | None, Header(alias=intake.TRACCAR_KEY_HEADER, max_length=200)]
TRACCAR_AUTH = (f"Stock Traccar's forwarding (`forward.type` json), authenticated by the secret "
                f"`DEVICE_TRACCAR_FORWARD_SECRET` in the `{intake.TRACCAR_KEY_HEADER}` header (Traccar's "
                "`forward.header` / `event.forward.header`); a missing or wrong key answers 401.")


@callback_router.post(
    "/device-gateway/traccar/positions", response_model=CallbackOut,
    operation_id="receive_traccar_position", summary="Traccar's position forwarding (its JSON: position and device)",
    description=TRACCAR_AUTH + " Applied once per Traccar position id; speed in knots.",
    responses=problem_responses(401, 422), openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": inline_schema(intake.TraccarPositionForward)}}}})
async def receive_traccar_position(session: Session, http: Request, key: TraccarKey = None) -> Any:
    return CallbackOut.model_validate(await intake.receive_traccar_position(session, await http.body(), key))


@callback_router.post(
    "/device-gateway/traccar/events", response_model=CallbackOut,
    operation_id="receive_traccar_event", summary="Traccar's event forwarding (its JSON: event, position, device)",
    description=TRACCAR_AUTH + " A `commandResult` acknowledges the device's latest sent command (409 when it "
                "disagrees); other events apply the position they carry. Applied once per Traccar event id.",
    responses=problem_responses(401, 409, 422), openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": inline_schema(intake.TraccarEventForward)}}}})
async def receive_traccar_event(session: Session, http: Request, key: TraccarKey = None) -> Any:
    return CallbackOut.model_validate(await intake.receive_traccar_event(session, await http.body(), key))
