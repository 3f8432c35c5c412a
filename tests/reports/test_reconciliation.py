"""Every figure of every report equals a sum computed here, in Python, over the ledger (a replay of
each contract's entries, or its standing entries) and over the cases, logs, promises, contracts and
customers' history of the generated demo history (conftest: seeded once per module)."""

import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.collection.models import CollectionCase, CollectionLog, PromiseToPay
from app.contracts.models import Contract
from app.customers.models import CustomerActivity
from app.ledger import entries as ledger_entries
from app.ledger import service as ledger
from app.ledger.calendar import business_today
from app.ledger.models import EntryKind, LedgerEntry
from app.org import repository as org_repo
from app.reports.repository import SIGNED_STATES

ZERO = Decimal("0.00")


async def _today(db, org) -> date:
    return await business_today(db, org.companies["C01"].id)


def _month_end_before(day: date) -> date:
    return day.replace(day=1) - timedelta(days=1)


async def _replayed(db, day: date) -> dict[uuid.UUID, dict[str, Any]]:
    """Each shipped contract still open on `day`: its figures from a replay of its entries through the day."""
    contracts = (await db.scalars(select(Contract).where(Contract.shipment_date.is_not(None),
                                                         Contract.shipment_date <= day))).all()
    entries: dict[uuid.UUID, list[LedgerEntry]] = defaultdict(list)
    for e in (await db.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))).all():
        entries[e.contract_id].append(e)
    figures = {}
    for c in contracts:
        mine = entries[c.id]
        if not mine or any(e.kind == EntryKind.SETTLEMENT and e.value_date <= day and not any(
                r.reverses_id == e.id for r in mine) for e in mine):
            continue
        state = ledger_entries.replay(mine, through=day, policy=ledger.policy_of(c))
        figures[c.id] = {**ledger.account_figures(state), "company_id": c.company_id, "owner_id": c.owner_id}
    return figures


def _aging_sums(figures: dict[uuid.UUID, dict[str, Any]], key_of: Any) -> dict[tuple, tuple]:
    sums: dict[tuple, list] = defaultdict(lambda: [0, ZERO, ZERO])
    for cid, f in figures.items():
        s = sums[(f["company_id"], key_of(cid, f), f["bucket"])]
        s[0] += 1
        s[1] += f["outstanding_principal"]
        s[2] += f["overdue_amount"]
    return {k: tuple(v) for k, v in sums.items()}


def _api_aging(rows: list[dict]) -> dict[tuple, tuple]:
    return {(uuid.UUID(r["company_id"]), r["key_id"] and uuid.UUID(r["key_id"]), r["bucket"]):
            (r["contracts"], Decimal(r["outstanding_principal"]), Decimal(r["overdue_amount"])) for r in rows}


async def test_aging_by_company_collector_and_salesperson_equals_the_ledgers_replay(client, auth, db, org):
    today = await _today(db, org)
    figures = await _replayed(db, today)
    assert len({f["bucket"] for f in figures.values()}) == 5  # the history has every bucket
    holders = {c.contract_id: c.collector_id for c in (await db.scalars(
        select(CollectionCase).where(CollectionCase.state == "open"))).all()}
    keys = {"company": lambda cid, f: None, "collector": lambda cid, f: holders.get(cid),
            "salesperson": lambda cid, f: f["owner_id"]}
    for by, key_of in keys.items():
        r = await client.get(f"/api/v1/reports/aging?by={by}", headers=auth("admin"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["as_of"] == today.isoformat() and body["source"] == "accounts"
        assert _api_aging(body["rows"]) == _aging_sums(figures, key_of), by
        total = {t["bucket"]: t["contracts"] for t in body["totals"]}
        assert total == dict(Counter(f["bucket"] for f in figures.values())) | {
            b: 0 for b in total if b not in {f["bucket"] for f in figures.values()}}


async def test_aging_of_a_past_month_end_reads_its_snapshot_and_equals_the_replay_through_it(client, auth, db, org):
    month_end = (await _today(db, org)).replace(day=1) - timedelta(days=1)
    r = await client.get(f"/api/v1/reports/aging?as_of={month_end}", headers=auth("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "snapshot"
    assert _api_aging(r.json()["rows"]) == _aging_sums(await _replayed(db, month_end), lambda cid, f: None)


async def test_roll_rates_matrix_and_series_equal_the_buckets_replayed_at_both_month_ends(client, auth, db, org):
    r = await client.get("/api/v1/reports/roll-rates?months=3", headers=auth("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    start, end = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
    today = await _today(db, org)
    last_closed = today if (today + timedelta(days=1)).day == 1 else _month_end_before(today)  # a month end: itself
    assert end == last_closed and start == _month_end_before(end)
    before, after = await _replayed(db, start), await _replayed(db, end)
    cells: dict[tuple, list] = defaultdict(lambda: [0, ZERO])
    for cid, f in before.items():
        cell = cells[(f["bucket"], after[cid]["bucket"] if cid in after else "closed")]
        cell[0] += 1
        cell[1] += f["outstanding_principal"]
    got = {(c["from_bucket"], c["to_bucket"]): [c["contracts"], Decimal(c["outstanding_principal"])]
           for c in body["matrix"]}
    assert got == dict(cells)
    for c in body["matrix"]:
        assert c["share"] == round(c["contracts"] / sum(n for (f, _), (n, _) in cells.items()
                                                        if f == c["from_bucket"]), 4)
    assert any(f != t for f, t in got)  # the history rolls
    series = {(p["month_end"], p["bucket"]): p["contracts"] for p in body["series"]}
    assert {p["month_end"] for p in body["series"]} == {d.isoformat() for d in (end, start, _month_end_before(start))}
    assert {b: n for (m, b), n in series.items() if m == end.isoformat()} == dict(
        Counter(f["bucket"] for f in after.values()))


async def _performance(db, org, start: date, end: date) -> dict[uuid.UUID, dict[str, Any]]:
    """What the collector performance report says, from the rows themselves."""
    zones = {cid: tz for cid, (_, tz) in (await org_repo.company_zones(db)).items()}
    cases = [c for c in (await db.scalars(select(CollectionCase).where(CollectionCase.collector_id.is_not(None)))).all()
             if c.opened_on <= end and (c.closed_on is None or c.closed_on >= start)]
    logs = (await db.scalars(select(CollectionLog).where(CollectionLog.voided_at.is_(None)))).all()
    promises = (await db.scalars(select(PromiseToPay))).all()
    entries = (await db.scalars(select(LedgerEntry))).all()
    reversed_ids = {e.reverses_id for e in entries if e.reverses_id is not None}
    standing = [e for e in entries if e.kind != EntryKind.REVERSAL and e.id not in reversed_ids]
    out: dict[uuid.UUID, dict[str, Any]] = defaultdict(lambda: defaultdict(lambda: 0))
    days: dict[uuid.UUID, list[float]] = defaultdict(list)
    for c in cases:
        row = out[c.collector_id]
        row["cases_held"] += 1
        mine = [g for g in logs if g.case_id == c.id and g.author_id == c.collector_id]
        in_period = [g for g in mine if start <= g.occurred_at.astimezone(zones[g.company_id]).date() <= end]
        row["cases_contacted"] += bool(in_period)
        row["calls"] += sum(g.action == "call" for g in in_period)
        row["visits"] += sum(g.action == "visit" for g in in_period)
        first = min((g.occurred_at for g in mine if g.occurred_at >= c.assigned_at), default=None)
        if first is not None and start <= c.assigned_at.astimezone(zones[c.company_id]).date() <= end:
            days[c.collector_id].append((first - c.assigned_at).total_seconds() / 86400)
        ours = [p for p in promises if p.case_id == c.id and p.collector_id == c.collector_id]
        row["promises_made"] += sum(start <= p.created_on <= end for p in ours)
        for state in ("kept", "broken"):
            row[f"promises_{state}"] += sum(p.state == state and start <= p.judged_on <= end for p in ours)
        # README, "Collector KPIs": the base at the moment of assignment, the payments after it.
        assigned_on = c.assigned_at.astimezone(zones[c.company_id]).date()

        def before(e: LedgerEntry, c: CollectionCase = c, assigned_on: date = assigned_on) -> bool:
            return e.value_date < assigned_on or (e.value_date == assigned_on and e.recorded_at <= c.assigned_at)

        owed = ZERO
        for e in standing:
            if e.contract_id != c.contract_id:
                continue
            if e.kind in (EntryKind.INSTALMENT_DUE, EntryKind.CHARGE) and e.value_date < assigned_on:
                owed += e.amount
            elif e.kind == EntryKind.PENALTY and e.value_date <= assigned_on:
                owed += e.amount
            elif e.kind in (EntryKind.PAYMENT, EntryKind.WAIVER) and before(e):
                owed -= e.amount
        base = max(owed, ZERO)
        last = min(end, c.closed_on or end)
        after = [e.amount for e in standing if e.contract_id == c.contract_id and e.kind == EntryKind.PAYMENT
                 and not before(e) and e.value_date <= last]
        through_end = sum(after, ZERO)
        before_start = sum((e.amount for e in standing if e.contract_id == c.contract_id
                            and e.kind == EntryKind.PAYMENT and not before(e) and e.value_date < start), ZERO)
        row["collected"] += through_end - before_start
        row["recovered"] += min(through_end, base) - min(before_start, base)
        row["overdue_at_assignment"] += base
    for collector, values in days.items():
        out[collector]["days_to_first_contact"] = round(sum(values) / len(values), 1)
    return out


async def test_collector_performance_equals_sums_over_cases_logs_promises_and_the_ledger(client, auth, db, org):
    today = await _today(db, org)
    start = today - timedelta(days=40)
    # The demo assigns its cases today, after their backdated logs: assign them on the day they
    # opened instead, so first contacts and overdue at assignment have history to count.
    zones = await org_repo.company_zones(db)
    for case in (await db.scalars(select(CollectionCase).where(CollectionCase.collector_id.is_not(None)))).all():
        case.assigned_at = datetime.combine(max(case.opened_on, today - timedelta(days=30)), time(8),
                                            zones[case.company_id][1])
    await db.flush()
    r = await client.get(f"/api/v1/reports/collector-performance?from={start}&to={today}", headers=auth("admin"))
    assert r.status_code == 200, r.text
    expected = await _performance(db, org, start, today)
    got = {uuid.UUID(row["collector_id"]): row for row in r.json()["rows"]}
    assert set(got) == set(expected) == {org.users[u].id for u in ("collector1", "collector2", "collector3")}
    for collector, want in expected.items():
        row = got[collector]
        for name in ("cases_held", "cases_contacted", "calls", "visits", "promises_made", "promises_kept",
                     "promises_broken"):
            assert row[name] == want[name], (name, row, dict(want))
        for name in ("collected", "recovered", "overdue_at_assignment"):
            assert Decimal(row[name]) == want[name], (name, row, dict(want))
        assert row["days_to_first_contact"] == want.get("days_to_first_contact")
        decided = want["promises_kept"] + want["promises_broken"]
        assert row["kept_rate"] == (round(want["promises_kept"] / decided, 4) if decided else None)
        assert row["recovery_rate"] == (round(float(want["recovered"]) / float(want["overdue_at_assignment"]), 4)
                                        if want["overdue_at_assignment"] else None)
        assert row["recovery_rate"] is None or 0 <= row["recovery_rate"] <= 1
    assert sum(row["calls"] + row["visits"] for row in got.values()) > 0
    assert all(row["days_to_first_contact"] is not None for row in got.values())
    assert any(Decimal(row["collected"]) > 0 for row in got.values())


async def test_promises_morning_list_counts_the_promises_due_and_broken_by_collector(client, auth, db, org):
    broken = (await db.scalars(select(PromiseToPay).where(PromiseToPay.state == "broken"))).all()
    assert broken
    day = broken[0].promised_date + timedelta(days=1)
    r = await client.get(f"/api/v1/reports/promises?date={day}", headers=auth("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    every = (await db.scalars(select(PromiseToPay))).all()
    due = [p for p in every if p.promised_date == day and p.state != "superseded"]
    gone = [p for p in every if p.promised_date == day - timedelta(days=1) and p.state == "broken"]
    want: dict[str, dict[str, Any]] = defaultdict(lambda: {"due_today": 0, "due_today_amount": ZERO,
                                                           "broken_yesterday": 0, "broken_yesterday_amount": ZERO})
    for kind, promises in (("due_today", due), ("broken_yesterday", gone)):
        for p in promises:
            want[str(p.collector_id)][kind] += 1
            want[str(p.collector_id)][f"{kind}_amount"] += p.amount
    got = {c["collector_id"]: {k: (Decimal(v) if k.endswith("amount") else v) for k, v in c.items()
                               if k not in ("collector_id", "collector_name")} for c in body["by_collector"]}
    assert got == want and got
    assert sorted(i["promise_id"] for i in body["items"]) == sorted(str(p.id) for p in due + gone)
    assert body["truncated"] is False
    r = await client.get(f"/api/v1/reports/promises?date={day}&limit=1", headers=auth("admin"))
    assert len(r.json()["items"]) == 1 and r.json()["truncated"] is (len(due + gone) > 1)
    assert r.json()["by_collector"] == body["by_collector"]


async def test_sales_equals_contracts_signed_and_customers_claimed_and_secured(client, auth, db, org):
    today = await _today(db, org)
    start = today.replace(month=1, day=1)
    r = await client.get("/api/v1/reports/sales", headers=auth("admin"))
    assert r.status_code == 200, r.text
    want: dict[tuple, list] = defaultdict(lambda: [0, ZERO, 0, 0])
    for c in (await db.scalars(select(Contract).where(Contract.signed_date.between(start, today),
                                                      Contract.state.in_(SIGNED_STATES)))).all():
        row = want[(c.signed_date.replace(day=1), c.company_id, c.owner_id)]
        row[0] += 1
        row[1] += c.financed
    for a in (await db.scalars(select(CustomerActivity).where(CustomerActivity.business_date.between(start, today),
                                                              CustomerActivity.user_id.is_not(None)))).all():
        if a.kind in ("claimed", "secured"):
            want[(a.business_date.replace(day=1), a.company_id, a.user_id)][2 if a.kind == "claimed" else 3] += 1
    got = {(date.fromisoformat(r["month"]), uuid.UUID(r["company_id"]), uuid.UUID(r["salesperson_id"])):
           [r["contracts_signed"], Decimal(r["financed"]), r["customers_claimed"], r["customers_secured"]]
           for r in r.json()["rows"]}
    assert got == dict(want) and got
