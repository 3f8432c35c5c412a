"""Sample photos for demo data and tests: small JPEGs (or HEICs) carrying EXIF time and GPS, as a phone
writes them."""

import io
from datetime import datetime
from decimal import Decimal
from typing import Literal

from PIL import ExifTags, Image

from app.attachments import photos  # noqa: F401 - registers the HEIF opener that saving HEIC needs


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes_float = (value - degrees) * 60
    minutes = int(minutes_float)
    return float(degrees), float(minutes), round((minutes_float - minutes) * 60, 4)


def sample_photo(taken_at: datetime | None = None, latitude: float | Decimal | None = None,
                 longitude: float | Decimal | None = None, *, color: tuple[int, int, int] = (120, 140, 90),
                 size: tuple[int, int] = (32, 24), image_format: Literal["JPEG", "HEIF"] = "JPEG") -> bytes:
    """A JPEG (or HEIC) with DateTimeOriginal + OffsetTimeOriginal (the time in its own zone) and a GPS IFD."""
    exif = Image.Exif()
    if taken_at is not None:
        details = exif.get_ifd(ExifTags.IFD.Exif)
        details[ExifTags.Base.DateTimeOriginal] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        offset = taken_at.strftime("%z")
        if offset:
            details[ExifTags.Base.OffsetTimeOriginal] = f"{offset[:3]}:{offset[3:]}"
    if latitude is not None and longitude is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "N" if latitude >= 0 else "S"
        gps[ExifTags.GPS.GPSLatitude] = _dms(abs(float(latitude)))
        gps[ExifTags.GPS.GPSLongitudeRef] = "E" if longitude >= 0 else "W"
        gps[ExifTags.GPS.GPSLongitude] = _dms(abs(float(longitude)))
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, image_format, exif=exif.tobytes(), quality=70)
    return buffer.getvalue()
