"""The field sync's change log, written by triggers (migrations `field_sync`, `sync_audience`) so that
no write path can forget it: per changed record, a row for the record itself (user_id NULL) and one
per user receiving it when it was written; a change of a record's receivers also writes a row for
the previous one. Who receives a record is one SQL definition (`sync_audience`), which the sync also
applies when it reads the record rows of transactions its cursor saw running.

`xid` is the writing transaction's id (`pg_current_xact_id()`, the 64-bit xid8, stored as bigint):
a sync cursor carries the snapshot it was cut at, and the next sync returns the rows that snapshot
could not see (transactions still running then commit later with older sequence numbers) plus the
rows past the cursor's sequence number. See app/field/sync.py."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Uuid

from app.core.db import Base


class SyncChange(Base):
    """A record (`kind`, `entity_id`) changed in a way `user_id`'s phone may need to know: it is
    theirs now, or was theirs before the write (no user: the record's own row, see the module).
    Whether the phone gets an upsert or a tombstone is decided when it syncs, from the record's
    state then; so the row says nothing else."""

    __tablename__ = "sync_change"
    __handover_kept__ = {"user_id": "the leaver's own phone feed (the sync triggers give the receiver "
                                    "what moved)"}
    __table_args__ = (
        Index("ix_sync_change_user_id_seq", "user_id", "seq"),
        Index("ix_sync_change_user_id_xid", "user_id", "xid"),
        Index("ix_sync_change_changed_at", "changed_at"),
        # The record rows of a transaction a cursor saw running (app/field/repository.py).
        Index("ix_sync_change_xid_record", "xid", postgresql_where=text("user_id IS NULL")),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # No foreign key: a trigger writes this on hot paths, and a user is never deleted (only locked).
    # NULL: the record's own row (it changed), read by whoever receives it when a sync reads it.
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    xid: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
