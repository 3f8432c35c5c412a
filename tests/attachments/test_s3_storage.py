"""The S3 backend against moto's server (a real HTTP endpoint speaking S3), credentials from the
usual AWS variables."""

import hashlib
import io
import socket
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from app.attachments.demo import sample_photo
from app.attachments.router import attachment_storage
from app.attachments.storage import S3Storage, key_of
from tests.attachments.helpers import upload


@pytest.fixture(scope="module")
def s3_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch) -> S3Storage:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"attachments-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return S3Storage(bucket, endpoint_url=s3_endpoint, prefix="attachments/")


async def test_put_get_exists_delete(s3):
    content = sample_photo(color=(9, 9, 9))
    sha = hashlib.sha256(content).hexdigest()
    assert not await s3.exists(sha)
    await s3.put(sha, io.BytesIO(content))
    assert await s3.exists(sha)
    assert await s3.get(sha) == content
    assert b"".join([chunk async for chunk in s3.open(sha)]) == content
    await s3.delete(sha)
    assert not await s3.exists(sha)


async def test_content_is_addressed_by_hash_and_stored_once(s3):
    content = b"%PDF-1.4 the same letter twice"
    sha = hashlib.sha256(content).hexdigest()
    await s3.put(sha, content)
    await s3.put(sha, io.BytesIO(content))
    listed = s3.client.list_objects_v2(Bucket=s3.bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"attachments/{sha[:2]}/{sha[2:4]}/{sha}"] == [s3.key(sha)]
    assert s3.key(sha).endswith(key_of(sha))


async def test_a_large_file_streams_in_parts(s3):
    content = b"\x00" * (9 * 1024 * 1024)  # above boto3's multipart threshold (8 MiB)
    sha = hashlib.sha256(content).hexdigest()
    await s3.put(sha, io.BytesIO(content))
    assert s3.client.head_object(Bucket=s3.bucket, Key=s3.key(sha))["ContentLength"] == len(content)


async def test_the_api_over_s3_storage(app, client, auth, s3):
    app.dependency_overrides[attachment_storage] = lambda: s3
    photo = sample_photo(color=(7, 7, 7))
    created = await upload(client, auth("collector1"), photo)
    assert created.status_code == 201, created.text
    content = await client.get(f"/api/v1/attachments/{created.json()['id']}/content", headers=auth("collector1"))
    assert content.content == photo
    assert await s3.exists(created.json()["sha256"])
