"""Records created with a client-chosen id (the phone, offline), without revealing other rows.

The contract (docs/api.md): the phone may create a record with its own UUID while offline, and a
second upload of the same UUID returns the existing record. The rule it must also keep: an id
that belongs to a row the caller may not read must be indistinguishable from a free id.

Why a per-creator reference instead of the client's UUID as the primary key. Primary keys are
global. If the client's UUID became the row id, an upload naming an id that another tenant (or
another salesperson) already used could only answer differently from a free id: a 409 (what
expenses used to say, `expense.id_taken`), a 404, or a 201 whose id differs from the one sent;
each tells the caller that the id exists elsewhere, and a timing difference would remain even if
the body did not. So the server always assigns the row id, and the client's UUID is stored as
`client_ref`, unique per (creator, client_ref):

- the creator's retry finds their own row by (creator, client_ref) and gets it back (200);
- anyone else's upload of the same UUID finds nothing of theirs and creates their own record
  (201), exactly as for a UUID nobody used: no query ever looks outside the caller's own rows;
- two concurrent uploads of the same reference by one creator race on the unique constraint;
  the loser's insert is rolled back to a savepoint and it returns the winner's row.

The phone matches a server record to its offline one by `client_ref` in the response, and later
references it (a log's attachment, a request's files) by the server id. Other designs weighed:
deriving the row id as uuid5(creator, client UUID) keeps one column but makes ids guessable
from public inputs and hides the reference; keeping client ids as primary keys and answering
404/409 on collision is the leak itself.

Use: give the model `ClientRef` and a `UniqueConstraint(<creator column>, "client_ref")`, and
create through `create_once`.
"""

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Uuid, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

M = TypeVar("M")


class ClientRef:
    """The client's own id for a record it created offline; unique per creator (declare the
    UniqueConstraint on the model, with its creator column first)."""

    client_ref: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


async def find_own(session: AsyncSession, model: type[M], creator: Any, creator_id: uuid.UUID,
                   client_ref: uuid.UUID) -> M | None:
    """The caller's own record carrying this reference, or None. Never looks at others' rows."""
    return await session.scalar(
        select(model).where(creator == creator_id, model.client_ref == client_ref))  # type: ignore[attr-defined]


async def create_once(session: AsyncSession, model: type[M], *, creator: Any, creator_id: uuid.UUID,
                      client_ref: uuid.UUID | None, build: Callable[[], M]) -> tuple[M, bool]:
    """(record, created): the caller's existing record for `client_ref`, or a new one from
    `build()` (flushed, with a server-assigned id and `client_ref` set)."""
    if client_ref is not None:
        existing = await find_own(session, model, creator, creator_id, client_ref)
        if existing is not None:
            return existing, False
    obj = build()
    obj.client_ref = client_ref  # type: ignore[attr-defined]
    try:
        async with session.begin_nested():
            session.add(obj)
            await session.flush()
    except IntegrityError:
        # A concurrent upload of the same reference by the same creator won: return its row.
        existing = await find_own(session, model, creator, creator_id, client_ref) if client_ref else None
        if existing is None:
            raise
        return existing, False
    return obj, True
