"""Where attachments' bytes live: one small interface, content-addressed by SHA-256 (`ab/cd/<sha256>`),
so the same file uploaded twice is stored once.

The local file system under DATA_DIR by default; S3-compatible object storage when
ATTACHMENTS_S3_BUCKET is set. Both are blocking APIs (file I/O, boto3), so every call runs in a worker
thread and the event loop never waits on a disk or the network."""

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import boto3
from anyio import to_thread
from botocore.exceptions import ClientError

from app.core.config import get_settings

CHUNK = 64 * 1024


def key_of(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class Storage(Protocol):
    async def put(self, sha256: str, source: BinaryIO | bytes) -> None:
        """Store the bytes under their hash (read from the current position); a no-op when present."""

    async def get(self, sha256: str) -> bytes:
        """All the bytes (small files, tests); `open` streams."""

    def open(self, sha256: str) -> AsyncIterator[bytes]:
        """The bytes in chunks."""

    async def exists(self, sha256: str) -> bool: ...

    async def delete(self, sha256: str) -> None:
        """Remove the bytes; a no-op when absent."""


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / key_of(sha256)

    async def put(self, sha256: str, source: BinaryIO | bytes) -> None:
        await to_thread.run_sync(self._put, sha256, source)

    def _put(self, sha256: str, source: BinaryIO | bytes) -> None:
        target = self.path_of(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then renamed: a reader never sees half a file, and two writers of the same
        # content both end with the whole file in place.
        partial = target.parent / f".{sha256}.{uuid.uuid4().hex}.part"
        try:
            with partial.open("wb") as out:
                if isinstance(source, bytes):
                    out.write(source)
                else:
                    shutil.copyfileobj(source, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    async def get(self, sha256: str) -> bytes:
        return await to_thread.run_sync(self.path_of(sha256).read_bytes)

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        file = await to_thread.run_sync(self.path_of(sha256).open, "rb")
        try:
            while chunk := await to_thread.run_sync(file.read, CHUNK):
                yield chunk
        finally:
            await to_thread.run_sync(file.close)

    async def exists(self, sha256: str) -> bool:
        return await to_thread.run_sync(self.path_of(sha256).exists)

    async def delete(self, sha256: str) -> None:
        await to_thread.run_sync(lambda: self.path_of(sha256).unlink(missing_ok=True))


class S3Storage:
    """Any S3-compatible store through boto3 (a client is thread-safe; one per storage)."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, prefix: str = "", client: Any = None) -> None:
        self.bucket, self.prefix = bucket, prefix
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url)

    def key(self, sha256: str) -> str:
        return self.prefix + key_of(sha256)

    async def put(self, sha256: str, source: BinaryIO | bytes) -> None:
        if await self.exists(sha256):
            return
        if isinstance(source, bytes):
            await to_thread.run_sync(lambda: self.client.put_object(Bucket=self.bucket, Key=self.key(sha256),
                                                                    Body=source))
        else:  # streamed, in parts for large files: never the whole file in memory
            await to_thread.run_sync(lambda: self.client.upload_fileobj(source, self.bucket, self.key(sha256)))

    async def get(self, sha256: str) -> bytes:
        return b"".join([chunk async for chunk in self.open(sha256)])

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        response = await to_thread.run_sync(lambda: self.client.get_object(Bucket=self.bucket, Key=self.key(sha256)))
        body = response["Body"]
        try:
            while chunk := await to_thread.run_sync(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def exists(self, sha256: str) -> bool:
        try:
            await to_thread.run_sync(lambda: self.client.head_object(Bucket=self.bucket, Key=self.key(sha256)))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def delete(self, sha256: str) -> None:
        await to_thread.run_sync(lambda: self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256)))


@lru_cache(maxsize=4)
def _storage(data_dir: Path, bucket: str | None, endpoint_url: str | None, prefix: str) -> Storage:
    if bucket:
        return S3Storage(bucket, endpoint_url=endpoint_url, prefix=prefix)
    return LocalStorage(data_dir / "attachments")


def configured_storage() -> Storage:
    """The storage the settings name (one per configuration: an S3 client is made once)."""
    settings = get_settings()
    return _storage(Path(settings.data_dir), settings.attachments_s3_bucket, settings.attachments_s3_endpoint_url,
                    settings.attachments_s3_prefix)
