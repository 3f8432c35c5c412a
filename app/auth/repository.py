"""The queries of sign-in. Auth owns login over org's users, so it reads their rows here."""

import uuid
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import RefreshToken
from app.core import hotsql
from app.org.models import Company, Department, Group, User


async def login_candidate(session: AsyncSession, username: str) -> Any:
    """(id, password_hash, is_active, locked_at) of the user signing in, or None."""
    return (await session.execute(
        select(User.id, User.password_hash, User.is_active, User.locked_at).where(User.username == username)
    )).one_or_none()


async def user_to_unlock(session: AsyncSession, username: str, group_code: str | None) -> User | None:
    """The user by username (within the group coded `group_code` when given), row-locked."""
    stmt = select(User).where(User.username == username).with_for_update()
    if group_code is not None:
        stmt = stmt.join(Group, Group.id == User.group_id).where(Group.code == group_code)
    return await session.scalar(stmt)


async def refresh_token_for_update(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    return await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update())


async def refresh_token_of(session: AsyncSession, token_hash: str, user_id: uuid.UUID) -> RefreshToken | None:
    return await session.scalar(select(RefreshToken).where(
        RefreshToken.token_hash == token_hash, RefreshToken.user_id == user_id))


# Built once (`/me` runs it on every call): the user's names with their group, company and
# department, as columns, in one round trip.
_PLACEMENT = (
    select(User.id, User.username, User.display_name,
           Group.id.label("group_id"), Group.name.label("group_name"), Group.code.label("group_code"),
           Company.id.label("company_id"), Company.name.label("company_name"), Company.code.label("company_code"),
           Department.id.label("department_id"), Department.name.label("department_name"))
    .select_from(User)
    .join(Company, Company.id == User.company_id)
    .join(Group, Group.id == User.group_id)
    .outerjoin(Department, Department.id == User.department_id)
    .where(User.id == bindparam("user_id"))
)

_PLACEMENT_SQL = hotsql.Prepared(_PLACEMENT)


async def user_placement(session: AsyncSession, user_id: uuid.UUID) -> Any:
    """The signed-in user's id, username, display name, group, company and department (None
    when they have none) as one record (for `/me`, on the hot path: core/hotsql.py)."""
    row = await _PLACEMENT_SQL.fetchrow(session, user_id=user_id)
    assert row is not None  # the caller's principal was resolved from this very user in this request
    return row
