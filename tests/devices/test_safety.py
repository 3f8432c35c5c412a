"""Remote lock's safety (issue 24), one test per observation made from outside: a device belongs to
one machine in the installation; a callback is believed only when command, device and group agree;
the timestamp header takes ASCII digits only; an unknown or stale speed never releases a lock; the
newest command wins whatever order the results arrive in, and the device's own report wins over
both; a position dated in the future by a bad clock is kept but never freezes the machine; stock
Traccar's forwarding drives a lock end to end. All over real HTTP, the simulator included."""

import uuid
from datetime import timedelta

from sqlalchemy import select

from app.core import clock, queue
from app.core.audit import AuditEvent
from app.core.config import get_settings
from app.devices.models import DevicePosition
from app.notifications.models import Notification
from tests.conftest import TRACCAR_FORWARD_KEY as FORWARD_KEY
from tests.devices.conftest import CALLBACKS, new_event_id, position, signed

TRACCAR = "/api/v1/device-gateway/traccar"


async def test_a_device_bound_anywhere_is_taken_and_the_answer_reveals_nothing_more(client, auth, machine_case):
    mc = await machine_case()
    theirs = await client.post("/api/v1/machines", headers=auth("other-admin"),
                               json={"model": "X", "serial_number": "N-1", "gps_device_id": mc.device_id})
    ours = await client.post("/api/v1/machines", headers=auth("clerk1"),
                             json={"model": "X", "serial_number": "C-1", "gps_device_id": mc.device_id})
    assert theirs.status_code == ours.status_code == 409
    per_request = ("instance", "request_id")
    assert {k: v for k, v in theirs.json().items() if k not in per_request} == {
        k: v for k, v in ours.json().items() if k not in per_request}
    assert theirs.json()["code"] == "machine.device_taken"
    own = await client.post("/api/v1/machines", headers=auth("other-admin"),
                            json={"model": "X", "serial_number": "N-2"})
    assert own.status_code == 201, own.text
    patched = await client.patch(f"/api/v1/machines/{own.json()['id']}", json={"gps_device_id": mc.device_id},
                                 headers=auth("other-admin", **{"If-Match": own.headers["ETag"]}))
    assert patched.status_code == 409 and patched.json()["code"] == "machine.device_taken"


async def test_a_result_naming_another_devices_command_is_refused_audited_and_changes_nothing(
        client, db, machine_case, approved, gateway_in_use, sim, deliver, command_of, lock_state):
    mc = await machine_case()
    command = await approved(mc)
    await queue.drain(db)
    assert (await command_of(command["id"]))["state"] == "sent"
    sim.take(mc.device_id)
    for device_id in ("SOMEBODY-ELSES-GPS", mc.device_id + "-other"):
        forged = {"type": "command_result", "event_id": new_event_id(), "command_id": command["id"],
                  "device_id": device_id, "result": "acknowledged"}
        answer = await deliver(forged)
        assert answer.status_code == 409 and answer.json()["code"] == "device_gateway.callback_mismatch"
    unknown = await deliver({"type": "command_result", "event_id": new_event_id(), "command_id": str(uuid.uuid4()),
                             "device_id": mc.device_id, "result": "acknowledged"})
    assert unknown.status_code == 409
    assert (await command_of(command["id"]))["state"] == "sent"
    assert await lock_state(mc.machine_id) == "unlocked"
    rejected = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "device_gateway.callback_rejected",
                                                          AuditEvent.entity_id == command["id"]))).all()
    assert len(rejected) == 2


async def test_a_timestamp_of_non_ascii_digits_is_refused_with_401_not_a_500(client, machine_case):
    mc = await machine_case()
    body, headers = signed(position(mc.device_id))
    for stamp in ("²", "١٧٠٠", "１７００", "-1", "+1"):
        answer = await client.post(CALLBACKS, content=body, headers={**headers, "X-Gateway-Timestamp": stamp.encode()})
        assert answer.status_code == 401, (stamp, answer.text)


async def test_an_unknown_or_stale_speed_keeps_a_lock_waiting(
        db, machine_case, approved, gateway_in_use, sim, deliver, command_of):
    mc = await machine_case(stopped=False)
    sim.device(mc.device_id, online=False)  # asked for a position, it cannot answer yet
    command = await approved(mc)
    await queue.drain(db)
    assert (await command_of(command["id"]))["state"] == "waiting_safe"  # never reported: unknown speed
    await deliver(position(mc.device_id, speed_kmh=30.0))
    released = await deliver(position(mc.device_id, speed_kmh=None))  # a report without speed
    assert released.json()["outcome"] == "applied"
    assert (await command_of(command["id"]))["state"] == "waiting_safe"
    stale = (clock.now() - timedelta(seconds=get_settings().device_max_position_age_seconds + 60)).isoformat()
    await deliver(position(mc.device_id, speed_kmh=0.0, at=stale))  # stopped, but too long ago: older, ignored
    assert (await command_of(command["id"]))["state"] == "waiting_safe"
    assert sim.deliveries(command["id"]) == []
    fresh = await deliver(position(mc.device_id, speed_kmh=0.0))
    assert fresh.json()["outcome"] == "released 1"
    assert (await command_of(command["id"]))["state"] == "queued"


async def test_a_stale_report_of_a_stopped_machine_does_not_let_a_lock_go(
        db, travel, machine_case, approved, gateway_in_use, sim, command_of):
    mc = await machine_case()  # stopped, reported now
    sim.device(mc.device_id, online=False)
    travel(clock.now() + timedelta(seconds=get_settings().device_max_position_age_seconds + 1))
    command = await approved(mc)
    await queue.drain(db)
    detail = await command_of(command["id"])
    assert detail["state"] == "waiting_safe" and "too old" in detail["transitions"][-1]["note"]


async def test_results_arriving_out_of_order_leave_the_machine_as_the_newest_command_says(
        db, machine_case, approved, gateway_in_use, sim, deliver, command_of, lock_state):
    mc = await machine_case()
    sim.device(mc.device_id, online=False)
    lock = await approved(mc)
    await queue.drain(db)
    assert (await command_of(lock["id"]))["state"] == "sent"  # queued at the gateway (202)
    unlock = await approved(mc, "unlock")
    assert unlock["seq"] == lock["seq"] + 1
    assert (await command_of(lock["id"]))["state"] == "superseded"
    await queue.drain(db)
    assert (await command_of(unlock["id"]))["state"] == "sent"
    sim.device(mc.device_id, online=True)  # the device runs both (lock, then unlock)
    answers = {a["command_id"]: a for a in sim.take(mc.device_id) if a["type"] == "command_result"}
    assert (await deliver(answers[unlock["id"]])).json()["outcome"] == "acknowledged"
    assert (await deliver(answers[lock["id"]])).json()["outcome"] == "recorded_superseded"
    assert await lock_state(mc.machine_id) == "unlocked"
    recorded = await command_of(lock["id"])
    assert recorded["state"] == "superseded" and "lock state is left" in recorded["transitions"][-1]["note"]


async def test_the_devices_reported_output_state_wins_and_a_disagreement_alerts(
        db, org, machine_case, approved, gateway_in_use, sim, deliver, command_of, lock_state):
    mc = await machine_case()
    lock = await approved(mc)
    await queue.drain(db)
    [ack] = [a for a in sim.take(mc.device_id) if a["type"] == "command_result"]
    await deliver(ack)
    assert await lock_state(mc.machine_id) == "locked"
    await deliver(position(mc.device_id, blocked=True))  # agrees: nothing to say
    await deliver(position(mc.device_id, blocked=False))  # somebody released the relay by hand
    assert await lock_state(mc.machine_id) == "unlocked"
    told = (await db.scalars(select(Notification.user_id).where(Notification.kind == "machine.lock_state_reported",
                                                                Notification.entity_id == mc.machine_id))).all()
    assert org.users["collector1"].id in told and org.users["dispatcher"].id in told
    again = await deliver({**ack, "event_id": new_event_id()})  # the lock's result once more: it counted already
    assert again.json()["outcome"] == "ignored_acknowledged"
    assert await lock_state(mc.machine_id) == "unlocked"  # the device's later word stands
    assert (await command_of(lock["id"]))["state"] == "acknowledged"


async def test_a_position_dated_in_the_future_is_kept_flagged_and_does_not_freeze_the_machine(
        client, auth, db, machine_case, deliver):
    mc = await machine_case()
    ahead = (clock.now() + timedelta(hours=3)).isoformat()
    answer = await deliver(position(mc.device_id, speed_kmh=7.0, at=ahead))
    assert answer.status_code == 200 and answer.json()["outcome"] == "kept_future_clock"
    later = await deliver(position(mc.device_id, speed_kmh=11.0))
    assert later.json()["outcome"] == "applied"
    machine = (await client.get(f"/api/v1/machines/{mc.machine_id}", headers=auth("clerk1"))).json()
    assert machine["last_speed_kmh"] == "11.0"
    kept = (await db.scalars(select(DevicePosition).where(DevicePosition.machine_id == uuid.UUID(mc.machine_id))
                             .order_by(DevicePosition.received_at))).all()
    assert [(str(p.speed_kmh), p.future_clock) for p in kept][-2:] == [("7.0", True), ("11.0", False)]


async def test_stock_traccar_forwarding_drives_a_lock_from_position_to_acknowledgement(
        client, db, traccar_forwarding, machine_case, approved, gateway_in_use, sim, command_of, lock_state):
    from app.devices import simulator

    mc = await machine_case(stopped=False)
    speaker = simulator.Simulator(callback_url=None, key=b"", ack_seconds=0, token=None, traccar_key=FORWARD_KEY)

    async def forward(payload: dict) -> dict:
        path, body, headers = speaker.traccar(payload)
        answer = await client.post(TRACCAR + path, content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    wrong = await client.post(TRACCAR + "/positions", content=b"{}", headers={"X-Recourse-Gateway-Key": "nope"})
    assert wrong.status_code == 401
    stopped = {"type": "position", "device_id": mc.device_id, "latitude": 31.2, "longitude": 121.4,
               "speed_kmh": 1.0, "blocked": False, "at": clock.now().isoformat()}
    assert (await forward(stopped))["outcome"] == "applied"
    command = await approved(mc)
    await queue.drain(db)
    assert (await command_of(command["id"]))["state"] == "sent"
    [ack] = [a for a in sim.take(mc.device_id) if a["type"] == "command_result"]
    result = await forward({**ack, "at": clock.now().isoformat()})
    assert result["outcome"] == "acknowledged"
    assert await lock_state(mc.machine_id) == "locked"
    again = await forward({**ack, "at": clock.now().isoformat()})  # nothing left waiting for a result
    assert again["outcome"] == "no_command_sent"
