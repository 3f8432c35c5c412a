"""Attachments: the upload (verified, typed by its bytes, stored once per content), who may read one,
attaching uploads to the record they are evidence for, and the purge of uploads nobody attached.

Offline-safe like the logs: the phone names the attachment with its own UUID, so a retry whose first
answer was lost returns the stored attachment (200); the same id with other content is a 409."""

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments import files, photos
from app.attachments import repository as repo
from app.attachments.errors import (
    AttachmentAlreadyAttached,
    AttachmentChecksumMismatch,
    AttachmentConflictingRetry,
    AttachmentNotFound,
    AttachmentNotYours,
    AttachmentTooLarge,
    AttachmentTypeMismatch,
    AttachmentUnsupportedType,
)
from app.attachments.models import Attachment
from app.attachments.storage import CHUNK, Storage, configured_storage
from app.core import audit
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.jobs import periodic
from app.core.principal import Principal

PURGE_AFTER = timedelta(hours=24)
PURGE_BATCH = 10_000

# --- who may read what it is attached to ----------------------------------------------------------------

ReaderCheck = Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[bool]]
_READERS: dict[str, ReaderCheck] = {}


def register_reader(kind: str, check: ReaderCheck) -> None:
    """An area that attaches files to its records says who may read them: those for whom
    `check(session, principal, target_id)` is true (typically: the target is readable to them)."""
    if kind in _READERS and _READERS[kind] is not check:
        raise ValueError(f"a reader for attachments of {kind!r} is already registered")
    _READERS[kind] = check


async def may_read(session: AsyncSession, principal: Principal, attachment: Attachment) -> bool:
    if attachment.uploaded_by_id == principal.user_id:
        return True
    if attachment.attached_kind is None or attachment.attached_id is None:
        return False
    check = _READERS.get(attachment.attached_kind)
    return check is not None and await check(session, principal, attachment.attached_id)


async def get(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID) -> Attachment:
    """The attachment if the caller uploaded it or may read what it is attached to; 404 otherwise,
    the same answer as for an id nobody used."""
    attachment = await repo.readable_by_id(session, principal, attachment_id)
    if attachment is None or not await may_read(session, principal, attachment):
        raise AttachmentNotFound(f"Attachment {attachment_id} not found.")
    return attachment


# --- the upload ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Upload:
    attachment_id: uuid.UUID
    file: BinaryIO  # seekable; read from its start (a spooled upload, a BytesIO)
    file_name: str | None = None
    sha256: str | None = None  # what the client computed, verified
    content_type: str | None = None  # the part's Content-Type, as the client declared it


@dataclass(frozen=True)
class _Digest:
    sha256: str
    size: int
    head: bytes


def _digest(file: BinaryIO, limit: int) -> _Digest:
    """One pass in chunks: the hash, the size (refused as soon as it passes the limit, without reading
    on) and the leading bytes to sniff. Never more than a chunk in memory."""
    file.seek(0)
    sha, size, head = hashlib.sha256(), 0, b""
    while chunk := file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise AttachmentTooLarge(f"An attachment may have at most {limit} bytes.")
        if len(head) < files.SNIFF_BYTES:
            head += chunk[:files.SNIFF_BYTES - len(head)]
        sha.update(chunk)
    return _Digest(sha.hexdigest(), size, head)


def _photo_facts(file: BinaryIO, timezone: str) -> photos.PhotoFacts:
    file.seek(0)
    return photos.read_photo_facts(file, timezone)


async def upload(session: AsyncSession, principal: Principal, storage: Storage,
                 data: Upload) -> tuple[Attachment, bool]:
    """Stores the upload; (attachment, created). At most `MAX_UPLOAD_BYTES` (413), a JPEG, PNG, HEIC or
    PDF by its bytes (415) and declared as nothing else by its name or its part's type (415
    `attachment.type_mismatch`), equal to the client's SHA-256 when given (422). The uploader's retry with
    the same content returns the stored attachment (False); an id already used for other content, or
    by somebody else, is a 409."""
    settings = get_settings()
    digest = await to_thread.run_sync(_digest, data.file, settings.max_upload_bytes)
    content_type = files.sniff(digest.head)
    if content_type is None:
        raise AttachmentUnsupportedType("The file is not a JPEG, PNG, HEIC image or a PDF (judged by its content).")
    contradicted = files.declared_types(data.file_name, data.content_type) - {content_type}
    if contradicted:
        raise AttachmentTypeMismatch(
            f"The file is {content_type} by its content, but was sent as {', '.join(sorted(contradicted))}.",
            errors=[{"pointer": "/body/file", "message": f"the content is {content_type}"}],
            extra={"detected_type": content_type})
    if data.sha256 is not None and data.sha256.lower() != digest.sha256:
        raise AttachmentChecksumMismatch(f"The file's SHA-256 is {digest.sha256}, not {data.sha256.lower()}.",
                                         errors=[{"pointer": "/body/sha256", "message": "does not match the file"}])

    await repo.lock_id(session, data.attachment_id)
    existing = await repo.by_id_for_retry(session, data.attachment_id)
    if existing is not None:
        if existing.uploaded_by_id == principal.user_id and existing.sha256 == digest.sha256:
            return existing, False
        raise AttachmentConflictingRetry(f"Attachment {data.attachment_id} exists with other content.")

    facts = photos.PhotoFacts()
    if content_type != files.PDF:  # the images' EXIF (HEIC through pillow-heif)
        facts = await to_thread.run_sync(_photo_facts, data.file, settings.default_timezone)
    # Held until commit: a purge deciding these bytes are unused waits for this upload's row.
    await repo.lock_bytes(session, [digest.sha256])
    data.file.seek(0)
    await storage.put(digest.sha256, data.file)
    attachment = Attachment(
        id=data.attachment_id, group_id=principal.group_id, company_id=principal.company_id,
        uploaded_by_id=principal.user_id, sha256=digest.sha256, size=digest.size, content_type=content_type,
        file_name=files.clean_file_name(data.file_name), taken_at=facts.taken_at, latitude=facts.latitude,
        longitude=facts.longitude, created_at=utcnow(),
    )
    session.add(attachment)
    await session.flush()
    audit.record(session, principal, "attachment.upload", "attachment", attachment.id, after=_audited(attachment),
                 company_id=attachment.company_id)
    return attachment, True


def _audited(attachment: Attachment) -> dict[str, Any]:
    return {"sha256": attachment.sha256, "size": attachment.size, "content_type": attachment.content_type,
            "file_name": attachment.file_name, "attached_kind": attachment.attached_kind,
            "attached_id": attachment.attached_id}


# --- attaching -------------------------------------------------------------------------------------------

async def attach(session: AsyncSession, principal: Principal, attachment_ids: Sequence[uuid.UUID], kind: str,
                 target_id: uuid.UUID) -> list[Attachment]:
    """Attaches the caller's own uploads to a record of `kind` (whose area registered a reader). Ids
    the caller did not upload (unknown, another user's, another tenant's) are refused alike (422
    `attachment.not_yours`); an upload attached to another record is a 409; attaching again to the
    same record is a no-op, so an offline retry of the record succeeds. Call it in the transaction
    that creates the record."""
    if kind not in _READERS:
        raise ValueError(f"no reader registered for attachments of {kind!r} (register_reader)")
    ids = list(dict.fromkeys(attachment_ids))
    if not ids:
        return []
    rows = await repo.own_for_update(session, principal, ids)
    found = {row.id for row in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise AttachmentNotYours(f"Not attachments you uploaded: {', '.join(map(str, missing))}.",
                                 extra={"attachment_ids": [str(i) for i in missing]})
    elsewhere = [r.id for r in rows
                 if r.attached_kind is not None and (r.attached_kind, r.attached_id) != (kind, target_id)]
    if elsewhere:
        raise AttachmentAlreadyAttached(f"Attached to another record: {', '.join(map(str, elsewhere))}.",
                                        extra={"attachment_ids": [str(i) for i in elsewhere]})
    fresh = [r for r in rows if r.attached_kind is None]
    if fresh:
        before = {row.id: _audited(row) for row in fresh}
        # One UPDATE for all; the session's objects are synchronised with it.
        await repo.mark_attached(session, [r.id for r in fresh], kind, target_id, utcnow())
        for row in fresh:
            audit.record(session, principal, "attachment.attach", "attachment", row.id, before=before[row.id],
                         after=_audited(row), company_id=row.company_id)
    order = {attachment_id: n for n, attachment_id in enumerate(ids)}
    return sorted(rows, key=lambda r: order[r.id])


# --- the purge -------------------------------------------------------------------------------------------

async def purge_unattached(session: AsyncSession, storage: Storage, *, now: datetime | None = None) -> dict[str, int]:
    """Deletes uploads nobody attached within 24 hours (set-based, a bounded batch per round), and
    their bytes where no other attachment has the same content."""
    removed = await repo.delete_unattached_before(session, (now or utcnow()) - PURGE_AFTER, PURGE_BATCH)
    hashes = sorted(set(removed))
    # Wait for uploads of the same content in flight: they hold these locks until they commit.
    await repo.lock_bytes(session, hashes)
    unused = await repo.unused_hashes(session, hashes)
    for sha256 in unused:
        await storage.delete(sha256)
    return {"purged": len(removed), "files_deleted": len(unused)}


@periodic("attachments-purge", every_seconds=3600)
async def purge_job(session: AsyncSession) -> dict[str, int]:
    return await purge_unattached(session, configured_storage())
