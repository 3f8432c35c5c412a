"""EXIF facts and the evidence mismatch flag, from generated photos."""

import io
from datetime import UTC, datetime, timedelta, timezone

from app.attachments.demo import sample_photo
from app.attachments.photos import PhotoFacts, evidence_mismatch, metres_apart, read_photo_facts

SHANGHAI = timezone(timedelta(hours=8))
VISIT_AT = datetime(2026, 11, 20, 10, 15, tzinfo=SHANGHAI)
CUSTOMER_YARD = (31.230416, 121.473701)


def facts(photo: bytes) -> PhotoFacts:
    return read_photo_facts(io.BytesIO(photo), "Asia/Shanghai")


def test_exif_time_and_gps_are_read_from_a_generated_jpeg():
    read = facts(sample_photo(VISIT_AT, *CUSTOMER_YARD))
    assert read.taken_at == VISIT_AT
    assert float(read.latitude) == CUSTOMER_YARD[0] and float(read.longitude) == CUSTOMER_YARD[1]


def test_a_time_without_offset_is_the_default_zone_and_southern_western_positions_are_negative():
    naive_local = datetime(2026, 11, 20, 10, 15)
    read = facts(sample_photo(naive_local, -33.8688, -151.2093))
    assert read.taken_at == VISIT_AT
    assert (float(read.latitude), float(read.longitude)) == (-33.8688, -151.2093)


def test_garbage_gives_no_facts():
    assert facts(b"\xff\xd8\xff not really a jpeg") == PhotoFacts()


def test_the_mismatch_flag_from_two_generated_photos():
    on_site = facts(sample_photo(VISIT_AT + timedelta(minutes=20), 31.2320, 121.4750))  # ~210 m, 20 min
    from_the_desk = facts(sample_photo(VISIT_AT - timedelta(hours=5), 31.2989, 120.5853))  # Suzhou, 5 h before
    assert metres_apart(*CUSTOMER_YARD, float(on_site.latitude), float(on_site.longitude)) < 500
    assert not evidence_mismatch(on_site.taken_at, on_site.latitude, on_site.longitude, VISIT_AT, *CUSTOMER_YARD)
    assert evidence_mismatch(from_the_desk.taken_at, from_the_desk.latitude, from_the_desk.longitude,
                             VISIT_AT, *CUSTOMER_YARD)


def test_either_measure_alone_flags():
    lat, lng = CUSTOMER_YARD
    assert evidence_mismatch(VISIT_AT + timedelta(hours=2, minutes=1), lat, lng, VISIT_AT, lat, lng)
    assert not evidence_mismatch(VISIT_AT + timedelta(hours=2), lat, lng, VISIT_AT, lat, lng)
    assert evidence_mismatch(VISIT_AT, lat + 0.0050, lng, VISIT_AT, lat, lng)  # ~556 m north
    assert not evidence_mismatch(VISIT_AT, lat + 0.0040, lng, VISIT_AT, lat, lng)  # ~445 m
    assert not evidence_mismatch(VISIT_AT.astimezone(UTC), lat, lng, VISIT_AT, lat, lng)  # zones compare as instants


def test_what_is_missing_is_not_compared():
    lat, lng = CUSTOMER_YARD
    assert not evidence_mismatch(None, None, None, VISIT_AT, lat, lng)
    assert not evidence_mismatch(VISIT_AT, lat + 1, lng, VISIT_AT, None, None)
    assert evidence_mismatch(VISIT_AT - timedelta(days=1), None, None, VISIT_AT, lat, lng)


def test_an_iphone_heic_photo_is_read_like_a_jpeg():
    heic = sample_photo(VISIT_AT, *CUSTOMER_YARD, image_format="HEIF")
    assert heic[4:12] == b"ftypheic"
    read = facts(heic)
    assert read.taken_at == VISIT_AT
    assert float(read.latitude) == CUSTOMER_YARD[0] and float(read.longitude) == CUSTOMER_YARD[1]
