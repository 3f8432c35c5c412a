"""`GET /sync`: what changed for the caller since their cursor, as upserts and tombstones.

The change log (`sync_change`, written by triggers: app/field/models.py) says which records changed
and for whom they were when written; whether the phone gets an upsert or a tombstone is decided
here, from the record's state now ("is it still mine?"), so duplicates and the order of changes do
not matter. A sync reads at one snapshot (its cursor's), and also takes the records changed by the
transactions that snapshot saw running, for whoever receives them now: such a transaction chose
its receivers before a reassignment it could not see (tests/field/test_sync_audience.py).

The cursor is (snapshot s, sequence q): the phone holds every change visible in s with a sequence
number up to q. A sync first cuts the next snapshot (before reading anything, so everything read
afterwards is at least that new), then reads the changes past q and those of transactions s could
not see. A transaction that started before a cursor and commits after it has a sequence number
older than q but is invisible in s: it still reaches the phone (tests/field/test_sync.py proves it
with two connections). Pages are bounded (`sync_page_size`); a page cut in the middle hands out
its own last sequence number with the new snapshot.

No cursor: a full snapshot, paged kind by kind in id order; its last page hands out the cursor of
its first, so changes made while it was paged arrive with the next sync. Tombstones are kept
`sync_retention_days`; an older cursor answers 410 `sync.cursor_expired`."""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals.models import ApprovalInstance
from app.collection.models import CollectionCase, CollectionLog
from app.core.config import get_settings
from app.core.db import one_snapshot, utcnow
from app.core.jobs import periodic
from app.core.pagination import decode_cursor, encode_cursor
from app.core.principal import Principal
from app.customers.models import Customer
from app.field import repository as repo
from app.field import views
from app.field.errors import SyncCursorExpired, SyncCursorInvalid
from app.field.requests import FIELD_REQUESTS
from app.field.schemas import Changes, FieldApproval, SyncChanges, SyncOut
from app.notifications.models import Notification
from app.notifications.router import NotificationOut
from app.towing.models import TowTask
from app.towing.schemas import TowTaskOut

CURSOR_SORT = "field-sync"


@dataclass(frozen=True)
class Position:
    """A cursor: the snapshot and sequence number it was cut at, when, and within a full snapshot
    the kind (index in KINDS) and the key it stopped after (kind -1: the snapshot is complete)."""

    user_id: uuid.UUID
    snapshot: str
    seq: int
    issued_at: datetime
    kind: int = -1
    after: str = ""  # the kind's key of the last record sent, as `Kind.key_text` writes it


def encode(p: Position) -> str:
    return encode_cursor(CURSOR_SORT, [p.user_id, p.snapshot, p.seq, p.issued_at, p.kind,
                                       p.after])


def decode(cursor: str, user_id: uuid.UUID) -> Position:
    values = decode_cursor(cursor, CURSOR_SORT, arity=6)
    owner, snapshot, seq, issued_at, kind, after = values
    if owner != user_id or not (isinstance(snapshot, str) and isinstance(seq, int) and isinstance(kind, int)
                                and isinstance(issued_at, datetime) and isinstance(after, str)):
        raise _invalid()
    if not -1 <= kind < len(KINDS):
        raise _invalid()
    return Position(owner, snapshot, seq, issued_at, kind, after)


def _invalid() -> SyncCursorInvalid:
    return SyncCursorInvalid("The cursor is not valid for this sync.",
                             errors=[{"pointer": "/query/cursor", "message": "invalid cursor"}])


# --- the kinds of records the phone keeps -----------------------------------------------------------

@dataclass(frozen=True)
class Fetch:
    """Which of my records to read: those among `ids` (a changes page), or the next `limit` after
    `after` in the kind's key order (a snapshot page); a snapshot's history kinds go back to `since`."""

    ids: Sequence[uuid.UUID] | None
    after: tuple[Any, ...] | None
    limit: int
    since: datetime | None


Fetcher = Callable[[AsyncSession, Principal, Fetch], Awaitable[list[Any]]]


def _narrow(stmt: Any, keys: Any, f: Fetch) -> Any:
    return repo.restricted(stmt, keys if isinstance(keys, tuple) else (keys,), ids=f.ids, after=f.after,
                           limit=f.limit)


async def _cases(session: AsyncSession, principal: Principal, f: Fetch) -> list[Any]:
    rows = (await session.execute(_narrow(repo.my_cases(principal), CollectionCase.id, f))).all()
    return await views.cases_out(session, principal, rows, contacts=False)


async def _customers(session: AsyncSession, principal: Principal, f: Fetch) -> list[Any]:
    customers = list(await session.scalars(_narrow(repo.my_customers(principal), Customer.id, f)))
    return await views.customers_out(session, customers)


async def _logs(session: AsyncSession, principal: Principal, f: Fetch) -> list[Any]:
    since = None if f.ids is not None else f.since
    keys = (CollectionLog.occurred_at, CollectionLog.id)  # along ix_collection_log_author_id_occurred_at
    logs = list(await session.scalars(_narrow(repo.my_logs(principal, since), keys, f)))
    return await views.logs_out(session, logs)


async def _requests(session: AsyncSession, principal: Principal, f: Fetch) -> list[Any]:
    stmt = repo.my_requests(principal, None if f.ids is not None else f.since)
    rows = (await session.execute(_narrow(stmt, stmt.selected_columns.id, f))).all()
    return [views.request_out(r) for r in rows]


async def _tow_tasks(session: AsyncSession, principal: Principal, f: Fetch) -> list[Any]:
    tasks = await session.scalars(_narrow(repo.my_tow_tasks(principal), TowTask.id, f))
    return [TowTaskOut.model_validate(t) for t in tasks]


async def _approvals(session: AsyncSession, principal: Principal, f: Fetch) -> list[Any]:
    instances = await session.scalars(_narrow(repo.my_approvals(principal), ApprovalInstance.id, f))
    return [FieldApproval.model_validate(i, from_attributes=True) for i in instances]


async def _notifications(session: AsyncSession, principal: Principal, f: Fetch) -> list[Any]:
    since = None if f.ids is not None else f.since
    keys = (Notification.created_at, Notification.id)  # along ix_notification_user_id_created_at
    items = await session.scalars(_narrow(repo.my_notifications(principal, since), keys, f))
    return [NotificationOut.model_validate(n) for n in items]


@dataclass(frozen=True)
class Kind:
    name: str  # the key in SyncChanges
    changes: Callable[[], frozenset[str]]  # the change kinds its triggers write
    fetch: Fetcher
    # A snapshot pages a kind along an index: by id, or (for the long histories) by (time, id).
    timed: str | None = None  # the item's time attribute

    def key_text(self, item: Any) -> str:
        return f"{getattr(item, self.timed).isoformat()}|{item.id}" if self.timed else str(item.id)

    def key(self, text: str) -> tuple[Any, ...] | None:
        if not text:
            return None
        try:
            if self.timed:
                at, _, ident = text.partition("|")
                return datetime.fromisoformat(at), uuid.UUID(ident)
            return (uuid.UUID(text),)
        except ValueError as exc:
            raise _invalid() from exc


def _written(*kinds: str) -> Callable[[], frozenset[str]]:
    return lambda: frozenset(kinds)


KINDS: tuple[Kind, ...] = (
    Kind("cases", _written("case"), _cases),
    Kind("customers", _written("customer"), _customers),
    Kind("logs", _written("log"), _logs, timed="occurred_at"),
    # Every field request kind's table (lock and unlock join when registered).
    Kind("requests", lambda: frozenset(e.table for e in FIELD_REQUESTS.values()), _requests),
    Kind("tow_tasks", _written("tow_task"), _tow_tasks),
    Kind("approvals", _written("approval"), _approvals),
    Kind("notifications", _written("notification"), _notifications, timed="created_at"),
)


def _put(changes: SyncChanges, kind: Kind, upserted: list[Any], deleted: list[uuid.UUID]) -> None:
    target: Changes[Any] = getattr(changes, kind.name)
    target.upserted.extend(upserted)
    target.deleted.extend(deleted)


# --- a sync ----------------------------------------------------------------------------------------

async def sync(session: AsyncSession, principal: Principal, cursor: str | None) -> SyncOut:
    # Everything at the cursor's snapshot: a record's reassignment is sent with the record as it
    # stood then, and the changes the snapshot could not see come with the next sync
    # (repository._PENDING says why that matters).
    async with one_snapshot(session):
        return await _sync(session, principal, cursor)


async def _sync(session: AsyncSession, principal: Principal, cursor: str | None) -> SyncOut:
    settings = get_settings()
    snapshot, seq = await repo.mark(session, principal.user_id)  # first: see the module's docstring
    now = utcnow()
    if cursor is None:
        return await _snapshot_page(session, principal, Position(principal.user_id, snapshot, seq, now, kind=0),
                                    settings.sync_page_size, settings.sync_retention_days)
    position = decode(cursor, principal.user_id)
    if position.issued_at < now - timedelta(days=settings.sync_retention_days):
        raise SyncCursorExpired("The cursor is older than the changes kept: sync again without a cursor.")
    if position.kind >= 0:
        return await _snapshot_page(session, principal, position, settings.sync_page_size,
                                    settings.sync_retention_days)
    return await _changes_page(session, principal, position, Position(principal.user_id, snapshot, seq, now),
                               settings.sync_page_size)


async def _snapshot_page(session: AsyncSession, principal: Principal, position: Position, limit: int,
                         retention_days: int) -> SyncOut:
    changes, remaining = SyncChanges(), limit
    since = position.issued_at - timedelta(days=retention_days)
    index, after = position.kind, position.after
    while index < len(KINDS):
        kind = KINDS[index]
        items = await kind.fetch(session, principal, Fetch(None, kind.key(after), remaining + 1, since))
        if len(items) > remaining:
            items = items[:remaining]
            _put(changes, kind, items, [])
            following = replace(position, kind=index, after=kind.key_text(items[-1]) if items else after)
            return SyncOut(changes=changes, cursor=encode(following), has_more=True, mode="snapshot")
        _put(changes, kind, items, [])
        remaining -= len(items)
        index, after = index + 1, ""
    return SyncOut(changes=changes, cursor=encode(replace(position, kind=-1, after="")), has_more=False,
                   mode="snapshot")


async def _changes_page(session: AsyncSession, principal: Principal, position: Position, mark: Position,
                        limit: int) -> SyncOut:
    found_rows = await repo.pending_changes(session, principal.user_id, position.snapshot, position.seq, limit + 1)
    rows = [r for r in found_rows if r.audience]
    has_more = len(rows) > limit
    rows = rows[:limit]
    # A row of the user's: the record may have left them (a tombstone when it is not theirs now). A
    # running transaction's record that is theirs now: an upsert, or nothing if it left them since.
    changed: dict[str, dict[uuid.UUID, bool]] = {}
    for row in [*rows, *(r for r in found_rows if not r.audience)]:
        ids = changed.setdefault(row.kind, {})
        ids[row.entity_id] = ids.get(row.entity_id, False) or row.audience
    changes = SyncChanges()
    for kind in KINDS:
        ids = {i: told for name in sorted(kind.changes()) for i, told in changed.get(name, {}).items()}
        if ids:
            found = await kind.fetch(session, principal, Fetch(list(ids), None, len(ids), None))
            present = {item.id for item in found}
            _put(changes, kind, found, [i for i, told in ids.items() if told and i not in present])
    # A page cut short hands out its own last sequence number: the rest are past it.
    seq = rows[-1].seq if has_more else max([mark.seq, *(r.seq for r in rows)])
    return SyncOut(changes=changes, cursor=encode(replace(mark, seq=seq)), has_more=has_more, mode="changes")


@periodic("field-sync-purge", every_seconds=3600)
async def purge_changes(session: AsyncSession) -> dict[str, Any]:
    """Drop the change log past the retention period (a day's margin beyond what cursors may ask)."""
    days = get_settings().sync_retention_days + 1
    return {"deleted": await repo.purge_changes(session, utcnow() - timedelta(days=days))}

