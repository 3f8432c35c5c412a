"""A photo's EXIF: when and where it was taken, and whether that matches the log it is evidence for.

A log whose photo was taken more than 2 hours or 500 metres away from the log's own time and place is
flagged for the dispatcher (`evidence_mismatch`): this is how a "visit" written at the desk shows."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import pillow_heif
from PIL import ExifTags, Image

from app.core.types import as_utc

# HEIC (what iPhones take) through libheif: its EXIF is read like a JPEG's, so an iPhone photo is
# evidence like any other.
pillow_heif.register_heif_opener()

MAX_TIME_APART = timedelta(hours=2)
MAX_METRES_APART = 500.0
EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)
_COORDINATE = Decimal("0.000001")  # Numeric(9, 6): about 11 cm


@dataclass(frozen=True)
class PhotoFacts:
    taken_at: datetime | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def read_photo_facts(file: BinaryIO, default_timezone: str) -> PhotoFacts:
    """EXIF DateTimeOriginal (with OffsetTimeOriginal, else in `default_timezone`: phones write local
    time) and the GPS position. Reads the metadata only, never the pixels; a damaged or hostile file
    gives no facts rather than an error (the upload itself is still valid evidence)."""
    try:
        with Image.open(file) as image:
            exif = image.getexif()
            details = exif.get_ifd(ExifTags.IFD.Exif)
            gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
            return PhotoFacts(
                taken_at=_taken_at(details.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime),
                                   details.get(ExifTags.Base.OffsetTimeOriginal), default_timezone),
                latitude=_coordinate(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), 90),
                longitude=_coordinate(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), 180),
            )
    except Exception:  # noqa: BLE001 - Pillow raises many kinds on malformed files; none is the client's fault here
        return PhotoFacts()


def _taken_at(value: Any, offset: Any, default_timezone: str) -> datetime | None:
    """The instant in UTC, like every instant the API answers (the photo's offset is not kept)."""
    if not isinstance(value, str):
        return None
    try:
        local = datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if isinstance(offset, str):
        try:
            return as_utc(datetime.fromisoformat(local.isoformat() + offset.strip("\x00 ")))
        except ValueError:
            pass  # a malformed offset: fall back to the default zone
    return as_utc(local.replace(tzinfo=ZoneInfo(default_timezone)))


def _coordinate(dms: Any, ref: Any, bound: int) -> Decimal | None:
    """Degrees, minutes, seconds (EXIF rationals) and N/S or E/W as signed decimal degrees."""
    if not isinstance(dms, tuple) or len(dms) != 3 or ref not in ("N", "S", "E", "W"):
        return None
    try:
        degrees = float(dms[0]) + float(dms[1]) / 60 + float(dms[2]) / 3600
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(degrees) or degrees > bound:
        return None
    signed = -degrees if ref in ("S", "W") else degrees
    return Decimal(repr(signed)).quantize(_COORDINATE)


def metres_apart(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def evidence_mismatch(photo_taken_at: datetime | None, photo_lat: float | Decimal | None,
                      photo_lng: float | Decimal | None, log_at: datetime, log_lat: float | Decimal | None,
                      log_lng: float | Decimal | None) -> bool:
    """Whether the photo was taken more than 2 hours or more than 500 metres away from the log.

    Only what both sides carry is compared: a photo without EXIF time, or a log or photo without a
    position, cannot show a mismatch on that measure (a missing EXIF is not proof of a desk visit;
    the dispatcher sees that the photo has no time or place anyway)."""
    if photo_taken_at is not None and abs(photo_taken_at - log_at) > MAX_TIME_APART:
        return True
    positions = (photo_lat, photo_lng, log_lat, log_lng)
    if any(p is None for p in positions):
        return False
    lat1, lng1, lat2, lng2 = (float(p) for p in positions)  # type: ignore[arg-type]
    return metres_apart(lat1, lng1, lat2, lng2) > MAX_METRES_APART
