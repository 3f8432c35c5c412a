"""Attachments over HTTP: the upload (platform and field), the metadata and the bytes."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from app.attachments import files, service
from app.attachments import permissions as P
from app.attachments.models import CONTENT_TYPES
from app.attachments.schemas import SHA256_PATTERN, AttachmentOut
from app.attachments.storage import Storage, configured_storage
from app.core.etag import declares, set_location, tagged
from app.core.idempotency import Idempotent
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session

Id = Annotated[uuid.UUID, Path()]


async def attachment_storage() -> Storage:
    """The configured storage (a dependency, so tests can put the bytes elsewhere)."""
    return configured_storage()


StorageDep = Annotated[Storage, Depends(attachment_storage)]

UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "This id was uploaded before with the same content: the stored attachment"}}


@declares(etag=True, location=True)
async def create_attachment(
    session: Session, principal: Requires(P.ATTACHMENT_UPLOAD), storage: StorageDep, request: Request,
    response: Response,
    attachment_id: Annotated[uuid.UUID, Form(alias="id", description="The client's own UUID for the file")],
    file: Annotated[UploadFile, File(description="The file: JPEG, PNG, HEIC or PDF, at most 20 MiB. Its name's "
                                                 "extension and its part's Content-Type, when they name a type, "
                                                 "must name the type of its bytes (else 415 "
                                                 "`attachment.type_mismatch`)")],
    sha256: Annotated[str | None, Form(min_length=64, max_length=64, pattern=SHA256_PATTERN,
                                       description="SHA-256 of the file, hex; a mismatch answers 422")] = None,
) -> AttachmentOut:
    # Starlette spooled the part to a temporary file while parsing (in memory up to 1 MiB, then on
    # disk); the service reads it in chunks.
    attachment, created = await service.upload(session, principal, storage, service.Upload(
        attachment_id=attachment_id, file=file.file, file_name=file.filename, sha256=sha256,
        content_type=file.content_type))
    if not created:
        response.status_code = 200
    set_location(response, f"{request.url.path}/{attachment.id}", attachment.version)
    return AttachmentOut.of(attachment)


@declares(etag=True)
async def get_attachment(session: Session, principal: Requires(), attachment_id: Id,
                         response: Response) -> AttachmentOut:
    return AttachmentOut.of(tagged(response, await service.get(session, principal, attachment_id)))


CONTENT_DOC = {content_type: {"schema": {"type": "string", "format": "binary"}} for content_type in CONTENT_TYPES}
CONTENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": CONTENT_DOC, "description": "The file",
          "headers": {"ETag": {"description": "The file's SHA-256 (strong: the bytes never change)",
                               "schema": {"type": "string"}}}}}


async def get_attachment_content(session: Session, principal: Requires(), storage: StorageDep,
                                 attachment_id: Id) -> Response:
    attachment = await service.get(session, principal, attachment_id)
    chunks = storage.open(attachment.sha256)
    # The first chunk before answering: stored bytes that cannot be read fail as a problem, not as a
    # response cut off after its headers.
    first = await anext(chunks, b"")
    headers = {
        "ETag": f'"{attachment.sha256}"',
        "Content-Length": str(attachment.size),
        "Content-Disposition": files.content_disposition(
            files.name_for(attachment.file_name, attachment.content_type),
            f"{attachment.id}.{files.EXTENSIONS[attachment.content_type]}"),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=86400",
    }
    return StreamingResponse(_prepend(first, chunks), media_type=attachment.content_type, headers=headers)


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


def attachment_routes(prefix: str = "") -> APIRouter:
    """The same three operations on each surface (operation ids prefixed on the field surface): the phone
    uploads its photos before the log that names them, and shows those of its cases."""
    target = api_router(tags=["attachments"])
    target.add_api_route("/attachments", create_attachment, methods=["POST"], response_model=AttachmentOut,
                         status_code=201, operation_id=f"{prefix}create_attachment", summary="Upload an attachment",
                         dependencies=[Idempotent], responses=UPLOAD_RESPONSES)
    target.add_api_route("/attachments/{attachment_id}", get_attachment, methods=["GET"],
                         response_model=AttachmentOut, operation_id=f"{prefix}get_attachment",
                         summary="An attachment's metadata (uploader, or a reader of what it is attached to)")
    target.add_api_route("/attachments/{attachment_id}/content", get_attachment_content, methods=["GET"],
                         response_class=Response, operation_id=f"{prefix}get_attachment_content",
                         summary="An attachment's bytes, with the detected content type", responses=CONTENT_RESPONSES)
    return target


router = attachment_routes()
mobile_router = attachment_routes("mobile_")
