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

The retry must be the same upload, not only the same id: the row keeps `client_body`, a digest of
the body it was created from (`body_digest`), and an upload of a stored reference with another
body is refused (409, the caller's conflict) rather than answered with a record the caller did not
describe (the phone would believe a 2.00 waiver was filed when 1.00 was). Rows stored before the
digest existed carry none and answer any retry of their reference, as they always did.

The phone matches a server record to its offline one by `client_ref` in the response, and later
references it (a log's attachment, a request's files) by the server id. Other designs weighed:
deriving the row id as uuid5(creator, client UUID) keeps one column but makes ids guessable
from public inputs and hides the reference; keeping client ids as primary keys and answering
404/409 on collision is the leak itself.

Use: give the model `ClientRef` and a `UniqueConstraint(<creator column>, "client_ref")`, and
create through `create_once` with the body's `body_digest` and the area's conflict.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import String, Uuid, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

M = TypeVar("M")


class ClientRef:
    """The client's own id for a record it created offline; unique per creator (declare the
    UniqueConstraint on the model, with its creator column first)."""

    client_ref: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # sha256 of the body the record was created from (`body_digest`): a retry must match it.
    client_body: Mapped[str | None] = mapped_column(String(64), nullable=True)


def body_digest(body: BaseModel) -> str:
    """The fingerprint of an upload: its canonical JSON (as the schema writes it, so "1" and "1.00"
    are one amount; without the reference itself), hashed."""
    data = body.model_dump(mode="json", exclude={"client_ref"})
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def same_upload(record: M, digest: str | None, conflict: Callable[[M], Exception] | None) -> M:
    """`record` when `digest` is the body it was created from (or either is unknown); otherwise
    raises `conflict(record)`: the same reference with another body is not a retry."""
    stored = getattr(record, "client_body", None)
    if digest is not None and stored is not None and stored != digest and conflict is not None:
        raise conflict(record)
    return record


async def find_own(session: AsyncSession, model: type[M], creator: Any, creator_id: uuid.UUID,
                   client_ref: uuid.UUID) -> M | None:
    """The caller's own record carrying this reference, or None. Never looks at others' rows."""
    return await session.scalar(
        select(model).where(creator == creator_id, model.client_ref == client_ref))  # type: ignore[attr-defined]


async def create_once(session: AsyncSession, model: type[M], *, creator: Any, creator_id: uuid.UUID,
                      client_ref: uuid.UUID | None, build: Callable[[], M], digest: str | None = None,
                      conflict: Callable[[M], Exception] | None = None) -> tuple[M, bool]:
    """(record, created): the caller's existing record for `client_ref`, or a new one from
    `build()` (flushed, with a server-assigned id, `client_ref` and the body's `digest` set). An
    existing record created from another body raises `conflict(record)` (`same_upload`)."""
    if client_ref is not None:
        existing = await find_own(session, model, creator, creator_id, client_ref)
        if existing is not None:
            return same_upload(existing, digest, conflict), False
    obj = build()
    obj.client_ref = client_ref  # type: ignore[attr-defined]
    obj.client_body = digest if client_ref is not None else None  # type: ignore[attr-defined]
    try:
        async with session.begin_nested():
            session.add(obj)
            await session.flush()
    except IntegrityError:
        # A concurrent upload of the same reference by the same creator won: return its row.
        existing = await find_own(session, model, creator, creator_id, client_ref) if client_ref else None
        if existing is None:
            raise
        return same_upload(existing, digest, conflict), False
    return obj, True
