"""What a file is, from its bytes; what it is called, made safe to keep and to send back.

The type is sniffed from the leading bytes (magic numbers), never taken from the name or the part's
Content-Type, which the client controls. Hand-written on purpose: four formats, a few lines each, and
no dependency (python-magic needs libmagic on the machine) that could answer for a format we refuse."""

import unicodedata
from urllib.parse import quote

from app.attachments.models import MAX_FILE_NAME

# Enough for every signature below, including an ISO BMFF `ftyp` box with its compatible brands.
SNIFF_BYTES = 256

JPEG, PNG, HEIC, PDF = "image/jpeg", "image/png", "image/heic", "application/pdf"
EXTENSIONS = {JPEG: "jpg", PNG: "png", HEIC: "heic", PDF: "pdf"}
# HEIF with HEVC images (what phones write); `mif1`/`msf1` alone is any HEIF (AVIF too), so a file must
# also name one of these among its brands.
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}


def sniff(head: bytes) -> str | None:
    """The content type the leading bytes prove (JPEG, PNG, HEIC, PDF), or None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"%PDF-"):
        return PDF
    if _is_heic(head):
        return HEIC
    return None


def _is_heic(head: bytes) -> bool:
    # ISO BMFF: the first box is `ftyp`: size (4), "ftyp", major brand (4), minor version (4), brands (4 each).
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    size = min(int.from_bytes(head[0:4], "big"), len(head))
    brands = {head[8:12], *(head[i:i + 4] for i in range(16, size - 3, 4))}
    return bool(brands & _HEIC_BRANDS)


def clean_file_name(name: str | None) -> str | None:
    """The name as given, without a client's directory path, control or format characters (a
    right-to-left override can make `gpj.exe` read as `exe.jpg`), at most MAX_FILE_NAME characters
    (the extension kept). None when nothing is left."""
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # old browsers on Windows send the full path
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > MAX_FILE_NAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[:MAX_FILE_NAME - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILE_NAME]
    return name or None


def content_disposition(file_name: str | None, fallback: str) -> str:
    """`attachment` with the name as an ASCII fallback (RFC 6266) and exactly, UTF-8 percent-encoded
    (RFC 8187 `filename*`), so no name can break out of the header or its quoted string."""
    name = file_name or fallback
    plain = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
