"""Attaching uploads to a record, and reading them through what they are attached to."""

import uuid

import pytest

from app.attachments import service
from app.attachments.demo import sample_photo
from app.attachments.errors import AttachmentAlreadyAttached, AttachmentNotYours
from tests.attachments.helpers import upload

KIND = "test_evidence"
READERS_OF: dict[uuid.UUID, set[str]] = {}  # target → usernames that may read it


async def _reads_target(_session, principal, target_id) -> bool:
    return principal.username in READERS_OF.get(target_id, set())


service.register_reader(KIND, _reads_target)


async def _uploaded(client, auth, username="collector1") -> uuid.UUID:
    response = await upload(client, auth(username), sample_photo(color=(1, 2, 3)))
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def test_whoever_may_read_the_target_reads_its_attachments(client, auth, db, principal_of):
    attachment_id, target = await _uploaded(client, auth), uuid.uuid4()
    READERS_OF[target] = {"dispatcher"}
    assert (await client.get(f"/api/v1/attachments/{attachment_id}", headers=auth("dispatcher"))).status_code == 404
    [attached] = await service.attach(db, await principal_of("collector1"), [attachment_id], KIND, target)
    assert (attached.attached_kind, attached.attached_id, attached.version) == (KIND, target, 2)

    for suffix in ("", "/content"):
        response = await client.get(f"/api/v1/attachments/{attachment_id}{suffix}", headers=auth("dispatcher"))
        assert response.status_code == 200, response.text
    meta = await client.get(f"/api/v1/attachments/{attachment_id}", headers=auth("dispatcher"))
    assert meta.json()["attached_to"] == {"kind": KIND, "id": str(target)}
    assert meta.headers["ETag"] == 'W/"2"'
    # Not a reader of the target, even with a wide scope in the same tenant; another tenant never.
    for username in ("collector3", "admin", "other-admin"):
        response = await client.get(f"/api/v1/attachments/{attachment_id}", headers=auth(username))
        assert response.status_code == 404, username


async def test_attaching_again_to_the_same_target_is_a_no_op(client, auth, db, principal_of):
    attachment_id, target = await _uploaded(client, auth), uuid.uuid4()
    collector = await principal_of("collector1")
    await service.attach(db, collector, [attachment_id], KIND, target)
    [again] = await service.attach(db, collector, [attachment_id, attachment_id], KIND, target)
    assert again.version == 2


async def test_an_attachment_attached_elsewhere_is_refused_with_a_409(client, auth, db, principal_of):
    attachment_id = await _uploaded(client, auth)
    collector = await principal_of("collector1")
    await service.attach(db, collector, [attachment_id], KIND, uuid.uuid4())
    with pytest.raises(AttachmentAlreadyAttached) as refused:
        await service.attach(db, collector, [attachment_id], KIND, uuid.uuid4())
    assert refused.value.status == 409


async def test_only_the_uploader_attaches_and_unknown_ids_are_refused_alike(client, auth, db, principal_of):
    theirs = await _uploaded(client, auth, "collector1")
    for ids in ([theirs], [uuid.uuid4()]):
        with pytest.raises(AttachmentNotYours) as refused:
            await service.attach(db, await principal_of("collector3"), ids, KIND, uuid.uuid4())
        assert refused.value.status == 422
        assert refused.value.extra == {"attachment_ids": [str(ids[0])]}


async def test_nothing_is_attached_when_one_id_is_refused(client, auth, db, principal_of):
    mine, other = await _uploaded(client, auth, "collector1"), await _uploaded(client, auth, "collector3")
    with pytest.raises(AttachmentNotYours):
        await service.attach(db, await principal_of("collector1"), [mine, other], KIND, uuid.uuid4())
    response = await client.get(f"/api/v1/attachments/{mine}", headers=auth("collector1"))
    assert response.json()["attached_to"] is None


async def test_a_kind_without_a_reader_is_a_programming_error(db, principal_of):
    with pytest.raises(ValueError, match="no reader"):
        await service.attach(db, await principal_of("collector1"), [uuid.uuid4()], "nobody_reads_this", uuid.uuid4())
