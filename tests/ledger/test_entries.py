"""Stored ledger entries replay to exactly the figures of the money rules; the table is append-only."""

import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.core.config import get_settings
from app.ledger import entries as ledger_entries
from app.ledger import rules
from app.ledger.models import EntryKind, LedgerEntry
from tests.ledger.test_rules import EXAMPLE, TODAY, build_history, history

D = Decimal
NAMESPACE = uuid.UUID("9b0a2a4e-2f1c-4d7e-9a51-0f6b5d3c1e77")


def uid(key: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, key)


def with_uuid_ids(facts):
    """The facts under the ids their entries get (entry ids are UUIDs)."""
    renamed = []
    for f in facts:
        f = replace(f, id=str(uid(f.id)))
        renamed.append(replace(f, reverses=str(uid(f.reverses))) if isinstance(f, rules.Reversal) else f)
    return renamed


def entries_for(schedule, facts, **ids) -> list[LedgerEntry]:
    """The entries a contract would hold for `schedule` and `facts`, in recorded order (fact `x` is
    entry `uid(x)`, so they replay like `with_uuid_ids(facts)`)."""
    rows: list[LedgerEntry] = []

    def add(kind, amount, value_date, key, **fields):
        rows.append(LedgerEntry(id=uid(key), seq=len(rows) + 1, kind=kind, amount=amount, value_date=value_date,
                                component=fields.pop("component", None), instalment_number=fields.pop("number", None),
                                charge_kind=fields.pop("charge_kind", None), reverses_id=fields.pop("reverses", None),
                                method=fields.pop("method", None), **ids))

    for i in schedule:
        add(EntryKind.INSTALMENT_DUE, i.principal, i.due_date, f"i{i.number}p", component="principal", number=i.number)
        add(EntryKind.INSTALMENT_DUE, i.interest, i.due_date, f"i{i.number}i", component="interest", number=i.number)
    for f in facts:
        if isinstance(f, rules.Charge):
            add(EntryKind.CHARGE, f.amount, f.due_date, f.id, component="fee", charge_kind="gps_fee")
        elif isinstance(f, rules.Reversal):
            add(EntryKind.REVERSAL, D("0"), TODAY, f.id, reverses=uid(f.reverses))
        elif isinstance(f, rules.Settlement):
            add(EntryKind.SETTLEMENT, D("0"), f.value_date, f.id)
        else:
            add(EntryKind.PAYMENT if isinstance(f, rules.Payment) else EntryKind.WAIVER, f.amount, f.value_date, f.id,
                method="bank_transfer" if isinstance(f, rules.Payment) else None)
    return rows


def test_the_worked_example_replays_from_entries():
    facts = [rules.Payment("p", date(2026, 2, 10), D("34588.67"))]
    stored = entries_for(EXAMPLE, facts)
    assert ledger_entries.schedule_of(stored) == EXAMPLE
    unpaid = ledger_entries.replay(stored[:-1], through=date(2026, 2, 10))
    assert rules.payoff(unpaid) == D("402162.10")
    paid = ledger_entries.replay(stored, through=date(2026, 2, 10))
    first = next(i for i in paid.items if i.key == rules.instalment_key(1))
    assert all(a.unpaid == 0 for a in first.components.values())


@settings(max_examples=100, deadline=None)
@given(history)
def test_replaying_entries_equals_the_rules_replay_of_the_same_facts_in_any_storage_order(h):
    schedule, policy, ops = h
    facts = build_history(schedule, policy, ops)
    stored = entries_for(schedule, facts)
    expected = rules.replay(schedule, with_uuid_ids(facts), through=TODAY, policy=policy)
    assert ledger_entries.replay(stored, through=TODAY, policy=policy) == expected
    assert ledger_entries.replay(stored[::-1], through=TODAY, policy=policy) == expected  # seq decides


def test_posted_penalty_plus_the_adjustments_equals_the_rule():
    late = [rules.Payment("p", date(2026, 2, 5), D("20000.00"))]
    before = entries_for(EXAMPLE, [])
    posted = rules.penalty_by_day(rules.replay(EXAMPLE, [], through=date(2026, 2, 10)))
    for n, ((number, day), amount) in enumerate(sorted(posted.items())):
        before.append(LedgerEntry(id=uid(f"pen{n}"), seq=1000 + n, kind=EntryKind.PENALTY, amount=amount,
                                  value_date=day, instalment_number=number, component="penalty"))
    after = before + entries_for(EXAMPLE, late)[-1:]
    adjustments = ledger_entries.penalty_adjustments(after, through=date(2026, 2, 10))
    # The payment pays 5 days of penalty (81.05), the interest (2 000.00) and 17 918.95 of principal:
    # from 6 February 14 507.62 is unpaid, 7.25 a day instead of 16.21.
    assert D("32426.57") - (D("20000.00") - 5 * D("16.21") - D("2000.00")) == D("14507.62")
    assert adjustments == {(1, date(2026, 2, d)): D("7.25") - D("16.21") for d in range(6, 11)}


# --- the table ----------------------------------------------------------------------------------

@pytest.fixture
async def a_contract(new_contract, org) -> dict:
    contract = await new_contract()
    return {"contract_id": uuid.UUID(contract["id"]), "group_id": org.group.id,
            "company_id": uuid.UUID(contract["company_id"])}


async def _store(session, facts, ids: dict) -> list[LedgerEntry]:
    rows = entries_for(EXAMPLE, facts, **ids)
    for entry in rows:
        entry.seq = None  # the database numbers them in the order they are inserted
        session.add(entry)
        await session.flush()
    return rows


async def test_stored_entries_read_back_in_recorded_order_replay_to_the_same_state(db, a_contract):
    facts = [rules.Payment("p1", date(2026, 2, 10), D("10000.00")), rules.Waiver("w", date(2026, 2, 10), D("50.00")),
             rules.Payment("p2", date(2026, 2, 10), D("5000.00")), rules.Reversal("r", "p1")]
    await _store(db, facts, a_contract)
    db.expunge_all()
    stored = (await db.scalars(select(LedgerEntry).where(LedgerEntry.contract_id == a_contract["contract_id"]))).all()
    assert ledger_entries.replay(stored, through=date(2026, 3, 1)) == rules.replay(
        EXAMPLE, with_uuid_ids(facts), through=date(2026, 3, 1))


async def test_the_app_role_may_not_update_delete_or_truncate_ledger_entries(db, a_contract):
    assert await db.scalar(text("SELECT current_user")) == get_settings().database_app_role
    await _store(db, [], a_contract)
    for statement in ("UPDATE ledger_entry SET amount = amount + 1", "DELETE FROM ledger_entry",
                      "TRUNCATE ledger_entry CASCADE"):  # CASCADE: ledger_item points at charges
        with pytest.raises(DBAPIError, match="permission denied"):
            async with db.begin_nested():
                await db.execute(text(statement))


async def test_the_table_refuses_updates_and_deletes_even_to_its_owner(owner_db):
    # The trigger is under test, not the foreign keys: rows for a contract that is not there, inserted
    # with triggers (foreign keys included) off, then the owner tries to rewrite them with triggers on.
    await owner_db.execute(text("SET LOCAL session_replication_role = replica"))
    await _store(owner_db, [], {"contract_id": uuid.uuid4(), "group_id": uuid.uuid4(), "company_id": uuid.uuid4()})
    await owner_db.execute(text("SET LOCAL session_replication_role = DEFAULT"))
    for statement in ("UPDATE ledger_entry SET amount = amount + 1", "DELETE FROM ledger_entry",
                      "TRUNCATE ledger_entry CASCADE"):  # CASCADE: ledger_item points at charges
        with pytest.raises(DBAPIError, match="append-only"):
            async with owner_db.begin_nested():
                await owner_db.execute(text(statement))


async def test_a_fact_is_reversed_at_most_once_and_only_a_reversal_points_at_one(db, a_contract):
    rows = await _store(db, [rules.Payment("p", date(2026, 2, 10), D("100.00"))], a_contract)
    base = {"contract_id": rows[0].contract_id, "group_id": rows[0].group_id, "company_id": rows[0].company_id,
            "amount": D("0"), "value_date": date(2026, 2, 11)}
    db.add(LedgerEntry(kind=EntryKind.REVERSAL, reverses_id=rows[-1].id, **base))
    await db.flush()
    for entry in (LedgerEntry(kind=EntryKind.REVERSAL, reverses_id=rows[-1].id, **base),
                  LedgerEntry(kind=EntryKind.PAYMENT, method="cash", reverses_id=rows[0].id, **base),
                  LedgerEntry(kind=EntryKind.PAYMENT, method="cash", **{**base, "amount": D("-1.00")}),
                  LedgerEntry(kind=EntryKind.PAYMENT, **{**base, "amount": D("1.00")})):  # no method
        with pytest.raises(DBAPIError):
            async with db.begin_nested():
                db.add(entry)
                await db.flush()
