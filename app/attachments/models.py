"""Attachments: files uploaded from the field (photos of a visit, a signed letter), stored by content
hash outside the database and attached later to the record they are evidence for."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import BigInteger, DateTime, Numeric, String, Uuid

from app.core.db import Base, Versioned, utcnow
from app.core.scoping import ScopeSpec, scoped
from app.core.sql import check_in

CONTENT_TYPES = ("image/jpeg", "image/png", "image/heic", "application/pdf")
MAX_FILE_NAME = 255


# Read by the uploader, and by whoever may read what it is attached to: the scope lets through the
# uploader's rows and every attached row of the tenant; the service then asks the attached kind's reader
# (app/attachments/service.py `register_reader`) whether the caller may read that target.
@scoped(lambda m: ScopeSpec(group=m.group_id, owners=(m.uploaded_by_id,),
                            extra_read=lambda _principal: m.attached_kind.is_not(None),
                            notes="read: uploader, or a reader of the attached record"))
class Attachment(Versioned, Base):
    """The client's UUID is the id: a retry of the same upload returns this row. The version (the
    metadata's ETag) changes once, when the attachment is attached."""

    __tablename__ = "attachment"
    __handover_kept__ = {"uploaded_by_id": "history: who uploaded the file"}
    __table_args__ = (
        check_in("content_type", CONTENT_TYPES, name="content_type_valid"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint("(attached_kind IS NULL) = (attached_id IS NULL) AND (attached_kind IS NULL) = "
                        "(attached_at IS NULL)", name="attached_together"),
        # The purge: unattached uploads by age.
        Index("ix_attachment_unattached_created_at", "created_at", postgresql_where=text("attached_kind IS NULL")),
        # Whether other rows still use the bytes (the purge), and a target's attachments.
        Index("ix_attachment_sha256", "sha256"),
        Index("ix_attachment_attached", "attached_kind", "attached_id"),
        Index("ix_attachment_uploaded_by_id", "uploaded_by_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("company.id"))  # the uploader's
    uploaded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(40))  # detected from the bytes, never the name
    file_name: Mapped[str | None] = mapped_column(String(MAX_FILE_NAME))
    # From a photo's EXIF: when (DateTimeOriginal) and where (GPS) it was taken.
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    attached_kind: Mapped[str | None] = mapped_column(String(40))
    attached_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    attached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
