"""What a file is, from its bytes; what it is called, made safe to keep and to send back.

The type is sniffed from the leading bytes (magic numbers), never taken from the name or the part's
Content-Type, which the client controls. Hand-written on purpose: four formats, a few lines each, and
no dependency (python-magic needs libmagic on the machine) that could answer for a format we refuse.
What the client declared (the name's extension, the part's Content-Type) must not contradict the
bytes (`declared_types`): a PDF named `.jpg` would otherwise be kept under a name that lies about it."""

import mimetypes
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


# Names clients give our four types; the standard library's table (not the machine's mime.types,
# which differs from host to host) for every other extension.
_EXTENSION_TYPES = {"jpg": JPEG, "jpeg": JPEG, "jpe": JPEG, "jfif": JPEG, "png": PNG, "heic": HEIC, "heif": HEIC,
                    "pdf": PDF}
_STANDARD_TYPES = mimetypes.MimeTypes()
# Other spellings of our types that browsers and phones send.
_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "image/heif": HEIC, "image/heic-sequence": HEIC,
            "image/heif-sequence": HEIC, "application/x-pdf": PDF}
# Declare nothing: "some bytes" (what most HTTP clients send for a file they do not know).
_UNDECLARED = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}


def declared_types(file_name: str | None, content_type: str | None) -> set[str]:
    """The content types the client claimed for a file, by its name's extension and by the part's
    Content-Type (our four under one spelling each), leaving out those that claim nothing."""
    declared = set()
    stem, dot, extension = (file_name or "").rpartition(".")
    if dot and stem.strip():
        extension = extension.strip().lower()
        declared.add(_EXTENSION_TYPES.get(extension) or _STANDARD_TYPES.guess_type(f"file.{extension}")[0] or "")
    if content_type:
        declared.add(content_type.partition(";")[0].strip().lower())
    return {_ALIASES.get(t, t) for t in declared} - _UNDECLARED


def name_for(file_name: str | None, content_type: str) -> str | None:
    """The name to serve bytes of `content_type` under: the stored one unless its extension says
    otherwise (a file stored before names were checked against the bytes); None for the fallback."""
    if file_name is None or declared_types(file_name, None) - {content_type}:
        return None
    return file_name


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
