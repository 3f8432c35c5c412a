"""One handover moves everything a leaver holds, in every area (seed 001, 工作移交).

The leaver of the first test holds one of everything every hook moves (checked before the
handover, so a new hook without a row here fails) and nothing in their name afterwards.
The generic test: every column that names a user is either moved by a registered handover hook
(`register_handover_hook(..., covers=...)`) or kept on purpose with a reason on its model
(`__handover_kept__`). A new area with a user column and no decision fails here."""

import re
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, update

from app import domains  # noqa: F401 - every area's models and hooks
from app.approvals import requests as kit
from app.approvals.models import ApprovalAssignment
from app.collection.models import CollectionCase
from app.contracts.models import Contract, ContractMachine, Investigation, ShipmentRequest
from app.core.db import Base
from app.customers.models import CustomerShare
from app.devices.models import LockRequest, UnlockRequest
from app.org.handover import covered_columns, holdings
from app.requests.models import GpsFeeRequest, InterestWaiver, SettlementRequest
from app.towing.models import TowRequest, TowTask
from app.webhooks.models import WebhookSubscription
from tests.approvals.conftest import submit_expense, users_rule  # noqa: F401 - the engine's fixtures
from tests.collection.conftest import overdue_case  # noqa: F401 - a contract shipped, its case open
from tests.customers.helpers import create_customer
from tests.ledger.conftest import (  # noqa: F401 - the fixtures overdue_case builds on
    act,
    approval_of,
    business_date,
    flows,
    make_flow,
    new_contract,
    shipped,
)

LEAVER, RECEIVER = "sales1", "approver2"  # the receiver may approve: the leaver's waiting step is theirs

# A column "names a user" when it references app_user, or when its name says so (a user column
# without a foreign key, like the field sync's change feed).
USER_COLUMN = re.compile(r"(^|_)(user|owner|salesperson|collector|investigator|assignee|requester|submitter"
                         r"|clerk|author|engineer|approver)(_id)?$")


def _kept_on_handover() -> dict[str, str]:
    kept: dict[str, str] = {}
    for mapper in Base.registry.mappers:
        for cls in reversed(mapper.class_.__mro__):  # a mixin's decisions hold for every table using it
            for column, why in vars(cls).get("__handover_kept__", {}).items():
                kept[f"{mapper.local_table.name}.{column}"] = why
    return kept


def _user_columns() -> list[str]:
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            references_user = any(fk.column.table.name == "app_user" and fk.column.name == "id"
                                  for fk in column.foreign_keys)
            if references_user or (column.name != "id" and USER_COLUMN.search(column.name)):
                found.append(f"{table.name}.{column.name}")
    return found


def test_every_user_column_is_moved_by_a_handover_hook_or_kept_on_purpose():
    covered, kept = covered_columns(), _kept_on_handover()
    undecided = [c for c in _user_columns() if c not in covered and c not in kept]
    assert undecided == [], ("these columns name a user but no handover hook moves them and their model does "
                             f"not keep them on purpose (__handover_kept__): {undecided}")
    both = sorted(set(covered) & set(kept))
    assert both == [], f"moved by a hook and declared kept at once: {both}"
    assert all(why.strip() for why in kept.values())


def test_every_hook_covers_real_user_columns():
    columns = set(_user_columns())
    assert set(covered_columns()) <= columns


async def _held(db, user_id: uuid.UUID) -> dict[str, int]:
    """Per hook and column, the rows still held by the user (the hook's own condition)."""
    counts = {}
    for h in holdings():
        stmt = select(func.count()).select_from(h.column.table).where(h.column == user_id)
        counts[f"{h.hook}: {h.name}"] = await db.scalar(stmt if h.held is None else stmt.where(h.held))
    return counts


def _request_rows(kinds: set[str], base: dict, contract: Contract, draft_id: uuid.UUID, machine_id: uuid.UUID):
    """A draft of every request kind the API did not already give the leaver."""
    on = {"contract_id": contract.id}
    build = {
        "interest_waiver": lambda: InterestWaiver(**base, **on, amount=Decimal("1.00"), reason="交接", dpd=10,
                                                  unpaid_penalty=Decimal("5.00"), bucket="M1"),
        "settlement_request": lambda: SettlementRequest(**base, **on),
        "gps_fee_request": lambda: GpsFeeRequest(**base, **on, kind="renewal", machine_id=machine_id,
                                                 period_from=date(2026, 1, 1), period_to=date(2026, 12, 31),
                                                 amount=Decimal("800.00")),
        "tow_request": lambda: TowRequest(**base, **on, machine_id=machine_id, reason="交接", location="工地",
                                            dpd=90, bucket="M3", overdue_amount=Decimal("1.00"), min_dpd=60),
        "lock_request": lambda: LockRequest(**base, **on, machine_id=machine_id, reason="交接"),
        "unlock_request": lambda: UnlockRequest(**base, **on, machine_id=machine_id, reason="交接"),
        "shipment_request": lambda: ShipmentRequest(**base, contract_id=draft_id, contract_number="HT-T",
                                                    financed=Decimal("1.00"), planned_date=date(2026, 3, 1)),
    }
    missing = kinds - set(build) - {"expense_request", "contract"}  # those two come from the API
    assert not missing, f"a request kind this test cannot file yet: {missing}"
    return {name: build[name]() for name in kinds if name in build}


async def test_a_handover_leaves_nothing_in_the_leavers_name_in_any_area(  # noqa: PLR0913 - the areas' fixtures
        client, auth, org, db, overdue_case, new_contract, make_flow, submit_expense):  # noqa: F811
    leaver, receiver = org.users[LEAVER], org.users[RECEIVER]
    # Through the API: an active contract (sold by the leaver) with an open case, a draft contract
    # with its customer and contact, an expense the leaver submitted and one waiting on them.
    case = await overdue_case()
    draft = await new_contract()
    await make_flow([{"name": "L1", "rule": users_rule(org, "approver1")}])
    _, waiting = await submit_expense(user="clerk1")
    await submit_expense(user=LEAVER)  # the leaver's own, pending

    # Directly: the rest of what a person can hold, each naming the leaver.
    contract = await db.get(Contract, case.contract_id)
    machine_id = await db.scalar(select(ContractMachine.machine_id).where(ContractMachine.contract_id == contract.id))
    base = {"group_id": org.group.id, "company_id": contract.company_id, "requester_id": leaver.id}
    # A salesperson's scope approves nothing: the step waits on the leaver as if transferred to them.
    await db.execute(update(ApprovalAssignment).where(ApprovalAssignment.instance_id == uuid.UUID(waiting["id"]),
                                                      ApprovalAssignment.status == "pending")
                     .values(user_id=leaver.id))
    await db.execute(update(CollectionCase).where(CollectionCase.id == case.id).values(collector_id=leaver.id))
    await db.execute(update(Contract).where(Contract.id == contract.id).values(clerk_id=leaver.id))
    kinds = {k.model.__tablename__ for k in kit.kinds().values()}
    requests = _request_rows(kinds, base, contract, uuid.UUID(draft["id"]), machine_id)
    db.add_all(requests.values())
    await db.flush()
    db.add(TowTask(group_id=org.group.id, company_id=contract.company_id, contract_id=contract.id,
                   machine_id=machine_id, request_id=requests["tow_request"].id, state="assigned",
                   assignee_id=leaver.id))
    db.add(Investigation(group_id=org.group.id, company_id=contract.company_id, contract_id=uuid.UUID(draft["id"]),
                         state="dispatched", investigator_id=leaver.id))
    colleagues = await create_customer(client, auth, "sales2")
    db.add(CustomerShare(customer_id=uuid.UUID(colleagues["id"]), user_id=leaver.id, can_edit=True))
    db.add(WebhookSubscription(group_id=org.group.id, owner_id=leaver.id, url="https://erp.example.com/hooks",
                               event_types=["contract.activated"], secret="whsec_" + "x" * 32))
    await db.flush()

    before = await _held(db, leaver.id)
    assert [k for k, n in before.items() if n == 0] == [], "the leaver must hold one of everything"

    response = await client.post("/api/v1/handovers", headers=auth("admin"), json={
        "from_user_id": str(leaver.id), "to_user_id": str(receiver.id), "lock_from_user": True})
    assert response.status_code == 201, response.text
    moved = response.json()["moved"]
    assert all(moved[hook] > 0 for hook in {h.hook for h in holdings()}), moved

    db.expire_all()
    assert {k: n for k, n in (await _held(db, leaver.id)).items() if n} == {}
    after = await _held(db, receiver.id)
    assert all(after[k] >= n for k, n in before.items()), after
