"""Audit trail: every change records an event in the same transaction, chained per group with a
keyed hash and anchored by checkpoints.

Services call `record(session, principal, ...)`; events are queued on the session and written by
a before-commit hook, so the per-group chain lock is held only for the moment of the commit.
Each row stores the previous row's hash and its own HMAC-SHA256 (key AUDIT_HMAC_KEY, never in
the database), so whoever can rewrite rows but lacks the key cannot recompute a valid chain.
Deleting the newest rows leaves a valid but shorter chain; checkpoints of each group's head
(written by the `audit-checkpoint` job to an append-only table and to the log, and by
`verify-audit --checkpoint FILE` to a file) expose that: every checkpoint must stay on the chain.
The app's database role may INSERT and SELECT these tables, never UPDATE or DELETE them.
"""

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, UUID, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core.config import get_settings
from app.core.db import Base, on_before_commit, pending_key, utcnow
from app.core.jobs import periodic
from app.core.principal import Principal
from app.core.requestctx import request_id_var
from app.core.scoping import ScopeSpec, scoped
from app.core.sql import advisory_xact_lock

log = logging.getLogger("recourse.audit")
PENDING = pending_key("audit_pending")  # the events a transaction will write just before its COMMIT

GENESIS = "0" * 64
CHECKPOINT_EVERY_SECONDS = 300


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


class AuditCheckpoint(Base):
    """A group's chain head (seq, hash) as it was; append-only like the events. Every checkpoint
    must still be on the chain, so removing the newest events shows."""

    __tablename__ = "audit_checkpoint"
    __table_args__ = (Index("ix_audit_checkpoint_group_id_seq", "group_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    group_id: Mapped[uuid.UUID] = mapped_column(UUID)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 server_default=func.now())


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
    """An event waiting for the commit (built by keyword; the chain fields are added then)."""

    group_id: uuid.UUID
    action: str
    entity_type: str
    entity_id: str | None
    occurred_at: datetime
    company_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    request_id: str | None
    before: Any
    after: Any


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
    session.info.setdefault(PENDING, []).append(
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


def canonical(prev_hash: str, event: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: its content and the previous hash, as sorted JSON."""
    return json.dumps(
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
    ).encode()


def compute_hash(prev_hash: str, event: Mapping[str, Any], key: bytes | None = None) -> str:
    """HMAC-SHA256 of the event under AUDIT_HMAC_KEY (or the given key)."""
    return hmac.new(key or get_settings().audit_key(), canonical(prev_hash, event), hashlib.sha256).hexdigest()


@on_before_commit
async def write_pending_events(session: AsyncSession) -> None:
    pending: list[_Pending] = session.info.pop(PENDING, [])
    if not pending:
        return
    key = get_settings().audit_key()
    for group_id in sorted({p.group_id for p in pending}, key=str):
        # Serialise chain appends per group for the rest of this (short) transaction.
        await advisory_xact_lock(session, f"audit:{group_id}")
        prev = await session.scalar(
            select(AuditEvent.hash).where(AuditEvent.group_id == group_id).order_by(AuditEvent.seq.desc()).limit(1)
        )
        prev_hash = prev or GENESIS
        for p in (p for p in pending if p.group_id == group_id):
            row = {**p.__dict__, "id": uuid.uuid4()}
            digest = compute_hash(prev_hash, row, key)
            session.add(AuditEvent(**row, prev_hash=prev_hash, hash=digest))
            prev_hash = digest
    await session.flush()


# Checkpoints by group: seq -> the hashes recorded for it (more than one means the sources disagree).
Checkpoints = dict[uuid.UUID, dict[int, set[str]]]


@dataclass
class ChainReport:
    group_id: uuid.UUID
    checked: int
    broken_at_seq: int | None
    reason: str | None
    head: tuple[int, str] | None = None  # the last verified (seq, hash)
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_at_seq is None


_EVENT_COLUMNS = list(AuditEvent.__table__.columns)


async def verify_chain(
    session: AsyncSession,
    group_id: uuid.UUID,
    *,
    checkpoints: Mapping[int, Iterable[str]] | None = None,
    start: tuple[int, str] | None = None,
    until_seq: int | None = None,
    batch: int = 5000,
) -> ChainReport:
    """Recompute the group's chain (from `start`, a trusted (seq, hash), or from the beginning):
    every link, every HMAC, and every checkpoint must still be on it."""
    key = get_settings().audit_key()
    expected = {seq: set(hashes) for seq, hashes in (checkpoints or {}).items()
                if start is None or seq > start[0]}
    if start is not None:
        found = await session.scalar(select(AuditEvent.hash).where(AuditEvent.group_id == group_id,
                                                                   AuditEvent.seq == start[0]))
        if found is None or not hmac.compare_digest(found, start[1]):
            return ChainReport(group_id, 0, start[0], "checkpoint no longer on the chain (row removed or rewritten)")
    prev_hash, last_seq = start[1] if start else GENESIS, start[0] if start else 0
    checked, reached = 0, 0
    head = start
    while True:
        stmt = select(*_EVENT_COLUMNS).where(AuditEvent.group_id == group_id, AuditEvent.seq > last_seq)
        if until_seq is not None:
            stmt = stmt.where(AuditEvent.seq <= until_seq)
        rows = (await session.execute(stmt.order_by(AuditEvent.seq).limit(batch))).mappings().all()
        if not rows:
            break
        for ev in rows:
            if ev["prev_hash"] != prev_hash:
                return ChainReport(group_id, checked, ev["seq"], "previous-hash link broken (row removed or reordered)",
                                   head, reached)
            if not hmac.compare_digest(compute_hash(prev_hash, ev, key), ev["hash"]):
                return ChainReport(group_id, checked, ev["seq"], "content does not match its HMAC (row altered)",
                                   head, reached)
            recorded = expected.pop(ev["seq"], None)
            if recorded is not None:
                if recorded != {ev["hash"]}:
                    return ChainReport(group_id, checked, ev["seq"], "row differs from its checkpoint (rewritten)",
                                       head, reached)
                reached += 1
            prev_hash, last_seq = ev["hash"], ev["seq"]
            head = (last_seq, prev_hash)
            checked += 1
    if expected:
        missing = min(expected)
        return ChainReport(group_id, checked, missing,
                           f"chain no longer reaches checkpoint seq {missing} (newest events removed)", head, reached)
    return ChainReport(group_id, checked, None, None, head, reached)


async def chain_heads(session: AsyncSession) -> dict[uuid.UUID, tuple[int, str]]:
    """Every group's newest (seq, hash), one index probe per group (a loose index scan)."""
    rows = await session.execute(text("""
        WITH RECURSIVE g(group_id) AS (
            (SELECT group_id FROM audit_event ORDER BY group_id LIMIT 1)
            UNION ALL
            SELECT (SELECT e.group_id FROM audit_event e WHERE e.group_id > g.group_id
                    ORDER BY e.group_id LIMIT 1)
            FROM g WHERE g.group_id IS NOT NULL
        )
        SELECT g.group_id, h.seq, h.hash FROM g
        CROSS JOIN LATERAL (SELECT seq, hash FROM audit_event e WHERE e.group_id = g.group_id
                            ORDER BY e.seq DESC LIMIT 1) h
    """))
    return {gid: (seq, digest) for gid, seq, digest in rows}


async def latest_checkpoints(session: AsyncSession) -> dict[uuid.UUID, tuple[int, str]]:
    """Each group's newest checkpoint in the table."""
    rows = await session.execute(
        select(AuditCheckpoint.group_id, AuditCheckpoint.seq, AuditCheckpoint.hash)
        .ext(distinct_on(AuditCheckpoint.group_id))
        .order_by(AuditCheckpoint.group_id, AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc()))
    return {gid: (seq, digest) for gid, seq, digest in rows}


async def stored_checkpoints(session: AsyncSession) -> Checkpoints:
    # The newest per group is enough: its hash covers every earlier row through the chain.
    return {gid: {seq: {digest}} for gid, (seq, digest) in (await latest_checkpoints(session)).items()}


def merge_checkpoints(*sources: Checkpoints) -> Checkpoints:
    merged: Checkpoints = {}
    for source in sources:
        for gid, by_seq in source.items():
            for seq, hashes in by_seq.items():
                merged.setdefault(gid, {}).setdefault(seq, set()).update(hashes)
    return merged


async def verify_all(session: AsyncSession, external: Checkpoints | None = None) -> list[ChainReport]:
    """Verify every group that has events or checkpoints (in the table or `external`)."""
    # Checkpoints first: anything committed after this read is newer than each of them.
    checkpoints = merge_checkpoints(await stored_checkpoints(session), external or {})
    groups = set(checkpoints) | set(await chain_heads(session))
    return [await verify_chain(session, gid, checkpoints=checkpoints.get(gid, {}))
            for gid in sorted(groups, key=str)]


def read_checkpoint_file(path: Path) -> Checkpoints:
    """JSON lines {"group_id", "seq", "hash", ...}; a missing file holds none."""
    result: Checkpoints = {}
    if not path.exists():
        return result
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            gid, seq, digest = uuid.UUID(item["group_id"]), int(item["seq"]), str(item["hash"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a checkpoint line ({exc})") from None
        result.setdefault(gid, {}).setdefault(seq, set()).add(digest)
    return result


def append_checkpoint_file(path: Path, reports: Iterable[ChainReport], known: Checkpoints) -> int:
    """Append the verified head of every intact group not already recorded; returns how many."""
    lines = []
    for r in reports:
        if r.ok and r.head is not None and r.head[0] not in known.get(r.group_id, {}):
            lines.append(json.dumps({"group_id": str(r.group_id), "seq": r.head[0], "hash": r.head[1],
                                     "at": utcnow().isoformat()}) + "\n")
    if lines:
        with path.open("a") as f:
            f.write("".join(lines))
    return len(lines)


@dataclass
class _CheckpointSummary:
    written: int = 0
    unchanged: int = 0
    broken: list[str] = field(default_factory=list)


@periodic("audit-checkpoint", every_seconds=CHECKPOINT_EVERY_SECONDS)
async def write_checkpoints(session: AsyncSession) -> dict[str, Any]:
    """Anchor each group's head: verify the events since its last checkpoint, then record the new
    head in audit_checkpoint and in the log (which lives outside the database)."""
    summary = _CheckpointSummary()
    heads = await chain_heads(session)
    last = await latest_checkpoints(session)
    for gid in sorted(set(last) - set(heads), key=str):
        summary.broken.append(str(gid))
        log.error("audit chain lost every event after a checkpoint", extra={"group_id": str(gid),
                                                                              "checkpoint_seq": last[gid][0]})
    for gid, (seq, _) in sorted(heads.items(), key=lambda item: str(item[0])):
        previous = last.get(gid)
        if previous is not None and previous[0] == seq:
            summary.unchanged += 1
            continue
        report = await verify_chain(session, gid, start=previous, until_seq=seq)
        if not report.ok or report.head is None:
            # Never anchor a tampered head; the verifier reports the group until someone looks.
            summary.broken.append(str(gid))
            log.error("audit chain broken; not checkpointed", extra={
                "group_id": str(gid), "broken_at_seq": report.broken_at_seq, "reason": report.reason})
            continue
        head_seq, head_hash = report.head
        session.add(AuditCheckpoint(group_id=gid, seq=head_seq, hash=head_hash))
        log.info(f"audit checkpoint group={gid} seq={head_seq} hash={head_hash}",
                 extra={"group_id": str(gid), "seq": head_seq, "hash": head_hash})
        summary.written += 1
    await session.flush()
    return {"written": summary.written, "unchanged": summary.unchanged, "broken": summary.broken}
