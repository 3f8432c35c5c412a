"""A client_ref names one upload: the same reference with the same body answers the stored record
(200), with another body 409 `request.conflicting_retry` naming the stored record (issue 25, item
7: the phone believed a 2.00 waiver was filed when 1.00 was). Over every create operation of both
documents that takes a `client_ref`, so a new request kind is refused here until it has a body."""

import uuid

import pytest

from app.approvals.requests import kinds
from tests.field.request_bodies import FLOW_KINDS, OPERATIONS, bodies, other, prepared


def test_every_create_operation_taking_a_client_ref_has_a_body_here():
    assert set(OPERATIONS) == {"create_contract", *bodies("", "")}
    assert set(FLOW_KINDS) | {"contract", "shipment"} == set(kinds())


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_a_client_ref_sent_again_answers_its_record_with_the_same_body_and_409_with_another(
        client, auth, org, make_flow, open_case, operation):
    url, user, body, field = await prepared(client, auth, org, make_flow, await open_case(), operation)
    body = {**body, "client_ref": str(uuid.uuid4())}

    first = await client.post(url, headers=auth(user), json=body)
    again = await client.post(url, headers=auth(user), json=body)
    changed = await client.post(url, headers=auth(user), json={**body, field: other(field, body[field])})

    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"], again.text
    assert changed.status_code == 409, changed.text
    assert changed.json()["code"] == "request.conflicting_retry" and changed.json()["id"] == first.json()["id"]
    # The refused upload changed nothing: the first body still finds its record.
    last = await client.post(url, headers=auth(user), json=body)
    assert last.status_code == 200 and last.json()["id"] == first.json()["id"], last.text
