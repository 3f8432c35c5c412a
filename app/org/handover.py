"""Handover of a leaving employee: everything they own moves to another user in one transaction.

Each business area registers what it owns with `register_handover_hook(name, hook, covers=...)`
(customers and contacts, open cases, tow tasks, investigations, contracts, requests, approval
steps...); `hand_over` runs every hook in the caller's transaction. The whole handover is one
audit event carrying the counts per hook (the lock is part of it, not a separate `user.locked`
event).

`covers` names the columns a hook moves (columns, or a callable answering them when they are only
known once every area has registered, like the request kinds). A column that names a user and is
deliberately left with the leaver (history: who created, approved, recorded) says so on its model
in `__handover_kept__ = {"column": "why"}`; tests/org/test_handover_everything.py fails for any
user column that is neither covered nor kept, so a new area cannot forget its handover.
"""

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import revoke_all_for_user
from app.core import audit
from app.core.db import utcnow
from app.core.principal import Principal
from app.core.scoping import get_readable
from app.org import repository as repo
from app.org.errors import (
    HandoverReceiverInactive,
    HandoverSameUser,
    UserLockSelf,
    UserNotFound,
)
from app.org.models import User
from app.org.service import ensure_may_manage_user


@dataclass(frozen=True)
class HandoverContext:
    principal: Principal
    from_user: User
    to_user: User


# A hook moves what its area owns from `from_user` to `to_user` and returns how many moved.
HandoverHook = Callable[[AsyncSession, HandoverContext], Awaitable[int]]
_HOOKS: dict[str, HandoverHook] = {}
_COVERS: dict[str, Callable[[], Iterable[Any]]] = {}


def register_handover_hook(name: str, hook: HandoverHook,
                           covers: Iterable[Any] | Callable[[], Iterable[Any]] = ()) -> HandoverHook:
    """`covers`: what the hook moves, each a column or (column, condition) where the condition
    says which rows are still held (an open case, a request not approved); rows outside it are
    history and stay."""
    _HOOKS[name] = hook
    _COVERS[name] = covers if callable(covers) else (lambda listed=tuple(covers): listed)
    return hook


@dataclass(frozen=True)
class Holding:
    hook: str
    column: Any  # the Column
    held: Any | None  # the SQL condition of the rows still held, None: every row

    @property
    def name(self) -> str:
        return f"{self.column.table.name}.{self.column.name}"


def holdings() -> list[Holding]:
    """What every hook moves: one entry per hook and column."""
    found = []
    for hook, covers in _COVERS.items():
        for entry in covers():
            attribute, held = entry if isinstance(entry, tuple) else (entry, None)
            found.append(Holding(hook, attribute.expression, held))  # a mapped attribute's column
    return found


def covered_columns() -> dict[str, set[str]]:
    """"table.column" -> the hooks that move it."""
    found: dict[str, set[str]] = {}
    for holding in holdings():
        found.setdefault(holding.name, set()).add(holding.hook)
    return found


@dataclass
class HandoverResult:
    moved: dict[str, int]
    locked: bool


async def hand_over(session: AsyncSession, principal: Principal, from_user_id: uuid.UUID, to_user_id: uuid.UUID,
                    *, lock: bool, reason: str) -> HandoverResult:
    """Rules: both users in the caller's scope; the caller has authority over the leaver; the
    receiver is active; everything moves (every registered hook) and, if asked, the leaver is
    locked and their sessions revoked, all in this transaction and one audit event."""
    if from_user_id == to_user_id:
        raise HandoverSameUser("Hand over to somebody else.",
                               errors=[{"pointer": "/body/to_user_id", "message": "same as from_user_id"}])
    from_user = await get_readable(session, principal, User, from_user_id, code=UserNotFound.code)
    to_user = await get_readable(session, principal, User, to_user_id, code=UserNotFound.code)
    await ensure_may_manage_user(session, principal, from_user)
    if not to_user.is_active or to_user.locked_at is not None:
        raise HandoverReceiverInactive("The receiving user is inactive or locked.")
    if lock and from_user.id == principal.user_id:
        raise UserLockSelf("You cannot lock yourself.")
    # Lock the leaver's row first: a second handover of the same user waits, then moves nothing.
    await repo.lock_user_row(session, from_user.id)
    ctx = HandoverContext(principal, from_user, to_user)
    moved = {name: await hook(session, ctx) for name, hook in _HOOKS.items()}
    locked = False
    if lock:
        if from_user.locked_at is None:
            from_user.locked_at, from_user.lock_reason = utcnow(), reason[:200]
        await revoke_all_for_user(session, from_user.id)
        locked = True
    await session.flush()
    audit.record(session, principal, "user.handed_over", "user", from_user.id, company_id=from_user.company_id,
                 after={"to_user_id": to_user.id, "moved": moved, "locked": locked, "reason": reason})
    return HandoverResult(moved, locked)
