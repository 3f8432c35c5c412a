"""Message templates, the message log, sending from a case and customers' opt-out (/api/v1). Thin."""

import uuid
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response

from app.core.etag import check_if_match, declares, set_etag, set_location
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, paginate
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.scoping import get_readable, get_writable
from app.messages import permissions as P
from app.messages import repository as repo
from app.messages import service
from app.messages.errors import MessageTemplateNotFound
from app.messages.models import Message, MessageTemplate
from app.messages.schemas import (
    CaseMessageCreate,
    MessageOut,
    MessageState,
    OptOutIn,
    TemplateCreate,
    TemplateOut,
    TemplateUpdate,
)

router = api_router(tags=["messages"])
TemplateId = Annotated[uuid.UUID, Path()]
NEWEST_TEMPLATES = SortKey("-created_at", MessageTemplate.created_at, True)
NEWEST_MESSAGES = SortKey("-created_at", Message.created_at, True)


@router.get("/message-templates", response_model=Page[TemplateOut], operation_id="list_message_templates",
            summary="The group's message templates")
async def list_templates(session: Session, principal: Requires(P.MESSAGE_TEMPLATE_MANAGE), page: PageQuery) -> Any:
    rows, cursor = await paginate(session, repo.templates(principal), page, NEWEST_TEMPLATES, MessageTemplate.id)
    return Page[TemplateOut](items=[TemplateOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post("/message-templates", response_model=TemplateOut, status_code=201,
             operation_id="create_message_template", summary="Create message template", dependencies=[Idempotent])
@declares(etag=True, location=True)
async def create_template(session: Session, principal: Requires(P.MESSAGE_TEMPLATE_MANAGE), body: TemplateCreate,
                          response: Response) -> Any:
    template = await service.create_template(session, principal, body)
    set_location(response, f"/api/v1/message-templates/{template.id}", template.version)
    return TemplateOut.model_validate(template)


@router.patch("/message-templates/{template_id}", response_model=TemplateOut,
              operation_id="update_message_template", summary="Change message template")
@declares(etag=True, if_match=True)
async def update_template(session: Session, principal: Requires(P.MESSAGE_TEMPLATE_MANAGE), template_id: TemplateId,
                          body: TemplateUpdate, request: Request, response: Response) -> Any:
    template = await get_writable(session, principal, MessageTemplate, template_id, code=MessageTemplateNotFound.code)
    check_if_match(request, template.version)
    template = await service.update_template(session, principal, template, body)
    set_etag(response, template.version)
    return TemplateOut.model_validate(template)


@router.get("/message-templates/{template_id}", response_model=TemplateOut, operation_id="get_message_template",
            summary="Get message template")
@declares(etag=True)
async def get_template(session: Session, principal: Requires(P.MESSAGE_TEMPLATE_MANAGE), template_id: TemplateId,
                       response: Response) -> Any:
    template = await get_readable(session, principal, MessageTemplate, template_id, code=MessageTemplateNotFound.code)
    set_etag(response, template.version)
    return TemplateOut.model_validate(template)


@router.get("/messages", response_model=Page[MessageOut], operation_id="list_messages",
            summary="Messages to customers, newest first")
async def list_messages(session: Session, principal: Requires(P.MESSAGE_READ), page: PageQuery,
                        case_id: uuid.UUID | None = None, customer_id: uuid.UUID | None = None,
                        state: Annotated[MessageState | None, Query()] = None) -> Any:
    stmt = repo.messages(principal, case_id=case_id, customer_id=customer_id, state=state)
    rows, cursor = await paginate(session, stmt, page, NEWEST_MESSAGES, Message.id)
    return Page[MessageOut](items=[service.shaped(r) for r in rows], next_cursor=cursor)


@router.post("/collection-cases/{case_id}/messages", response_model=MessageOut, status_code=202,
             operation_id="send_case_message", dependencies=[Idempotent],
             summary="Send an SMS or e-mail to the case's customer (queued; held until 08:00 at night)")
async def send_case_message(session: Session, principal: Requires(P.MESSAGE_SEND),
                            case_id: Annotated[uuid.UUID, Path()], body: CaseMessageCreate) -> Any:
    return service.shaped(await service.send_from_case(session, principal, case_id, body))


@router.put("/customers/{customer_id}/message-opt-out", status_code=204, operation_id="opt_out_of_messages",
            summary="The customer asked for no SMS or e-mail")
async def opt_out(session: Session, principal: Requires(P.MESSAGE_OPT_OUT),
                  customer_id: Annotated[uuid.UUID, Path()], body: OptOutIn) -> Response:
    await service.opt_out(session, principal, customer_id, body)
    return Response(status_code=204)


@router.delete("/customers/{customer_id}/message-opt-out", status_code=204, operation_id="opt_in_to_messages",
               summary="Withdraw the customer's opt-out")
async def opt_in(session: Session, principal: Requires(P.MESSAGE_OPT_OUT),
                 customer_id: Annotated[uuid.UUID, Path()]) -> Response:
    await service.opt_in(session, principal, customer_id)
    return Response(status_code=204)
