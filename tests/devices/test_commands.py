"""Lock → queued → sent → acknowledged locks the machine; a refusal never does, an expired command
acknowledged late does (and alerts); the speed gate; Traccar's 202 (device offline) then the
acknowledgement later; the sender killed after the gateway accepted, then retried, delivers exactly
once; a newer command supersedes an unsent one."""

from datetime import timedelta

from sqlalchemy import select, text

from app.core import queue
from app.core.db import utcnow
from app.core.events import IntegrationEvent
from app.devices import gateway, service
from app.devices.models import DeviceCommand
from app.notifications.models import Notification


async def _device_events(db, contract_id) -> list[tuple[str, str]]:  # noqa: ANN001
    """The contract's device_command.* integration events, in order: (type, command id)."""
    rows = await db.execute(select(IntegrationEvent.event_type, IntegrationEvent.data)
                            .where(IntegrationEvent.ordering_key == str(contract_id),
                                   IntegrationEvent.event_type.like("device_command.%"))
                            .order_by(IntegrationEvent.seq))
    return [(event_type, data["command_id"]) for event_type, data in rows]


async def test_a_lock_is_queued_sent_and_acknowledged_and_only_then_the_machine_is_locked(
        db, machine_case, approved, gateway_in_use, sim, deliver, command_of, lock_state):
    mc = await machine_case()
    command = await approved(mc)
    assert command["state"] == "queued" and command["action"] == "lock" and command["device_id"] == mc.device_id
    assert await queue.drain(db) == 1
    assert (await command_of(command["id"]))["state"] == "sent"
    assert await lock_state(mc.machine_id) == "unlocked"  # not before the device says so
    [ack] = sim.take(mc.device_id)
    assert ack["type"] == "command_result" and ack["command_id"] == command["id"]
    answered = await deliver(ack)
    assert answered.status_code == 200, answered.text
    assert answered.json() == {"event_id": ack["event_id"], "applied": True, "outcome": "acknowledged"}
    detail = await command_of(command["id"])
    assert detail["state"] == "acknowledged"
    assert [(t["from_state"], t["to_state"]) for t in detail["transitions"]] == [
        (None, "queued"), ("queued", "sent"), ("sent", "acknowledged")]
    assert detail["transitions"][1]["answer"]["status"] == 200  # the provider's own answer, kept
    assert detail["transitions"][2]["answer"]["result"] == "acknowledged"
    assert await lock_state(mc.machine_id) == "locked"
    assert len(sim.deliveries(command["id"])) == 1
    assert await _device_events(db, mc.contract_id) == [("device_command.acknowledged", command["id"])]


async def test_a_refused_command_leaves_the_lock_state_an_expired_one_done_late_sets_it_and_both_tell_the_requester(
        db, org, machine_case, approved, gateway_in_use, sim, deliver, command_of, lock_state):
    mc = await machine_case()
    sim.device(mc.device_id, reject=True)
    refused = await approved(mc)
    await queue.drain(db)
    [answer] = sim.take(mc.device_id)
    assert answer["result"] == "failed"
    assert (await deliver(answer)).json()["outcome"] == "failed"
    assert (await command_of(refused["id"]))["state"] == "failed"
    assert await lock_state(mc.machine_id) == "unlocked"
    assert await _device_events(db, mc.contract_id) == [("device_command.failed", refused["id"])]

    sim.device(mc.device_id, reject=False, online=False)
    late = await approved(mc)
    await queue.drain(db)
    assert (await command_of(late["id"]))["state"] == "sent"
    assert await service.expire_due(db, utcnow() + timedelta(hours=23)) == {"expired": 0}
    assert await service.expire_due(db, utcnow() + timedelta(hours=25)) == {"expired": 1}
    assert await service.expire_due(db, utcnow() + timedelta(hours=26)) == {"expired": 0}  # once
    expired = await command_of(late["id"])
    assert expired["state"] == "expired" and expired["transitions"][-1]["from_state"] == "sent"
    sim.device(mc.device_id, online=True)  # the device comes back and executes it: late, but the machine locked
    [ack] = sim.take(mc.device_id)
    assert (await deliver(ack)).json()["outcome"] == "recorded_expired"
    assert await lock_state(mc.machine_id) == "locked"
    recorded = await command_of(late["id"])
    assert recorded["state"] == "expired" and any(  # the expiry above was dated a day ahead: not the last row
        "acknowledged after the command was expired" in (t["note"] or "") for t in recorded["transitions"])
    told = (await db.execute(select(Notification.kind).where(
        Notification.user_id == org.users["collector1"].id,
        Notification.entity_id.in_([refused["id"], late["id"], mc.machine_id])))).scalars().all()
    assert sorted(told) == ["device_command.expired", "device_command.failed", "device_command.late_acknowledgement"]


async def test_a_lock_waits_while_the_machine_moves_and_goes_when_it_stops(
        db, machine_case, approved, gateway_in_use, sim, deliver, command_of, lock_state):
    mc = await machine_case()
    sim.device(mc.device_id, speed_kmh=32.5, latitude=31.7, longitude=119.9)
    [moving] = sim.take(mc.device_id)
    assert (await deliver(moving)).json()["applied"] is True
    command = await approved(mc)
    await queue.drain(db)
    assert (await command_of(command["id"]))["state"] == "waiting_safe"
    assert sim.deliveries(command["id"]) == []
    [asked] = sim.take(mc.device_id)  # the held lock asked the device where it is: still moving
    assert asked["speed_kmh"] == 32.5 and (await deliver(asked)).json()["outcome"] == "applied"
    assert (await command_of(command["id"]))["state"] == "waiting_safe"
    sim.device(mc.device_id, speed_kmh=4.0)  # slow, but not above the 5 km/h limit
    [stopped] = sim.take(mc.device_id)
    assert (await deliver(stopped)).json()["outcome"] == "released 1"
    assert (await command_of(command["id"]))["state"] == "queued"
    await queue.drain(db)
    [ack] = sim.take(mc.device_id)
    await deliver(ack)
    detail = await command_of(command["id"])
    assert [t["to_state"] for t in detail["transitions"]] == ["queued", "waiting_safe", "queued", "sent",
                                                              "acknowledged"]
    assert await lock_state(mc.machine_id) == "locked"


async def test_an_offline_device_answers_202_and_acknowledges_when_it_connects(
        db, machine_case, approved, gateway_in_use, sim, deliver, command_of, lock_state):
    mc = await machine_case()
    sim.device(mc.device_id, online=False)
    command = await approved(mc, "unlock")
    await queue.drain(db)
    sent = await command_of(command["id"])
    assert sent["state"] == "sent" and sent["transitions"][-1]["answer"]["status"] == 202
    assert "offline" in sent["transitions"][-1]["note"]
    assert sim.take(mc.device_id) == []
    sim.device(mc.device_id, online=True)
    [ack] = sim.take(mc.device_id)
    await deliver(ack)
    assert (await command_of(command["id"]))["state"] == "acknowledged"
    assert await lock_state(mc.machine_id) == "unlocked"


class _DiesAfterSending:
    """A sender killed after the gateway accepted: the gateway has the command, our transaction dies."""

    def __init__(self, real: gateway.Gateway) -> None:
        self.real, self.calls = real, 0

    async def send(self, command: gateway.Outbound) -> gateway.Accepted:
        self.calls += 1
        accepted = await self.real.send(command)
        if self.calls == 1:
            raise ConnectionResetError("worker killed after the gateway accepted")
        return accepted


async def _due_now(db) -> None:
    await db.execute(text("UPDATE pgqueuer SET execute_after = clock_timestamp() WHERE entrypoint = 'device.send'"))


async def test_a_sender_killed_mid_delivery_and_restarted_delivers_exactly_once(
        db, machine_case, approved, sim, command_of):
    mc = await machine_case()
    dying = _DiesAfterSending(gateway.TraccarGateway(sim.url, "simulator", timeout=5))
    gateway.use(dying)
    try:
        command = await approved(mc)
        assert await queue.drain(db) == 1
        assert (await command_of(command["id"]))["state"] == "queued"  # the transaction died with the worker
        attempts = await db.scalar(text("SELECT attempts FROM pgqueuer WHERE entrypoint = 'device.send'"))
        assert attempts == 1  # re-queued durably, with a backoff
        await _due_now(db)
        assert await queue.drain(db) == 1
    finally:
        gateway.use(None)
    assert dying.calls == 2
    assert (await command_of(command["id"]))["state"] == "sent"
    assert len(sim.deliveries(command["id"])) == 1  # the gateway deduplicated our command id


async def test_transient_gateway_errors_retry_and_a_refusal_fails_at_once(
        db, machine_case, approved, gateway_in_use, sim, command_of):
    mc = await machine_case()
    sim.fail_next(503)
    command = await approved(mc)
    await queue.drain(db)
    assert (await command_of(command["id"]))["state"] == "queued"
    await _due_now(db)
    await queue.drain(db)
    assert (await command_of(command["id"]))["state"] == "sent"

    unknown = await approved(mc, "unlock")
    sim.fail_next(400)
    await queue.drain(db)
    refused = await command_of(unknown["id"])
    assert refused["state"] == "failed" and refused["transitions"][-1]["answer"]["status"] == 400


async def test_a_newer_command_supersedes_an_unsent_one(db, machine_case, approved, command_of):
    mc = await machine_case()
    lock = await approved(mc)  # not delivered yet
    unlock = await approved(mc, "unlock")
    older = await command_of(lock["id"])
    assert older["state"] == "cancelled" and unlock["id"] in older["transitions"][-1]["note"]
    assert (await command_of(unlock["id"]))["state"] == "queued"
    open_ = (await db.execute(select(DeviceCommand.id).where(
        DeviceCommand.machine_id == older["machine_id"], DeviceCommand.state.in_(("queued", "waiting_safe"))))).all()
    assert len(open_) == 1
