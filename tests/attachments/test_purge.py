"""The attachments-purge job: unattached uploads older than 24 hours go, with their bytes when nothing
else uses them; attached ones and recent ones stay."""

import io
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from app.attachments import service
from app.attachments.demo import sample_photo
from app.attachments.models import Attachment
from app.core.db import utcnow
from app.core.jobs import JOBS

KIND = "purge_test_target"
service.register_reader(KIND, lambda *_: _never())


async def _never() -> bool:
    return False


async def _upload(db, principal, storage, content: bytes, *, age: timedelta) -> Attachment:
    attachment, _ = await service.upload(db, principal, storage,
                                         service.Upload(attachment_id=uuid.uuid4(), file=io.BytesIO(content)))
    await db.execute(update(Attachment).where(Attachment.id == attachment.id)
                     .values(created_at=utcnow() - age).execution_options(synchronize_session=False))
    return attachment


async def test_the_purge_removes_only_old_unattached_uploads(db, principal_of, storage):
    collector = await principal_of("collector1")
    old, shared, attached = (sample_photo(color=(c, c, c)) for c in (1, 2, 3))
    old_unattached = await _upload(db, collector, storage, old, age=timedelta(hours=25))
    old_attached = await _upload(db, collector, storage, attached, age=timedelta(hours=30))
    await service.attach(db, collector, [old_attached.id], KIND, uuid.uuid4())
    recent = await _upload(db, collector, storage, sample_photo(color=(4, 4, 4)), age=timedelta(hours=23))
    # The same content twice: the old copy goes, the bytes stay for the recent one.
    old_copy = await _upload(db, collector, storage, shared, age=timedelta(days=3))
    recent_copy = await _upload(db, collector, storage, shared, age=timedelta(hours=1))

    summary = await service.purge_unattached(db, storage)

    assert summary == {"purged": 2, "files_deleted": 1}
    left = set(await db.scalars(select(Attachment.id).where(Attachment.id.in_(
        [old_unattached.id, old_attached.id, recent.id, old_copy.id, recent_copy.id]))))
    assert left == {old_attached.id, recent.id, recent_copy.id}
    assert not await storage.exists(old_unattached.sha256)
    assert await storage.exists(old_copy.sha256)
    assert await storage.exists(old_attached.sha256) and await storage.exists(recent.sha256)
    assert await service.purge_unattached(db, storage) == {"purged": 0, "files_deleted": 0}


def test_the_purge_is_a_periodic_job():
    assert JOBS["attachments-purge"].run is service.purge_job
