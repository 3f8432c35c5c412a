"""Audit trail: every change records an event in the same transaction, hash-chained per group.

Services call `record(session, principal, ...)`; events are queued on the session and written by
a before-commit hook, so the per-group chain lock is held only for the moment of the commit.
The table is append-only (a trigger refuses UPDATE and DELETE); each row stores the hash of the
previous row of its group, and `verify_chain` recomputes the chain to show any tampering.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, select, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, on_before_commit, utcnow
from app.core.principal import Principal
from app.core.requestctx import request_id_var
from app.core.scoping import ScopeSpec, scoped

GENESIS = "0" * 64


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id, owners=(m.actor_id,)))
class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_group_id_seq", "group_id", "seq"),
        Index("ix_audit_event_entity", "entity_type", "entity_id"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(UUID, default=uuid.uuid4, unique=True)
    group_id: Mapped[uuid.UUID] = mapped_column(UUID)
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[Any] = mapped_column(JSONB, nullable=True)
    after: Mapped[Any] = mapped_column(JSONB, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def to_jsonable(value: Any) -> Any:
    """Plain JSON for before/after snapshots; money stays a string, never a float."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def snapshot(obj: Any, *fields: str) -> dict[str, Any]:
    """The named attributes of a model (or all its columns) as audit JSON."""
    names = fields or tuple(c.key for c in obj.__table__.columns if c.key != "password_hash")
    return {name: to_jsonable(getattr(obj, name)) for name in names}


@dataclass
class _Pending:
    group_id: uuid.UUID
    company_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    action: str
    entity_type: str
    entity_id: str | None
    before: Any
    after: Any
    request_id: str | None
    occurred_at: datetime


def record(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    entity_type: str,
    entity_id: Any,
    *,
    before: Any = None,
    after: Any = None,
    company_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
) -> None:
    """Queue an audit event; it is written and chained just before this transaction commits."""
    gid = group_id or (principal.group_id if principal else None)
    if gid is None:
        raise ValueError("an audit event needs a group")
    session.info.setdefault("audit_pending", []).append(
        _Pending(
            group_id=gid,
            company_id=company_id,
            actor_id=principal.user_id if principal else None,
            action=action,
            entity_type=entity_type,
            entity_id=None if entity_id is None else str(entity_id),
            before=to_jsonable(before),
            after=to_jsonable(after),
            request_id=request_id_var.get(),
            occurred_at=utcnow(),
        )
    )


def compute_hash(prev_hash: str, event: dict[str, Any]) -> str:
    canonical = json.dumps(
        {
            "prev": prev_hash,
            "id": str(event["id"]),
            "group_id": str(event["group_id"]),
            "company_id": None if event["company_id"] is None else str(event["company_id"]),
            "actor_id": None if event["actor_id"] is None else str(event["actor_id"]),
            "action": event["action"],
            "entity_type": event["entity_type"],
            "entity_id": event["entity_id"],
            "before": event["before"],
            "after": event["after"],
            "request_id": event["request_id"],
            "occurred_at": event["occurred_at"].isoformat(),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@on_before_commit
async def write_pending_events(session: AsyncSession) -> None:
    pending: list[_Pending] = session.info.pop("audit_pending", [])
    if not pending:
        return
    for group_id in sorted({p.group_id for p in pending}, key=str):
        # Serialise chain appends per group for the rest of this (short) transaction.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                              {"k": f"audit:{group_id}"})
        prev = await session.scalar(
            select(AuditEvent.hash).where(AuditEvent.group_id == group_id).order_by(AuditEvent.seq.desc()).limit(1)
        )
        prev_hash = prev or GENESIS
        for p in (p for p in pending if p.group_id == group_id):
            row = {**p.__dict__, "id": uuid.uuid4()}
            digest = compute_hash(prev_hash, row)
            session.add(AuditEvent(**row, prev_hash=prev_hash, hash=digest))
            prev_hash = digest
    await session.flush()


@dataclass
class ChainReport:
    group_id: uuid.UUID
    checked: int
    broken_at_seq: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at_seq is None


async def verify_chain(session: AsyncSession, group_id: uuid.UUID, batch: int = 5000) -> ChainReport:
    prev_hash, checked, last_seq = GENESIS, 0, 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.group_id == group_id, AuditEvent.seq > last_seq)
                .order_by(AuditEvent.seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            return ChainReport(group_id, checked, None, None)
        for ev in rows:
            if ev.prev_hash != prev_hash:
                return ChainReport(group_id, checked, ev.seq, "previous-hash link broken (row removed or reordered)")
            if compute_hash(prev_hash, ev.__dict__) != ev.hash:
                return ChainReport(group_id, checked, ev.seq, "content does not match its hash (row altered)")
            prev_hash, last_seq = ev.hash, ev.seq
            checked += 1
        session.expunge_all()
