"""The phone retrying while its first upload is still in flight: one attachment, the others get it back."""

import asyncio
import uuid

import httpx
from sqlalchemy import delete, func, select

from app.attachments.demo import sample_photo
from app.attachments.models import Attachment
from app.attachments.router import attachment_storage
from app.core import db as core_db
from app.main import create_app
from tests.attachments.helpers import upload
from tests.conftest import token_for


async def test_concurrent_uploads_of_one_id_store_it_once(org, engine, storage):
    app = create_app()  # real sessions: each request its own connection and commit
    app.dependency_overrides[attachment_storage] = lambda: storage
    attachment_id = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {token_for(org, 'collector1')}"}
    photo = sample_photo(color=(5, 6, 7))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(
                *(upload(client, headers, photo, attachment_id=attachment_id) for _ in range(5)))
        assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
        assert len({r.text for r in responses}) == 1
        async with core_db.session_factory()() as session:
            count = await session.scalar(select(func.count()).select_from(Attachment)
                                         .where(Attachment.id == uuid.UUID(attachment_id)))
        assert count == 1
    finally:
        async with core_db.session_factory()() as session:
            await session.execute(delete(Attachment).where(Attachment.id == uuid.UUID(attachment_id)))
            await session.commit()
