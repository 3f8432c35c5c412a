"""The money requests' tests file their requests on contracts made overdue the way production does
(tests/collection/conftest.py's `overdue_case`), with flows made through the API."""

import pytest

from tests.approvals.conftest import role_rule, users_rule
from tests.collection.conftest import (  # noqa: F401 - the collections and ledger fixtures
    EXAMPLE_TERMS,
    act,
    approval_of,
    business_date,
    flows,
    make_flow,
    new_contract,
    overdue_case,
    shipped,
)

WAIVERS = "/api/v1/interest-waivers"
SETTLEMENTS = "/api/v1/settlement-requests"
GPS_FEES = "/api/v1/gps-fees"


@pytest.fixture
def request_flows(make_flow, org):  # noqa: F811 - the engine's fixture
    """Seed 000's example for waivers: ≤ ¥1 000 L1; ≤ ¥10 000 L1 + L2; above, the leader as well.
    Settlements and GPS fees: L1 then L2."""

    async def make() -> None:
        await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")},
                         {"name": "L2", "rule": role_rule(org, "approver_l2"), "condition": "amount > 1000"},
                         {"name": "leader", "rule": users_rule(org, "leader"), "condition": "amount > 10000"}],
                        request_type="interest_waiver")
        for kind in ("settlement_request", "gps_fee"):
            await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")},
                             {"name": "L2", "rule": role_rule(org, "approver_l2")}], request_type=kind)

    return make
