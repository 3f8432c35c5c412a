"""Idempotency-Key for creating POSTs.

Same caller + same key + same body → the first response is replayed (status, body, headers).
Same key with a different body → 409. Records commit with the change (see TransactionalRoute) and
live `IDEMPOTENCY_TTL_HOURS`. Concurrent duplicates serialise on an advisory lock on the key, so
the second waits for the first and then replays it.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, delete, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from starlette.datastructures import UploadFile

from app.core.config import get_settings
from app.core.db import Base, utcnow
from app.core.errors import Conflict, InvalidInput
from app.core.jobs import periodic
from app.core.principal import CurrentPrincipal
from app.core.routing import ShortCircuit, request_session
from app.core.sql import advisory_xact_lock

# Visible ASCII with inner spaces: a header value every client and proxy carries unchanged.
# Trailing whitespace is not part of a field value (RFC 9110 5.5) and not every server strips it;
# leading whitespace is what clients (requests, fetch) refuse to send, so it is not documented.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?[ \t]*$"
_KEY_OK = re.compile(IDEMPOTENCY_KEY_PATTERN)

REPLAYED_HEADERS = ("location", "etag", "content-type")


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"
    __handover_kept__ = {"user_id": "the leaver's own retries (a key is per caller)"}

    user_id: Mapped[Any] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2048))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_headers: Mapped[dict[str, str]] = mapped_column(JSONB)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class IdempotentReplay(ShortCircuit):
    """Answers with the stored response instead of running the handler again."""


@dataclass
class PendingIdempotency:
    user_id: Any
    key: str
    method: str
    path: str
    request_hash: str

    async def store(self, session: AsyncSession, response: Response) -> None:
        headers = {k: v for k, v in response.headers.items() if k.lower() in REPLAYED_HEADERS}
        await session.execute(
            insert(IdempotencyRecord).values(
                user_id=self.user_id,
                key=self.key,
                method=self.method,
                path=self.path,
                request_hash=self.request_hash,
                status_code=response.status_code,
                response_headers=headers,
                response_body=bytes(response.body),
                expires_at=utcnow() + timedelta(hours=get_settings().idempotency_ttl_hours),
            )
        )


async def idempotency(
    request: Request,
    principal: CurrentPrincipal,
    session: Annotated[AsyncSession, Depends(request_session)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="Retrying with the same key and body replays the first response; "
            "a different body with the same key answers 409. Kept 24 hours. Visible ASCII (a UUID "
            "is typical), spaces allowed inside.",
        ),
    ] = None,
) -> None:
    if idempotency_key is None:
        return
    if not _KEY_OK.match(idempotency_key):  # the documented pattern, checked for non-FastAPI callers too
        raise InvalidInput("Idempotency-Key must be printable text.", code="idempotency.invalid_key")
    idempotency_key = idempotency_key.strip(" \t")
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.url.path.encode() + b"\n")
    await _hash_body(request, digest)
    request_hash = digest.hexdigest()

    await advisory_xact_lock(session, f"idem:{principal.user_id}:{idempotency_key}")
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == principal.user_id,
            IdempotencyRecord.key == idempotency_key,
            IdempotencyRecord.expires_at > utcnow(),
        )
    )
    if record is not None:
        if record.request_hash != request_hash:
            raise Conflict(
                "This Idempotency-Key was used with a different request.",
                code="idempotency.key_reused",
            )
        headers = dict(record.response_headers)
        headers["Idempotent-Replayed"] = "true"
        raise IdempotentReplay(
            Response(content=record.response_body, status_code=record.status_code, headers=headers)
        )
    # An expired record with this key may still exist: clear it so the new one can be stored.
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.user_id == principal.user_id, IdempotencyRecord.key == idempotency_key
        )
    )
    request.state.idempotency = PendingIdempotency(
        principal.user_id, idempotency_key, request.method, request.url.path, request_hash
    )


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


async def _hash_body(request: Request, digest: Any) -> None:
    """Feed what the request means into `digest`, not its incidental bytes: a retried upload gets a
    new multipart boundary and a re-serialised JSON body may order its keys differently.

    Forms are read through `request.form()`, which Starlette caches on the request, so the handler
    (or FastAPI's own form parameters) still gets the parsed form after this has run.
    """
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(FORM_TYPES):
        form = await request.form()
        for name, value in form.multi_items():
            digest.update(b"\0field\0" + name.encode())
            if isinstance(value, UploadFile):
                digest.update(b"\0file\0" + (value.filename or "").encode() + b"\0")
                while chunk := await value.read(64 * 1024):
                    digest.update(chunk)
                await value.seek(0)
            else:
                digest.update(b"\0value\0" + value.encode())
        return
    body = await request.body()
    if content_type.startswith("application/json") and body:
        try:
            body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
        except ValueError:
            pass
    digest.update(body)


Idempotent = Depends(idempotency)


@periodic("idempotency-purge", every_seconds=3600)
async def purge_expired(session: AsyncSession) -> dict[str, int]:
    """Drop records past their time to live (lookups already ignore them)."""
    result = await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow()))
    return {"purged": result.rowcount or 0}
