"""Sniffing by magic numbers, cleaning names, and the Content-Disposition header."""

import pytest

from app.attachments.files import clean_file_name, content_disposition, sniff
from tests.attachments.helpers import ELF, HEIC, PDF, PE, png


@pytest.mark.parametrize(("head", "expected"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"), (png(), "image/png"), (PDF, "application/pdf"),
    (HEIC, "image/heic"), (ELF, None), (PE, None), (b"", None), (b"\xff\xd8", None),
    # HEIF/AVIF without an HEVC brand is not HEIC; a truncated ftyp box is nothing.
    ((24).to_bytes(4, "big") + b"ftypavif\x00\x00\x00\x00mif1avif", None), (b"\x00\x00\x00\x18ftyp", None),
])
def test_sniff(head, expected):
    assert sniff(head) == expected


@pytest.mark.parametrize(("given", "kept"), [
    (None, None), ("", None), ("\x00\x01", None), ("  visit.jpg  ", "visit.jpg"), ("../../etc/passwd", "passwd"),
    ("a\r\nX-Evil: 1.jpg", "aX-Evil: 1.jpg"), ("x" * 300, "x" * 255),
])
def test_clean_file_name(given, kept):
    assert clean_file_name(given) == kept


def test_content_disposition_cannot_be_broken_out_of():
    header = content_disposition('a"b\\c;d.jpg', "fallback.jpg")
    assert header == "attachment; filename=\"a_b_c;d.jpg\"; filename*=UTF-8''a%22b%5Cc%3Bd.jpg"
    assert content_disposition(None, "1234.png") == "attachment; filename=\"1234.png\"; filename*=UTF-8''1234.png"
