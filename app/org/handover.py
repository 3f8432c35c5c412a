"""Handover of a leaving employee: everything they own moves to another user in one transaction.

Each business area registers what it owns with `register_handover_hook(name, hook)` (customers
and contacts, pending approvals, later open cases); `hand_over` runs every hook in the caller's
transaction. The whole handover is one audit event carrying the counts per hook (the lock is part
of it, not a separate `user.locked` event).
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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


def register_handover_hook(name: str, hook: HandoverHook) -> HandoverHook:
    _HOOKS[name] = hook
    return hook


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
