"""Every query of attachments. Reads for the caller start from `readable()`/`writable()`; the lookups
by primary key for a retried upload and the purge's set-based statements are not reads of records for
anybody (a retry must find the id wherever it is, the purge works across tenants), and say so."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.models import Attachment
from app.core.principal import Principal
from app.core.scoping import readable, writable
from app.core.sql import advisory_xact_lock, advisory_xact_locks


def bytes_lock_key(sha256: str) -> str:
    """Held by whoever stores or deletes these bytes, until their transaction ends: the purge never
    removes bytes that an upload is about to use."""
    return f"attachment-bytes:{sha256}"


async def lock_id(session: AsyncSession, attachment_id: uuid.UUID) -> None:
    """Serialises concurrent uploads of one id (the phone retrying while the first is in flight)."""
    await advisory_xact_lock(session, f"attachment:{attachment_id}")


async def lock_bytes(session: AsyncSession, sha256s: Sequence[str]) -> None:
    await advisory_xact_locks(session, [bytes_lock_key(s) for s in sha256s])


async def by_id_for_retry(session: AsyncSession, attachment_id: uuid.UUID) -> Attachment | None:
    """The row holding this id, whoever uploaded it: ids are global, so a retry (or a clash) must
    find it wherever it is. Row-locked so a purge deleting it meanwhile is waited for."""
    return await session.scalar(select(Attachment).where(Attachment.id == attachment_id).with_for_update())


async def readable_by_id(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID) -> Attachment | None:
    return await session.scalar(readable(principal, Attachment).where(Attachment.id == attachment_id))


async def own_for_update(session: AsyncSession, principal: Principal,
                         attachment_ids: Sequence[uuid.UUID]) -> list[Attachment]:
    """The caller's own uploads among the ids, row-locked (in id order: two attachers never deadlock)."""
    stmt = (writable(principal, Attachment)
            .where(Attachment.id.in_(attachment_ids), Attachment.uploaded_by_id == principal.user_id)
            .order_by(Attachment.id).with_for_update())
    return list(await session.scalars(stmt))


async def mark_attached(session: AsyncSession, attachment_ids: Sequence[uuid.UUID], kind: str, target_id: uuid.UUID,
                        at: datetime) -> None:
    await session.execute(
        update(Attachment).where(Attachment.id.in_(attachment_ids), Attachment.attached_kind.is_(None))
        .values(attached_kind=kind, attached_id=target_id, attached_at=at, version=Attachment.version + 1))


async def attached_to(session: AsyncSession, principal: Principal, kind: str,
                      target_id: uuid.UUID) -> list[Attachment]:
    """What is attached to a target, for the area that owns it (which has checked that the caller may
    read the target)."""
    stmt = (readable(principal, Attachment)
            .where(Attachment.attached_kind == kind, Attachment.attached_id == target_id)
            .order_by(Attachment.created_at, Attachment.id))
    return list(await session.scalars(stmt))


async def delete_unattached_before(session: AsyncSession, before: datetime, limit: int) -> list[str]:
    """Deletes up to `limit` unattached uploads created before `before` (every tenant: a job's work),
    oldest first, skipping rows an attacher holds; the hash of each deleted row."""
    doomed = (select(Attachment.id).where(Attachment.attached_kind.is_(None), Attachment.created_at < before)
              .order_by(Attachment.created_at).limit(limit).with_for_update(skip_locked=True))
    result = await session.execute(delete(Attachment).where(Attachment.id.in_(doomed.scalar_subquery()))
                                   .returning(Attachment.sha256))
    return list(result.scalars())


async def unused_hashes(session: AsyncSession, sha256s: Sequence[str]) -> list[str]:
    """The hashes no attachment row uses any more (their bytes may go)."""
    if not sha256s:
        return []
    candidate = func.unnest(array(list(sha256s))).table_valued("sha256").render_derived(name="candidate")
    used = exists().where(Attachment.sha256 == candidate.c.sha256)
    return list(await session.scalars(select(candidate.c.sha256).where(~used)))
