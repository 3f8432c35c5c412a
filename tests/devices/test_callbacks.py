"""The gateway's callback: the one route without a bearer token. A forged, stale or replayed
callback answers 401 and changes nothing; a provider's retry of an applied event (same event id,
signed anew) answers 200 and is applied once; a malformed one is a 422 problem."""


from sqlalchemy import func, select

from app.core import clock
from app.devices.models import DeviceGatewayEvent
from tests.devices.conftest import CALLBACKS, new_event_id, signed


def _position(device_id: str, speed: float = 12.0, event_id: str | None = None) -> dict:
    return {"event_id": event_id or new_event_id(), "type": "position", "device_id": device_id,
            "latitude": 31.2, "longitude": 121.4, "speed_kmh": speed}


async def _speed(client, auth, machine_id: str) -> str | None:
    return (await client.get(f"/api/v1/machines/{machine_id}", headers=auth("clerk1"))).json().get("last_speed_kmh")


async def _events(db) -> int:
    return await db.scalar(select(func.count()).select_from(DeviceGatewayEvent))


async def test_forged_stale_and_unsigned_callbacks_are_refused_with_401(client, db, machine_case):
    mc = await machine_case()
    before = await _events(db)
    body, headers = signed(_position(mc.device_id), key=b"not-the-shared-secret-at-all-000000")
    forged = await client.post(CALLBACKS, content=body, headers=headers)
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    assert forged.json()["code"] == "device_gateway.signature_invalid"
    body, headers = signed(_position(mc.device_id), at=int(clock.timestamp()) - 301)
    assert (await client.post(CALLBACKS, content=body, headers=headers)).status_code == 401
    body, headers = signed(_position(mc.device_id))
    tampered = body.replace(b"12.0", b"99.0")
    assert (await client.post(CALLBACKS, content=tampered, headers=headers)).status_code == 401
    assert (await client.post(CALLBACKS, content=body)).status_code == 401  # no signature at all
    assert await _events(db) == before


async def test_a_replayed_callback_is_refused_and_a_retried_event_is_applied_once(client, auth, db, machine_case):
    mc = await machine_case()
    event = _position(mc.device_id, speed=12.0)
    body, headers = signed(event)
    first = await client.post(CALLBACKS, content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["applied"] is True
    assert await _speed(client, auth, mc.machine_id) == "12.0"
    replayed = await client.post(CALLBACKS, content=body, headers=headers)  # the very same request
    assert replayed.status_code == 401
    retried_body, retried_headers = signed({**event, "speed_kmh": 50.0}, at=int(clock.timestamp()) + 1)
    retried = await client.post(CALLBACKS, content=retried_body, headers=retried_headers)
    assert retried.status_code == 200, retried.text
    assert retried.json() == {"event_id": event["event_id"], "applied": False, "outcome": "duplicate"}
    assert await _speed(client, auth, mc.machine_id) == "12.0"  # applied once


async def test_a_malformed_callback_is_a_422_problem(client, deliver):
    for payload in ({"event_id": new_event_id(), "type": "nonsense", "device_id": "x"},
                    {"event_id": new_event_id(), "type": "position", "device_id": "x", "speed_kmh": -3},
                    {"event_id": "", "type": "position", "device_id": "x"}):
        response = await deliver(payload)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "device_gateway.callback_invalid"
    body, headers = signed({})
    not_json = await client.post(CALLBACKS, content=b"\xff{", headers={**headers, **signed({})[1]})
    assert not_json.status_code in (401, 422)
