"""The case timeline shows the requests on its contract and the device commands (issue 25, item 18):
each waiver, tow, settlement, lock and unlock once submitted, with where it stands, and each lock or
unlock command with its state; money in `detail` as decimal strings. The phone's case shows them in
`activity`; its `recent` keeps to the kinds the released field contract knows."""

import json
import uuid
from typing import get_args

from app.collection.schemas import RELEASED_TIMELINE_KINDS, ReleasedTimelineEvent
from app.core.config import PROJECT_ROOT
from tests.field.conftest import MOBILE
from tests.field.request_bodies import prepared

PHONE_KINDS = {"create_field_request_interest_waiver": "waiver", "create_field_request_tow": "tow",
               "create_field_request_settlement": "settlement", "create_field_request_lock": "lock",
               "create_field_request_unlock": "unlock"}


async def test_requests_and_device_commands_of_the_contract_are_on_the_case_timeline(
        client, auth, org, make_flow, open_case, act):
    case = await open_case()
    filed: dict[str, dict] = {}
    for number, (operation, kind) in enumerate(PHONE_KINDS.items()):
        url, user, body, _ = await prepared(client, auth, org, make_flow, case, operation, flows=number == 0)
        response = await client.post(url, headers=auth(user), json={**body, "client_ref": str(uuid.uuid4())})
        assert response.status_code == 201, response.text
        filed[kind] = response.json()
    draft = await client.post("/api/v1/interest-waivers", headers=auth("collector1"), json={
        "contract_id": str(case.contract_id), "amount": "1.00", "reason": "草稿"})
    assert draft.status_code == 201, draft.text
    assert (await act("approver1", filed["lock"]["approval_id"], "approve", {})).status_code == 200

    timeline = await client.get(f"/api/v1/collection-cases/{case.id}/timeline", headers=auth("collector1"))
    assert timeline.status_code == 200, timeline.text
    events = {(e["kind"], e["id"]): e for e in timeline.json()["items"]}
    for kind, request in filed.items():
        assert events[(kind, request["id"])]["detail"]["status"] == ("approved" if kind == "lock" else "pending")
    assert ("waiver", draft.json()["id"]) not in events  # a draft is its requester's own
    assert events[("waiver", filed["waiver"]["id"])]["detail"]["amount"] == "1.00"
    assert events[("settlement", filed["settlement"]["id"])]["detail"]["payoff_at_submission"].count(".") == 1
    [command] = [e for (kind, _), e in events.items() if kind == "device_command"]
    assert command["detail"]["request_id"] == filed["lock"]["id"] and command["detail"]["action"] == "lock"
    assert command["detail"]["state"] in ("queued", "waiting_safe", "sent")

    phone = (await client.get(f"{MOBILE}/cases/{case.id}", headers=auth("collector1"))).json()
    assert {e["kind"] for e in phone["activity"]} >= {*PHONE_KINDS.values(), "device_command"}
    assert {e["kind"] for e in phone["recent"]} <= set(RELEASED_TIMELINE_KINDS)


def test_the_phones_recent_list_keeps_to_the_kinds_of_the_released_contract():
    released = json.loads((PROJECT_ROOT / "openapi/mobile-v1.released.json").read_text())
    kinds = released["components"]["schemas"]["TimelineEvent"]["properties"]["kind"]["enum"]
    assert tuple(kinds) == RELEASED_TIMELINE_KINDS == get_args(ReleasedTimelineEvent.model_fields["kind"].annotation)

