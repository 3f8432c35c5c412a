"""A log's photos: only the author's own uploads attach; a photo taken too far in time or place
from the log flags it (evidence_mismatch) for the dispatcher; the case's collector reads them."""

from datetime import UTC, datetime

from app.attachments.demo import sample_photo
from tests.attachments.helpers import upload
from tests.collection.log_fixtures import *  # noqa: F403 - the fixtures
from tests.collection.log_fixtures import log_body

WHERE = {"latitude": 31.2304, "longitude": 121.4737, "accuracy_m": 15}


async def _photo(client, auth, user: str, taken_at: datetime, lat: float, lng: float) -> str:
    response = await upload(client, auth(user), sample_photo(taken_at, lat, lng))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_a_photo_from_another_time_or_place_flags_the_log(client, auth, open_case):
    case = await open_case()
    when = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)
    near = await _photo(client, auth, "collector1", when, 31.2305, 121.4738)
    body = log_body(action="visit", location=WHERE, occurred_at=when.isoformat(), attachment_ids=[near])
    honest = await client.post(case.logs, json=body, headers=auth("collector1"))
    assert honest.status_code == 201, honest.text
    assert honest.json()["evidence_mismatch"] is False

    yesterday = await _photo(client, auth, "collector1", datetime(2026, 2, 9, 2, 0, tzinfo=UTC), 31.2305, 121.4738)
    far = await _photo(client, auth, "collector1", when, 31.30, 121.47)  # about 7.7 km north
    for photo in (yesterday, far):
        flagged = await client.post(case.logs, headers=auth("collector1"), json=log_body(
            action="visit", location=WHERE, occurred_at=when.isoformat(), attachment_ids=[photo]))
        assert flagged.status_code == 201 and flagged.json()["evidence_mismatch"] is True

    # The case's dispatcher reads the photo of a log on a case in their scope.
    assert (await client.get(f"/api/v1/attachments/{near}", headers=auth("dispatcher"))).status_code == 200


async def test_only_the_authors_own_uploads_attach(client, auth, open_case):
    case = await open_case()
    theirs = await _photo(client, auth, "clerk1", datetime(2026, 2, 10, 2, 0, tzinfo=UTC), 31.23, 121.47)
    response = await client.post(case.logs, headers=auth("collector1"), json=log_body(attachment_ids=[theirs]))
    assert response.status_code == 422 and response.json()["code"] == "attachment.not_yours"
