"""Uploading through the API, as the phone does."""

import io
import uuid

import httpx
from PIL import Image

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 120
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
# A minimal ISO BMFF header as an iPhone writes it: ftyp, major brand heic, compatible mif1 + heic.
HEIC = (28).to_bytes(4, "big") + b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heicmiaf" + b"\x00" * 64


def png(color: tuple[int, int, int] = (10, 20, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(buffer, "PNG")
    return buffer.getvalue()


async def upload(client: httpx.AsyncClient, headers: dict[str, str], content: bytes, *, name: str = "photo.jpg",
                 attachment_id: str | None = None, sha256: str | None = None,
                 path: str = "/api/v1/attachments",
                 content_type: str = "application/octet-stream") -> httpx.Response:
    data = {"id": attachment_id or str(uuid.uuid4())}
    if sha256 is not None:
        data["sha256"] = sha256
    return await client.post(path, data=data, files={"file": (name, content, content_type)}, headers=headers)
