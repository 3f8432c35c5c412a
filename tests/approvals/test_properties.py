"""Property: random sequences of actions by random users never leave the state machine, never
apply the final effect twice, and never let a submitter approve (service level, on `db`)."""

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.approvals import conditions, flows, registry, service
from app.approvals import repository as repo
from app.approvals.models import (
    ApprovalAction,
    ApprovalAssignment,
    ApprovalInstance,
    AssignmentStatus,
    InstanceStatus,
    StepStatus,
)
from app.approvals.schemas import FlowCreate, StepIn
from app.core.errors import DomainError
from app.org.repository import load_principal

PROBE = "property_probe"
USERS = ["sales1", "sales1", "approver1", "approver1", "approver2", "approver2", "admin", "clerk1", "leader", "sales2"]
ACTIONS = ["approve", "approve", "approve", "reject", "withdraw", "urge", "transfer", "submit"]


class Probe:
    """A request type whose effects only count how often they ran."""

    def __init__(self) -> None:
        self.requests: dict[uuid.UUID, registry.Submission] = {}
        self.calls: dict[str, int] = {}

    async def load(self, session, request_id):  # noqa: ANN001, ANN201
        return self.requests.get(request_id)

    def effect(self, name: str):  # noqa: ANN201
        async def run(ctx: registry.EffectContext) -> None:
            self.calls[name] = self.calls.get(name, 0) + 1

        return run


@pytest.fixture(scope="module")
def probe():
    p = Probe()
    registry.register(registry.RequestType(
        name=PROBE, titles={"zh-CN": "探针", "en": "probe"}, fields={"amount": conditions.DECIMAL}, load=p.load,
        on_submitted=p.effect("submitted"), on_approved=p.effect("approved"), on_rejected=p.effect("rejected"),
        on_withdrawn=p.effect("withdrawn")))
    yield p
    registry.unregister(PROBE)


steps_strategy = st.lists(
    st.tuples(st.sampled_from(["l1", "l2", "pair", "admins", "manager"]), st.sampled_from(["any", "all"]),
              st.sampled_from([None, "amount > 1000", "amount <= 5000"])),
    min_size=1, max_size=3)
moves_strategy = st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(USERS), st.sampled_from(USERS)),
                          min_size=1, max_size=12)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(steps=steps_strategy, moves=moves_strategy, amount=st.sampled_from(["500.00", "3000.00", "9000.00"]))
async def test_random_actions_keep_the_invariants(db, org, probe, steps, moves, amount):
    rules = {
        "l1": {"kind": "role_in_company", "role_id": org.roles["approver_l1"].id},
        "l2": {"kind": "role_in_company", "role_id": org.roles["approver_l2"].id},
        "pair": {"kind": "users", "user_ids": [org.users["approver1"].id, org.users["approver2"].id]},
        "admins": {"kind": "administrators"},
        "manager": {"kind": "manager"},
    }
    savepoint = await db.begin_nested()
    try:
        people = {u: await load_principal(db, org.users[u].id) for u in USERS}
        submitter = people["sales1"]
        await flows.create_flow(db, people["admin"], FlowCreate(
            request_type=PROBE, name="p",
            steps=[StepIn(name=f"s{i}", rule=rules[r], mode=m, condition=c) for i, (r, m, c) in enumerate(steps)]))
        request_id = uuid.uuid4()
        probe.requests[request_id] = registry.Submission(
            group_id=org.group.id, company_id=org.companies["C01"].id, submitter_id=submitter.user_id,
            title="probe", snapshot={"amount": amount}, values={"amount": Decimal(amount)})
        probe.calls.clear()
        instance = await service.submit(db, submitter, PROBE, request_id)
        instance_id = instance.id

        for action, username, target in moves:
            actor = people[username]
            before = instance.status
            try:
                async with db.begin_nested():
                    if action == "submit":
                        await service.submit(db, actor if actor.user_id == submitter.user_id else submitter,
                                             PROBE, request_id)
                    else:
                        locked = await repo.get_instance(db, actor, instance_id, for_update=True)
                        if action == "approve":
                            await service.approve(db, actor, locked)
                        elif action == "reject":
                            await service.reject(db, actor, locked, reason="no")
                        elif action == "withdraw":
                            await service.withdraw(db, actor, locked)
                        elif action == "urge":
                            await service.urge(db, actor, locked)
                        else:
                            await service.transfer(db, actor, locked, to_user_id=people[target].user_id,
                                                   reason="away")
                succeeded = True
            except DomainError:
                succeeded = False
            instance = await db.scalar(select(ApprovalInstance).where(ApprovalInstance.id == instance_id)
                                       .execution_options(populate_existing=True))
            assert instance.status in InstanceStatus.CHOICES
            if succeeded:
                kind = "submit" if action == "submit" else action
                assert instance.status in service.TRANSITIONS[(before, kind)]
            else:
                assert instance.status == before
            await _check(db, instance, submitter.user_id, probe)
            event(f"{action} {'ok' if succeeded else 'refused'}")
        event(f"ended {instance.status}")
    finally:
        db.info.pop("audit_pending", None)
        await savepoint.rollback()


async def _check(db, instance: ApprovalInstance, submitter_id: uuid.UUID, probe: Probe) -> None:
    assert probe.calls.get("approved", 0) == (1 if instance.status == InstanceStatus.APPROVED else 0)
    assert (instance.effect_applied_at is not None) == (instance.status == InstanceStatus.APPROVED)
    assignments = (await db.scalars(select(ApprovalAssignment).where(ApprovalAssignment.instance_id == instance.id)
                                    .execution_options(populate_existing=True))).all()
    assert all(a.user_id != submitter_id for a in assignments)
    approvers = (await db.scalars(select(ApprovalAction.actor_id).where(ApprovalAction.instance_id == instance.id,
                                                                        ApprovalAction.action == "approve"))).all()
    assert submitter_id not in approvers
    pending = [a for a in assignments if a.status == AssignmentStatus.PENDING]
    if instance.status == InstanceStatus.PENDING:
        current = await repo.step(db, instance.current_step_id)
        assert current is not None and current.status == StepStatus.ACTIVE
        assert pending and all(a.step_id == current.id for a in pending)
    else:
        assert not pending and instance.current_step_id is None
