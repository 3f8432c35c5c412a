"""The ledger's money rules reproduce ledger.md's worked examples and keep its rules for any history."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.core.errors import DomainError
from app.ledger.errors import (
    LedgerCannotReverse,
    LedgerContractSettled,
    LedgerEntryDuplicate,
    LedgerEntryNotFound,
    LedgerFutureValueDate,
    LedgerInvalidAmount,
    LedgerSettlementBeforeCredit,
    PaymentExceedsOutstanding,
    RefundExceedsCredit,
    WaiverExceedsPenalty,
)
from app.ledger.rules import (
    Bucket,
    Charge,
    Component,
    Payment,
    Policy,
    Refund,
    Reversal,
    Settlement,
    Waiver,
    admit,
    bucket,
    days_past_due,
    effective_facts,
    instalment_key,
    overdue_amount,
    owed_on,
    payoff,
    penalty_adjustments,
    penalty_by_day,
    replay,
    unapplied_credit,
    write_off_by_day,
)
from app.ledger.schedule import ScheduleKind, Terms, build_schedule

D = Decimal
MAX_RATE = D("0.24")
EXAMPLE = build_schedule(Terms(price=D("400000.00"), down_payment=D("0"), annual_rate=D("0.06"), term_months=12,
                               first_due_date=date(2026, 1, 31), schedule_kind=ScheduleKind.ANNUITY),
                         max_annual_rate=MAX_RATE)
FIRST = instalment_key(1)


def item(state, key):
    return next(i for i in state.items if i.key == key)


# --- the worked examples of ledger.md ---------------------------------------------------------

def test_penalty_is_16_21_a_day_and_162_10_by_the_tenth_of_february():
    state = replay(EXAMPLE, [], through=date(2026, 2, 10))
    days = penalty_by_day(state)
    assert days[(1, date(2026, 2, 1))] == D("16.21")
    assert sorted(d for (n, d) in days if n == 1) == [date(2026, 2, d) for d in range(1, 11)]
    assert item(state, FIRST).components[Component.PENALTY].due == D("162.10")
    assert state.total(Component.PENALTY) == D("162.10")  # instalment 2 is not due before 28 Feb


def test_no_penalty_on_the_due_date_itself():
    assert replay(EXAMPLE, [], through=date(2026, 1, 31)).total(Component.PENALTY) == 0


def test_payoff_on_the_tenth_of_february_with_nothing_paid_is_402_162_10():
    assert payoff(replay(EXAMPLE, [], through=date(2026, 2, 10))) == D("402162.10")


def test_paying_34_588_67_on_the_tenth_settles_instalment_1_with_nothing_left_over():
    pay = Payment("p1", date(2026, 2, 10), D("34588.67"))
    facts = admit(EXAMPLE, [], pay, today=date(2026, 2, 10))
    state = replay(EXAMPLE, facts, through=date(2026, 2, 10))
    first = item(state, FIRST)
    assert {c: a.unpaid for c, a in first.components.items()} == {c: 0 for c in first.components}
    assert [(a.item, a.component, a.amount) for a in state.allocations] == [
        (FIRST, Component.PENALTY, D("162.10")), (FIRST, Component.INTEREST, D("2000.00")),
        (FIRST, Component.PRINCIPAL, D("32426.57"))]
    assert not state.unapplied
    assert item(state, instalment_key(2)).components[Component.PRINCIPAL].paid == 0
    # Paid in full, the instalment accrues no more penalty.
    later = replay(EXAMPLE, facts, through=date(2026, 2, 20))
    assert item(later, FIRST).components[Component.PENALTY].due == D("162.10")


def test_a_full_payment_on_day_p_costs_p_minus_due_minus_grace_days_of_penalty():
    policy = Policy(grace_days=3)
    facts = [Payment("p", date(2026, 2, 10), D("34426.57") + 7 * D("16.21"))]
    state = replay(EXAMPLE, facts, through=date(2026, 3, 1), policy=policy)
    first = item(state, FIRST)
    assert first.components[Component.PENALTY].due == 7 * D("16.21")
    assert all(a.unpaid == 0 for a in first.components.values())


# --- allocation ---------------------------------------------------------------------------------

def test_a_payment_pays_due_items_oldest_first_instalment_before_a_charge_then_prepays_principal():
    facts = [Charge("gps", date(2026, 1, 31), D("300.00"), "gps_fee"),
             Payment("p", date(2026, 1, 31), D("40000.00"))]
    state = replay(EXAMPLE, facts, through=date(2026, 1, 31))
    assert [(a.item, a.component, a.amount) for a in state.allocations] == [
        (FIRST, Component.INTEREST, D("2000.00")), (FIRST, Component.PRINCIPAL, D("32426.57")),
        (("charge", "gps"), Component.FEE, D("300.00")),
        (instalment_key(2), Component.PRINCIPAL, D("5273.43"))]  # interest not yet due is not paid


def test_the_contracts_allocation_order_decides_inside_an_item():
    policy = Policy(allocation_order=(Component.PRINCIPAL, Component.INTEREST, Component.PENALTY, Component.FEE))
    state = replay(EXAMPLE, [Payment("p", date(2026, 2, 10), D("33000.00"))], through=date(2026, 2, 10),
                   policy=policy)
    assert [(a.component, a.amount) for a in state.allocations] == [
        (Component.PRINCIPAL, D("32426.57")), (Component.INTEREST, D("573.43"))]


def test_a_payment_above_the_payoff_is_refused_and_the_payoff_itself_is_accepted():
    day = date(2026, 2, 10)
    with pytest.raises(PaymentExceedsOutstanding):
        admit(EXAMPLE, [], Payment("p", day, D("402162.11")), today=day)
    facts = admit(EXAMPLE, [], Payment("p", day, D("402162.10")), today=day)
    state = replay(EXAMPLE, facts, through=day)
    assert payoff(state) == 0 and state.total(Component.PRINCIPAL) == 0


def test_a_waiver_reduces_only_penalty_and_never_more_than_is_unpaid():
    day = date(2026, 2, 10)
    with pytest.raises(WaiverExceedsPenalty):
        admit(EXAMPLE, [], Waiver("w", day, D("162.11")), today=day)
    facts = admit(EXAMPLE, [], Waiver("w", day, D("100.00")), today=day)
    state = replay(EXAMPLE, facts, through=day)
    assert item(state, FIRST).components[Component.PENALTY].waived == D("100.00")
    assert state.total(Component.PENALTY) == D("62.10")


def test_a_settlement_writes_off_the_interest_not_yet_due():
    day = date(2026, 2, 10)
    state = replay(EXAMPLE, [Settlement("s", day)], through=day)
    assert state.total(Component.INTEREST) == D("2000.00")  # only instalment 1's, due on 31 Jan
    assert payoff(state) == D("402162.10")


@pytest.mark.parametrize(("fact", "error"), [
    (Payment("x", date(2026, 2, 11), D("1.00")), LedgerFutureValueDate),
    (Payment("x", date(2026, 2, 1), D("-1.00")), LedgerInvalidAmount),
    (Payment("x", date(2026, 2, 1), D("1.005")), LedgerInvalidAmount),
    (Charge("x", date(2026, 2, 1), D("0")), LedgerInvalidAmount),
    (Reversal("x", "nothing"), LedgerEntryNotFound),
    (Reversal("x", "r"), LedgerCannotReverse),
    (Reversal("x", "p"), LedgerCannotReverse),
    (Payment("p", date(2026, 2, 1), D("1.00")), LedgerEntryDuplicate),
])
def test_the_rules_refuse_bad_facts_with_a_stable_code_and_a_4xx_status(fact, error):
    facts = [Payment("p", date(2026, 2, 1), D("10.00")), Reversal("r", "p")]
    with pytest.raises(error) as raised:
        admit(EXAMPLE, facts, fact, today=date(2026, 2, 10))
    assert 400 <= raised.value.status < 500 and raised.value.code == error.code


# --- aging --------------------------------------------------------------------------------------

def test_overdue_amount_days_past_due_and_bucket():
    on_time = replay(EXAMPLE, [], through=date(2026, 1, 31))
    assert (overdue_amount(on_time), days_past_due(on_time)) == (0, 0)
    state = replay(EXAMPLE, [], through=date(2026, 2, 10))
    assert overdue_amount(state) == D("34426.57") + D("162.10")
    assert days_past_due(state) == 10 and bucket(10) == Bucket.M1
    assert [bucket(d) for d in (0, 1, 30, 31, 60, 61, 90, 91)] == [
        Bucket.CURRENT, Bucket.M1, Bucket.M1, Bucket.M2, Bucket.M2, Bucket.M3, Bucket.M3, Bucket.M4_PLUS]


def test_unpaid_penalty_alone_does_not_make_an_item_overdue():
    day = date(2026, 2, 10)
    penalty_last = Policy(allocation_order=(Component.FEE, Component.INTEREST, Component.PRINCIPAL,
                                            Component.PENALTY))
    state = replay(EXAMPLE, [Payment("p", day, D("34426.57"))], through=day, policy=penalty_last)
    assert days_past_due(state) == 0 and overdue_amount(state) == D("162.10")


# --- properties over random histories ------------------------------------------------------------

START = date(2026, 1, 1)
TODAY = START + timedelta(days=150)

random_schedule = st.builds(
    lambda cents, rate_bp, months, offset, kind: build_schedule(Terms(
        price=D(cents) / 100, down_payment=D("0"), annual_rate=D(rate_bp) / 10000, term_months=months,
        first_due_date=START + timedelta(days=offset), schedule_kind=kind), max_annual_rate=MAX_RATE),
    st.integers(100_000, 50_000_000), st.integers(0, 2400), st.integers(1, 6), st.integers(0, 40),
    st.sampled_from([ScheduleKind.ANNUITY, ScheduleKind.EQUAL_PRINCIPAL, ScheduleKind.INTEREST_ONLY]))
random_policy = st.builds(lambda bp, grace: Policy(penalty_daily_rate=D(bp) / 100000, grace_days=grace),
                          st.integers(0, 300), st.integers(0, 5))
operation = st.tuples(st.sampled_from(["payment", "waiver", "charge", "reversal", "settlement", "payoff", "refund"]),
                      st.integers(0, 150), st.integers(1, 1000), st.integers(0, 50))


def build_history(schedule, policy, ops):
    """Admit random facts in order; the ones the rules refuse are simply not recorded."""
    facts = []
    for n, (kind, day, per_mille, pick) in enumerate(ops):
        value_date = START + timedelta(days=day)
        if kind == "reversal":
            if not facts:
                continue
            fact = Reversal(f"f{n}", facts[pick % len(facts)].id)
        elif kind == "charge":
            fact = Charge(f"f{n}", value_date, D(per_mille * 10) / 100)
        elif kind == "settlement":
            fact = Settlement(f"f{n}", value_date)
        elif kind == "refund":  # some of the credit the account holds, paid back today
            held = unapplied_credit(replay(schedule, facts, through=TODAY, policy=policy))
            fact = Refund(f"f{n}", TODAY, (held * per_mille / 1000).quantize(D("0.01")))
        elif kind == "payoff":  # exactly the payoff of its value date
            fact = Payment(f"f{n}", value_date, payoff(replay(schedule, facts, through=value_date, policy=policy)))
        else:
            state = replay(schedule, facts, through=value_date, policy=policy)
            room = payoff(state) if kind == "payment" else state.total(Component.PENALTY)
            amount = (room * per_mille / 1000).quantize(D("0.01"))
            fact = (Payment if kind == "payment" else Waiver)(f"f{n}", value_date, amount)
        try:
            facts = admit(schedule, facts, fact, today=TODAY, policy=policy)
        except DomainError:
            pass
    return facts


history = st.tuples(random_schedule, random_policy, st.lists(operation, max_size=12))


@settings(max_examples=150, deadline=None)
@given(history)
def test_money_is_conserved_and_nothing_is_paid_beyond_what_is_owed(h):
    schedule, policy, ops = h
    facts = build_history(schedule, policy, ops)
    state = replay(schedule, facts, through=TODAY, policy=policy)
    by_component = defaultdict(lambda: D(0))
    by_credit = defaultdict(lambda: D(0))
    for a in state.allocations:
        assert a.amount > 0
        by_component[(a.item, a.component)] += a.amount
        by_credit[a.credit_id] += a.amount
    for w in state.write_offs:  # what a payment of the payoff wrote off is waived, not paid
        assert w.amount > 0
        by_component[(instalment_key(w.number), Component.INTEREST)] += w.amount
    for it in state.items:
        for component, amounts in it.components.items():
            assert amounts.paid >= 0 and amounts.waived >= 0 and amounts.unpaid >= 0
            assert amounts.paid + amounts.waived + amounts.unpaid == amounts.due
            assert by_component[(it.key, component)] == amounts.paid + amounts.waived
    for fact in effective_facts(facts):
        if isinstance(fact, Payment | Waiver):
            left = sum((part.get(fact.id, D(0)) for part in (state.unapplied, state.void, state.refunded)), D(0))
            assert by_credit[fact.id] + left == fact.amount
    assert not state.shortfall  # a refund never pays out more credit than the account held
    if not any(isinstance(f, Reversal) for f in facts):
        assert not state.unapplied and not state.void  # admitted credits always find something to reduce


@settings(max_examples=150, deadline=None)
@given(history)
def test_debits_less_credits_are_what_is_owed_less_the_unapplied_credit(h):
    # ledger.md "Unapplied credit": the ledger still reconciles, as the entries would sum.
    schedule, policy, ops = h
    facts = build_history(schedule, policy, ops)
    state = replay(schedule, facts, through=TODAY, policy=policy)
    live = effective_facts(facts)
    debits = (sum((i.principal + i.interest for i in schedule), D(0))
              + sum((f.amount for f in live if isinstance(f, Charge | Refund)), D(0))
              + sum((i.components[Component.PENALTY].due for i in state.items if i.is_instalment), D(0)))
    settlements = {f.id for f in live if isinstance(f, Settlement)}
    credits = (sum((f.amount for f in live if isinstance(f, Payment | Waiver)), D(0))
               + sum((a.amount for a in state.allocations if a.credit_id in settlements), D(0))
               + sum(write_off_by_day(state).values(), D(0)))
    owed = sum((i.unpaid(c) for i in state.items for c in i.components), D(0))
    assert debits - credits == owed - unapplied_credit(state) - sum(state.void.values(), D(0))
    assert payoff(state) == owed_on(state, TODAY) - unapplied_credit(state)
    if unapplied_credit(state) > 0:  # credit is only held once nothing is owed on the day
        assert owed_on(state, TODAY) == 0


@settings(max_examples=100, deadline=None)
@given(history, st.randoms(use_true_random=False))
def test_replay_is_deterministic_and_recorded_order_only_matters_inside_a_value_date(h, rnd):
    schedule, policy, ops = h
    facts = build_history(schedule, policy, ops)
    first = replay(schedule, facts, through=TODAY, policy=policy)
    assert replay(schedule, facts, through=TODAY, policy=policy) == first
    # Shuffle, then restore the recorded order inside each value date (reversals and charges keep theirs).
    credits = [f for f in facts if isinstance(f, Payment | Waiver | Settlement | Refund)]
    others = [f for f in facts if not isinstance(f, Payment | Waiver | Settlement | Refund)]
    rank = {f.id: n for n, f in enumerate(facts)}
    rnd.shuffle(credits)
    credits.sort(key=lambda f: (f.value_date, rank[f.id]))
    shuffled = replay(schedule, others + credits, through=TODAY, policy=policy)
    assert sorted(shuffled.items, key=lambda i: i.key) == sorted(first.items, key=lambda i: i.key)


@settings(max_examples=100, deadline=None)
@given(history, st.integers(0, 150), st.integers(1, 1000))
def test_reversing_a_back_dated_payment_restores_exactly_the_figures_without_it(h, day, per_mille):
    schedule, policy, ops = h
    facts = build_history(schedule, policy, ops)
    value_date = START + timedelta(days=day)
    amount = (payoff(replay(schedule, facts, through=value_date, policy=policy)) * per_mille / 1000).quantize(D("0.01"))
    try:
        with_payment = admit(schedule, facts, Payment("late", value_date, amount), today=TODAY, policy=policy)
    except DomainError:
        assume(False)
    reversed_ = admit(schedule, with_payment, Reversal("undo", "late"), today=TODAY, policy=policy)
    assert replay(schedule, reversed_, through=TODAY, policy=policy) == replay(schedule, facts, through=TODAY,
                                                                               policy=policy)


@settings(max_examples=40, deadline=None)
@given(history)
def test_each_days_penalty_is_the_rule_applied_to_the_principal_unpaid_at_its_start(h):
    schedule, policy, ops = h
    facts = build_history(schedule, policy, ops)
    by_day = penalty_by_day(replay(schedule, facts, through=TODAY, policy=policy))
    before = replay(schedule, facts, through=START, policy=policy)
    day = START + timedelta(days=1)
    while day <= TODAY:
        after = replay(schedule, facts, through=day, policy=policy)
        for instalment in schedule:
            key = instalment_key(instalment.number)
            accrued = (item(after, key).components[Component.PENALTY].due
                       - item(before, key).components[Component.PENALTY].due)
            if day > instalment.due_date + timedelta(days=policy.grace_days):
                unpaid = item(before, key).components[Component.PRINCIPAL].unpaid  # after the day before's credits
                expected = (unpaid * policy.penalty_daily_rate).quantize(D("0.01"), rounding="ROUND_HALF_UP")
            else:
                expected = D(0)
            assert accrued == expected
            assert by_day.get((instalment.number, day), D(0)) == expected
        before, day = after, day + timedelta(days=1)


@settings(max_examples=100, deadline=None)
@given(history, st.integers(0, 150))
def test_penalty_adjustments_bring_posted_penalty_to_the_replay_after_a_back_dated_payment(h, day):
    schedule, policy, ops = h
    facts = build_history(schedule, policy, ops)
    posted = penalty_by_day(replay(schedule, facts, through=TODAY, policy=policy))
    value_date = START + timedelta(days=day)
    amount = (payoff(replay(schedule, facts, through=value_date, policy=policy)) / 2).quantize(D("0.01"))
    try:
        facts = admit(schedule, facts, Payment("late", value_date, amount), today=TODAY, policy=policy)
    except DomainError:
        assume(False)
    now = replay(schedule, facts, through=TODAY, policy=policy)
    adjusted = defaultdict(lambda: D(0), posted)
    for key, delta in penalty_adjustments(posted, now).items():
        adjusted[key] += delta
    assert {k: v for k, v in adjusted.items() if v} == penalty_by_day(now)
    assert sum(adjusted.values(), D(0)) == sum(i.components[Component.PENALTY].due for i in now.items
                                                if i.is_instalment)


@settings(max_examples=150, deadline=None)
@given(history, st.integers(0, 150))
def test_payoff_is_the_rule_and_paying_it_settles_every_figure_it_counts(h, day):
    schedule, policy, ops = h
    facts = build_history(schedule, policy, ops)
    on = START + timedelta(days=day)
    state = replay(schedule, facts, through=on, policy=policy)
    expected = sum((it.unpaid(Component.PRINCIPAL) + it.unpaid(Component.PENALTY)
                    + (it.unpaid(Component.INTEREST) + it.unpaid(Component.FEE) if it.due_date <= on else 0)
                    for it in state.items), D(0)) - sum(state.unapplied.values(), D(0))
    figure = payoff(state)
    assert figure == expected and (figure >= 0 or state.unapplied)
    assume(figure > 0 and not [f for f in facts if getattr(f, "value_date", on) > on])
    assume(not any(isinstance(f, Settlement) for f in effective_facts(facts)))  # nothing is paid once settled
    with pytest.raises(PaymentExceedsOutstanding):
        admit(schedule, facts, Payment("too-much", on, figure + D("0.01")), today=TODAY, policy=policy)
    paid = admit(schedule, facts, Payment("all", on, figure), today=TODAY, policy=policy)
    assert payoff(replay(schedule, paid, through=on, policy=policy)) == 0


@settings(max_examples=100, deadline=None)
@given(history, st.integers(0, 150), st.integers(0, 200))
def test_days_past_due_and_bucket_never_fall_while_no_credit_arrives(h, day, later):
    schedule, policy, ops = h
    d1 = START + timedelta(days=day)
    facts = [f for f in build_history(schedule, policy, ops) if getattr(f, "value_date", d1) <= d1]
    d2 = d1 + timedelta(days=later)
    first, second = (replay(schedule, facts, through=d, policy=policy) for d in (d1, d2))
    order = list(Bucket)
    assert days_past_due(second) >= days_past_due(first) >= 0
    assert order.index(bucket(days_past_due(second))) >= order.index(bucket(days_past_due(first)))
    assert overdue_amount(second) >= overdue_amount(first) >= 0


# --- settlement closes the account ----------------------------------------------------------------

def test_a_settlement_dated_before_a_recorded_payment_is_refused():
    # Found by the money property: a settlement back-dated before a payment wrote off interest the
    # payment had paid, leaving a cent of it with nothing to reduce.
    schedule = build_schedule(Terms(price=D("1000.00"), down_payment=D("0"), annual_rate=D("0.0001"),
                                    term_months=1, first_due_date=date(2026, 1, 2),
                                    schedule_kind=ScheduleKind.ANNUITY), max_annual_rate=MAX_RATE)
    day = date(2026, 1, 2)
    facts = admit(schedule, [], Payment("p", day, payoff(replay(schedule, [], through=day))), today=TODAY)
    with pytest.raises(LedgerSettlementBeforeCredit):
        admit(schedule, facts, Settlement("s", day - timedelta(days=1)), today=TODAY)
    settled = admit(schedule, facts, Settlement("s", day), today=TODAY)
    assert not replay(schedule, settled, through=TODAY).unapplied


def test_nothing_is_recorded_on_a_settled_contract_until_the_settlement_is_reversed():
    day = date(2026, 2, 10)
    settled = admit(EXAMPLE, [], Settlement("s", day), today=day)
    for fact in (Payment("p", day, D("1.00")), Charge("c", day, D("1.00")), Settlement("s2", day)):
        with pytest.raises(LedgerContractSettled):
            admit(EXAMPLE, settled, fact, today=day)
    reopened = admit(EXAMPLE, settled, Reversal("r", "s"), today=day)
    assert admit(EXAMPLE, reopened, Payment("p", day, D("1.00")), today=day)[-1].id == "p"


# --- unapplied credit (ledger.md "Unapplied credit") -----------------------------------------------

PAID_OFF_DAY = date(2026, 2, 10)


def paid_off_with_a_charge(amount=D("500.00")):
    """The worked example paid off on 10 Feb, a 500.00 charge due that day included; the charge then reversed."""
    facts = [Charge("c", PAID_OFF_DAY, amount, "gps_fee")]
    facts = admit(EXAMPLE, facts, Payment("p", PAID_OFF_DAY, payoff(replay(EXAMPLE, facts, through=PAID_OFF_DAY))),
                  today=PAID_OFF_DAY)
    return admit(EXAMPLE, facts, Reversal("r", "c"), today=PAID_OFF_DAY)


def test_a_charge_reversal_leaves_the_payment_as_unapplied_credit_the_payoff_subtracts():
    # Issue 25, item 3: the payment showed unapplied 500.00 while the payoff said 0.00.
    state = replay(EXAMPLE, paid_off_with_a_charge(), through=PAID_OFF_DAY)
    assert state.unapplied == {"p": D("500.00")} and unapplied_credit(state) == D("500.00")
    assert owed_on(state, PAID_OFF_DAY) == 0 and payoff(state) == D("-500.00")
    with pytest.raises(PaymentExceedsOutstanding):  # nothing left it could reduce
        admit(EXAMPLE, paid_off_with_a_charge(), Payment("more", PAID_OFF_DAY, D("0.01")), today=PAID_OFF_DAY)


def test_unapplied_credit_pays_the_next_items_that_fall_due_at_their_due_date_oldest_credit_first():
    facts = admit(EXAMPLE, paid_off_with_a_charge(), Charge("c2", date(2026, 3, 15), D("300.00")),
                  today=PAID_OFF_DAY)
    facts = admit(EXAMPLE, facts, Charge("c3", date(2026, 4, 15), D("450.00")), today=PAID_OFF_DAY)
    before = replay(EXAMPLE, facts, through=date(2026, 3, 14))
    assert unapplied_credit(before) == D("500.00") and payoff(before) == D("-500.00")
    on_due = replay(EXAMPLE, facts, through=date(2026, 3, 15))
    assert [(a.credit_id, a.item, a.amount) for a in on_due.allocations if a.item[0] == "charge"] == [
        ("p", ("charge", "c2"), D("300.00"))]
    assert unapplied_credit(on_due) == D("200.00") and payoff(on_due) == D("-200.00") and days_past_due(on_due) == 0
    later = replay(EXAMPLE, facts, through=date(2026, 4, 20))
    assert unapplied_credit(later) == 0 and payoff(later) == D("250.00")  # 450.00 less the 200.00 left
    assert overdue_amount(later) == D("250.00") and days_past_due(later) == 5


def test_a_refund_pays_back_unapplied_credit_and_never_more_than_the_account_holds_today():
    facts = paid_off_with_a_charge()
    for too_much in (Refund("f", PAID_OFF_DAY, D("500.01")), Refund("f", PAID_OFF_DAY - timedelta(days=1), D("1.00"))):
        with pytest.raises(RefundExceedsCredit):
            admit(EXAMPLE, facts, too_much, today=PAID_OFF_DAY)
    refunded = admit(EXAMPLE, facts, Refund("f", PAID_OFF_DAY, D("500.00")), today=PAID_OFF_DAY)
    state = replay(EXAMPLE, refunded, through=PAID_OFF_DAY)
    assert (state.unapplied, state.refunded, payoff(state)) == ({}, {"p": D("500.00")}, 0)
    # What the refund paid out is not taken back from under it: the payment is not reversed, nor the
    # charge posted again, before the refund is.
    for fact in (Reversal("undo", "p"), Charge("again", PAID_OFF_DAY, D("100.00"))):
        with pytest.raises(RefundExceedsCredit):
            admit(EXAMPLE, refunded, fact, today=PAID_OFF_DAY)
    back = admit(EXAMPLE, refunded, Reversal("undo-refund", "f"), today=PAID_OFF_DAY)
    assert unapplied_credit(replay(EXAMPLE, back, through=PAID_OFF_DAY)) == D("500.00")


# --- paid off (ledger.md "Payoff") ------------------------------------------------------------------

def test_a_payment_of_the_payoff_writes_off_the_interest_not_yet_due_and_never_turns_overdue():
    # Issue 25, item 3b: 402 162.10 paid on 10 Feb without a settlement; instalment 2's interest
    # fell due on 28 Feb and the contract turned overdue again.
    facts = admit(EXAMPLE, [], Payment("p", PAID_OFF_DAY, D("402162.10")), today=PAID_OFF_DAY)
    state = replay(EXAMPLE, facts, through=PAID_OFF_DAY)
    interest_not_yet_due = sum((i.interest for i in EXAMPLE if i.due_date > PAID_OFF_DAY), D(0))
    assert interest_not_yet_due == D("13118.87") - D("2000.00")
    assert sum(write_off_by_day(state).values(), D(0)) == interest_not_yet_due
    assert set(write_off_by_day(state)) == {(n, PAID_OFF_DAY) for n in range(2, 13)}
    for day in (date(2026, 2, 28), date(2026, 3, 1), date(2026, 12, 31), date(2027, 6, 30)):
        later = replay(EXAMPLE, facts, through=day)
        assert (payoff(later), overdue_amount(later), days_past_due(later)) == (0, 0, 0), day
        assert all(i.unpaid(c) == 0 for i in later.items for c in i.components)
    # The settlement approved later has nothing left to write off.
    settled = replay(EXAMPLE, admit(EXAMPLE, facts, Settlement("s", date(2026, 3, 5)), today=date(2026, 3, 5)),
                     through=date(2026, 3, 5))
    assert not [a for a in settled.allocations if a.credit_id == "s"]


def test_a_payment_short_of_the_payoff_writes_off_nothing():
    facts = admit(EXAMPLE, [], Payment("p", PAID_OFF_DAY, D("402162.09")), today=PAID_OFF_DAY)
    state = replay(EXAMPLE, facts, through=date(2026, 3, 1))
    assert not state.write_offs and days_past_due(state) == 1  # instalment 2's interest is owed, and 0.01


def test_reversing_the_payment_of_the_payoff_restores_the_interest_and_the_schedule_exactly():
    facts = admit(EXAMPLE, [], Payment("p", PAID_OFF_DAY, D("402162.10")), today=PAID_OFF_DAY)
    undone = admit(EXAMPLE, facts, Reversal("r", "p"), today=date(2026, 3, 10))
    assert replay(EXAMPLE, undone, through=date(2026, 3, 10)) == replay(EXAMPLE, [], through=date(2026, 3, 10))


def test_on_a_settled_contract_only_the_settlement_or_a_refund_is_reversed():
    facts = admit(EXAMPLE, [], Payment("p", PAID_OFF_DAY, D("402162.10")), today=PAID_OFF_DAY)
    settled = admit(EXAMPLE, facts, Settlement("s", PAID_OFF_DAY), today=PAID_OFF_DAY)
    with pytest.raises(LedgerContractSettled):
        admit(EXAMPLE, settled, Reversal("r", "p"), today=PAID_OFF_DAY)
    reopened = admit(EXAMPLE, settled, Reversal("r", "s"), today=PAID_OFF_DAY)
    assert admit(EXAMPLE, reopened, Reversal("r2", "p"), today=PAID_OFF_DAY)[-1].id == "r2"


@settings(max_examples=100, deadline=None)
@given(history, st.integers(0, 150))
def test_once_the_payoff_is_paid_nothing_of_the_schedule_falls_due_and_a_reversal_restores_it(h, day):
    schedule, policy, ops = h
    on = START + timedelta(days=day)
    # The history up to `on` (a charge due later is not in the payoff, and stays owed when it falls due).
    facts = [f for f in build_history(schedule, policy, ops)
             if getattr(f, "value_date", getattr(f, "due_date", on)) <= on and not isinstance(f, Refund | Reversal)]
    assume(not any(isinstance(f, Settlement) for f in facts))
    figure = payoff(replay(schedule, facts, through=on, policy=policy))
    assume(figure > 0)
    paid = admit(schedule, facts, Payment("all", on, figure), today=TODAY, policy=policy)
    for later in (on, on + timedelta(days=1), max(on, *(i.due_date for i in schedule)) + timedelta(days=30)):
        state = replay(schedule, paid, through=later, policy=policy)
        assert (days_past_due(state), overdue_amount(state), payoff(state)) == (0, 0, 0)
        assert all(i.unpaid(c) == 0 for i in state.items for c in i.components)
    undone = admit(schedule, paid, Reversal("undo", "all"), today=TODAY, policy=policy)
    end = max(TODAY, max(i.due_date for i in schedule)) + timedelta(days=30)
    assert replay(schedule, undone, through=end, policy=policy) == replay(schedule, facts, through=end, policy=policy)
