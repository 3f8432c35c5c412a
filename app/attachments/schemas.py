"""Response models of attachments (the upload is a multipart form: see the router)."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from app.attachments.models import Attachment

ContentType = Literal["image/jpeg", "image/png", "image/heic", "application/pdf"]
SHA256_PATTERN = r"^[0-9a-fA-F]{64}$"


class AttachedTo(BaseModel):
    kind: str = Field(description="What the attachment is evidence for, e.g. `collection_log`")
    id: uuid.UUID


class AttachmentOut(BaseModel):
    id: uuid.UUID = Field(description="The client's own UUID, as uploaded")
    content_type: ContentType = Field(description="Detected from the bytes, whatever the file was called")
    size: int = Field(description="Bytes")
    sha256: str = Field(description="Lower-case hex; also the content's ETag")
    file_name: str | None = Field(description="As given, without directories or control characters")
    uploaded_by_id: uuid.UUID
    uploaded_at: datetime
    taken_at: datetime | None = Field(description="A photo's EXIF DateTimeOriginal")
    latitude: Decimal | None = Field(description="A photo's EXIF GPS position")
    longitude: Decimal | None
    attached_to: AttachedTo | None = Field(description="Null until a record (a collection log…) takes it; "
                                                       "unattached uploads are purged after 24 hours")

    @classmethod
    def of(cls, attachment: Attachment) -> "AttachmentOut":
        attached = None
        if attachment.attached_kind is not None and attachment.attached_id is not None:
            attached = AttachedTo(kind=attachment.attached_kind, id=attachment.attached_id)
        return cls(id=attachment.id, content_type=attachment.content_type, size=attachment.size,  # type: ignore[arg-type]
                   sha256=attachment.sha256, file_name=attachment.file_name, uploaded_by_id=attachment.uploaded_by_id,
                   uploaded_at=attachment.created_at, taken_at=attachment.taken_at, latitude=attachment.latitude,
                   longitude=attachment.longitude, attached_to=attached)
