"""The upload over HTTP: read back, retries, types by bytes, limits, checksums, names, who may read."""

import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import update

from app.attachments import service
from app.attachments.demo import sample_photo
from app.attachments.errors import AttachmentTooLarge
from app.attachments.models import Attachment
from app.core.config import get_settings
from tests.attachments.helpers import ELF, HEIC, PDF, PE, png, upload

PROBLEM = "application/problem+json"
SHANGHAI_PHOTO = sample_photo(datetime(2026, 11, 20, 2, 15, tzinfo=UTC), 31.230416, 121.473701)


async def test_an_upload_reads_back_as_metadata_and_bytes(client, auth):
    attachment_id = str(uuid.uuid4())
    created = await upload(client, auth("collector1"), SHANGHAI_PHOTO, attachment_id=attachment_id,
                           name="visit.jpg")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"] == attachment_id
    assert body["content_type"] == "image/jpeg"
    assert body["size"] == len(SHANGHAI_PHOTO)
    assert body["sha256"] == hashlib.sha256(SHANGHAI_PHOTO).hexdigest()
    assert body["file_name"] == "visit.jpg"
    assert body["attached_to"] is None
    assert created.headers["Location"] == f"/api/v1/attachments/{attachment_id}"

    meta = await client.get(f"/api/v1/attachments/{attachment_id}", headers=auth("collector1"))
    assert meta.status_code == 200
    assert meta.json() == body
    assert meta.headers["ETag"] == 'W/"1"'

    content = await client.get(f"/api/v1/attachments/{attachment_id}/content", headers=auth("collector1"))
    assert content.status_code == 200
    assert content.content == SHANGHAI_PHOTO
    assert content.headers["content-type"] == "image/jpeg"
    assert content.headers["ETag"] == f'"{body["sha256"]}"'
    assert content.headers["Content-Disposition"] == "attachment; filename=\"visit.jpg\"; filename*=UTF-8''visit.jpg"
    assert content.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_field_surface_uploads_through_the_same_service(client, auth):
    response = await upload(client, auth("collector1"), SHANGHAI_PHOTO, path="/api/mobile/v1/attachments")
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    assert location == f"/api/mobile/v1/attachments/{response.json()['id']}"
    assert (await client.get(location, headers=auth("collector1"))).json() == response.json()
    assert (await client.get(f"{location}/content", headers=auth("collector1"))).content == SHANGHAI_PHOTO
    assert (await client.get(location, headers=auth("collector3"))).status_code == 404


async def test_a_retry_with_the_same_id_and_content_answers_200_with_the_stored_attachment(client, auth):
    attachment_id = str(uuid.uuid4())
    first = await upload(client, auth("collector1"), SHANGHAI_PHOTO, attachment_id=attachment_id)
    second = await upload(client, auth("collector1"), SHANGHAI_PHOTO, attachment_id=attachment_id,
                          name="renamed-on-retry.jpg")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()


async def test_taken_at_reads_in_utc_in_the_first_answer_and_on_the_retry(client, auth):
    # The phone wrote the photo's time in its own zone (OffsetTimeOriginal +08:00): every answer,
    # the first one included, says the same instant the same way, in UTC.
    photo = sample_photo(datetime(2026, 11, 20, 10, 15, tzinfo=timezone(timedelta(hours=8))), 31.23, 121.47)
    attachment_id = str(uuid.uuid4())
    first = await upload(client, auth("collector1"), photo, attachment_id=attachment_id)
    again = await upload(client, auth("collector1"), photo, attachment_id=attachment_id)
    read = await client.get(f"/api/v1/attachments/{attachment_id}", headers=auth("collector1"))
    assert (first.status_code, again.status_code, read.status_code) == (201, 200, 200)
    assert [r.json()["taken_at"] for r in (first, again, read)] == ["2026-11-20T02:15:00Z"] * 3
    assert first.json()["uploaded_at"].endswith("Z")


async def test_the_same_id_with_other_content_is_a_409(client, auth):
    attachment_id = str(uuid.uuid4())
    assert (await upload(client, auth("collector1"), SHANGHAI_PHOTO, attachment_id=attachment_id)).status_code == 201
    other = await upload(client, auth("collector1"), png(), attachment_id=attachment_id, name="photo.png")
    assert other.status_code == 409
    assert other.json()["code"] == "attachment.conflicting_retry"


async def test_the_same_id_from_another_user_is_a_409_and_changes_nothing(client, auth):
    attachment_id = str(uuid.uuid4())
    assert (await upload(client, auth("collector1"), SHANGHAI_PHOTO, attachment_id=attachment_id)).status_code == 201
    clash = await upload(client, auth("collector3"), SHANGHAI_PHOTO, attachment_id=attachment_id)
    assert clash.status_code == 409
    assert clash.json()["code"] == "attachment.conflicting_retry"
    assert (await client.get(f"/api/v1/attachments/{attachment_id}", headers=auth("collector3"))).status_code == 404


async def test_the_type_comes_from_the_bytes_a_png_without_a_declared_type_is_a_png(client, auth):
    response = await upload(client, auth("collector1"), png(), name="scan")
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "image/png"
    content = await client.get(f"/api/v1/attachments/{response.json()['id']}/content", headers=auth("collector1"))
    assert content.headers["content-type"] == "image/png"


@pytest.mark.parametrize(("content", "name", "part_type"), [
    (PDF, "scan.jpg", "application/octet-stream"),  # a PDF named .jpg
    (None, "scan.pdf", "application/octet-stream"),  # a PNG named .pdf
    (None, "scan.PNG", "application/pdf"),  # the part's type contradicts the bytes (and the name)
    (PDF, "scan", "image/jpeg"),
    (SHANGHAI_PHOTO, "visit.txt", "application/octet-stream"),
], ids=["pdf-named-jpg", "png-named-pdf", "png-sent-as-pdf", "pdf-sent-as-jpeg", "jpeg-named-txt"])
async def test_a_declared_type_that_contradicts_the_bytes_is_a_415(client, auth, content, name, part_type):
    response = await upload(client, auth("collector1"), content or png(), name=name, content_type=part_type)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "attachment.type_mismatch"
    assert response.json()["errors"][0]["pointer"] == "/body/file"


async def test_a_file_stored_under_a_name_of_another_type_is_served_as_its_bytes(client, auth, db):
    # Stored before names were checked against the bytes: a PNG called scan.pdf.
    response = await upload(client, auth("collector1"), png(), name="scan")
    attachment_id = response.json()["id"]
    await db.execute(update(Attachment).where(Attachment.id == uuid.UUID(attachment_id)).values(file_name="scan.pdf"))
    content = await client.get(f"/api/v1/attachments/{attachment_id}/content", headers=auth("collector1"))
    assert content.headers["content-type"] == "image/png"
    assert content.headers["Content-Disposition"] == (
        f"attachment; filename=\"{attachment_id}.png\"; filename*=UTF-8''{attachment_id}.png")


@pytest.mark.parametrize(("content", "name", "part_type"), [
    (SHANGHAI_PHOTO, "visit.JPEG", "image/jpg"),
    (SHANGHAI_PHOTO, "visit.jfif", "image/jpeg; charset=binary"),
    (HEIC, "IMG_0001.HEIC", "image/heif"),
    (PDF, "contract.pdf", "application/pdf"),
    (PDF, "contract.bin", ""),
], ids=["jpeg-aliases", "jfif", "heic-as-heif", "pdf", "undeclared"])
async def test_declared_types_that_agree_with_the_bytes_pass(client, auth, content, name, part_type):
    response = await upload(client, auth("collector1"), content, name=name, content_type=part_type)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(("content", "expected"), [(PDF, "application/pdf"), (HEIC, "image/heic")])
async def test_pdf_and_heic_are_accepted(client, auth, content, expected):
    response = await upload(client, auth("collector1"), content, name="file.bin")
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == expected


@pytest.mark.parametrize("content", [ELF, PE, b"just some text", b"GIF89a" + b"\x00" * 40],
                         ids=["elf", "windows-exe", "text", "gif"])
async def test_anything_else_named_jpg_is_a_415(client, auth, content):
    response = await upload(client, auth("collector1"), content, name="photo.jpg")
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "attachment.unsupported_type"


async def test_more_than_20_mib_is_a_413(client, auth):
    limit = get_settings().max_upload_bytes
    assert limit == 20 * 1024 * 1024
    response = await upload(client, auth("collector1"), b"\xff\xd8\xff" + b"\x00" * (limit - 2))
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "attachment.too_large"  # the file's limit, not the request's


async def test_a_file_of_exactly_20_mib_is_accepted(client, auth):
    # The limit is the file's: the multipart wrapping around it does not count against it.
    limit = get_settings().max_upload_bytes
    response = await upload(client, auth("collector1"), b"\xff\xd8\xff" + b"\x00" * (limit - 3))
    assert response.status_code == 201, response.text[:500]
    assert response.json()["size"] == limit


async def test_a_request_far_past_the_file_limit_is_refused_before_it_is_read(client, auth):
    limit = get_settings().max_upload_bytes
    response = await upload(client, auth("collector1"), b"\xff\xd8\xff" + b"\x00" * (limit + 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["code"] == "request.too_large"


async def test_the_service_stops_reading_past_the_limit(db, principal_of, storage):
    # Behind the request-body limit, the service counts as it reads: a file one byte over never
    # reaches the storage, whatever delivered it.
    limit = get_settings().max_upload_bytes
    oversized = io.BytesIO(b"\xff\xd8\xff" + b"\x00" * (limit - 2))
    with pytest.raises(AttachmentTooLarge):
        await service.upload(db, await principal_of("collector1"), storage,
                             service.Upload(attachment_id=uuid.uuid4(), file=oversized))
    assert not storage.root.exists() or not any(storage.root.rglob("*"))


async def test_a_checksum_mismatch_is_a_422_and_a_match_in_any_case_is_accepted(client, auth):
    wrong = await upload(client, auth("collector1"), SHANGHAI_PHOTO, sha256="0" * 64)
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "attachment.checksum_mismatch"
    assert wrong.json()["errors"][0]["pointer"] == "/body/sha256"
    right = await upload(client, auth("collector1"), SHANGHAI_PHOTO,
                         sha256=hashlib.sha256(SHANGHAI_PHOTO).hexdigest().upper())
    assert right.status_code == 201


async def test_a_malformed_checksum_or_id_is_a_422(client, auth):
    assert (await upload(client, auth("collector1"), SHANGHAI_PHOTO, sha256="xyz")).status_code == 422
    bad_id = await upload(client, auth("collector1"), SHANGHAI_PHOTO, attachment_id="not-a-uuid")
    assert bad_id.status_code == 422
    assert bad_id.json()["errors"][0]["pointer"] == "/body/id"


async def test_file_names_lose_paths_and_control_characters_and_are_bounded(client, auth):
    # (httpx percent-encodes ASCII control characters in part names itself; tests/attachments/test_files.py
    # covers them.) A right-to-left override would show "照片exe.jpg…" for a name that ends differently.
    response = await upload(client, auth("collector1"), SHANGHAI_PHOTO,
                            name="C:\\Users\\me\\照片\u202egpj.exe" + "长" * 300 + ".jpg")
    name = response.json()["file_name"]
    assert "\u202e" not in name and "\\" not in name
    assert len(name) == 255 and name.startswith("照片gpj.exe") and name.endswith(".jpg")
    content = await client.get(f"/api/v1/attachments/{response.json()['id']}/content", headers=auth("collector1"))
    disposition = content.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="__gpj.exe___')
    assert "filename*=UTF-8''%E7%85%A7%E7%89%87gpj.exe" in disposition


async def test_a_photo_keeps_its_exif_time_and_gps_position(client, auth):
    body = (await upload(client, auth("collector1"), SHANGHAI_PHOTO)).json()
    assert datetime.fromisoformat(body["taken_at"]) == datetime(2026, 11, 20, 2, 15, tzinfo=UTC)
    assert Decimal(body["latitude"]) == Decimal("31.230416")
    assert Decimal(body["longitude"]) == Decimal("121.473701")


async def test_an_iphone_heic_keeps_its_exif_too(client, auth):
    heic = sample_photo(datetime(2026, 11, 20, 2, 15, tzinfo=UTC), 31.230416, 121.473701, image_format="HEIF")
    body = (await upload(client, auth("collector1"), heic, name="IMG_0001.HEIC")).json()
    assert body["content_type"] == "image/heic"
    assert datetime.fromisoformat(body["taken_at"]) == datetime(2026, 11, 20, 2, 15, tzinfo=UTC)
    assert Decimal(body["latitude"]) == Decimal("31.230416")


async def test_a_photo_without_exif_has_no_time_or_place(client, auth):
    body = (await upload(client, auth("collector1"), sample_photo())).json()
    assert (body["taken_at"], body["latitude"], body["longitude"]) == (None, None, None)


async def test_another_tenant_and_other_users_get_404(client, auth):
    attachment_id = (await upload(client, auth("collector1"), SHANGHAI_PHOTO)).json()["id"]
    for username in ("other-admin", "admin", "collector3", "dispatcher"):
        for suffix in ("", "/content"):
            response = await client.get(f"/api/v1/attachments/{attachment_id}{suffix}", headers=auth(username))
            assert response.status_code == 404, (username, suffix)
            assert response.json()["code"] == "attachment.not_found"
    missing = await client.get(f"/api/v1/attachments/{uuid.uuid4()}", headers=auth("collector1"))
    assert (missing.status_code, missing.json()["code"]) == (404, "attachment.not_found")


@pytest.mark.parametrize("username", ["approver1", "leader"])
async def test_a_user_without_the_upload_permission_gets_403(client, auth, username):
    response = await upload(client, auth(username), SHANGHAI_PHOTO)
    assert response.status_code == 403
    assert response.json()["code"] == "auth.missing_permission"


@pytest.mark.parametrize("username", ["collector1", "clerk1", "sales1", "dispatcher", "investigator1"])
async def test_field_roles_may_upload(client, auth, username):
    assert (await upload(client, auth(username), SHANGHAI_PHOTO)).status_code == 201


async def test_a_retry_with_an_idempotency_key_and_a_new_boundary_replays(client, auth):
    attachment_id = str(uuid.uuid4())
    headers = auth("collector1", **{"Idempotency-Key": f"upload-{attachment_id}"})
    first = await upload(client, headers, SHANGHAI_PHOTO, attachment_id=attachment_id)
    second = await upload(client, headers, SHANGHAI_PHOTO, attachment_id=attachment_id)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "true"
