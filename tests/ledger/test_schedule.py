"""The schedule calculator reproduces ledger.md's worked examples and keeps its rules for any terms."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger.schedule import (
    CustomRow,
    InvalidTerms,
    ScheduleKind,
    Terms,
    build_schedule,
    due_date,
    validate_terms,
)

D = Decimal
MAX_RATE = D("0.24")


def terms(financed: str, rate: str, months: int, first: date, kind: ScheduleKind, **kw) -> Terms:
    return Terms(price=D(financed), down_payment=D("0"), annual_rate=D(rate), term_months=months,
                 first_due_date=first, schedule_kind=kind, **kw)


def test_the_annuity_example_of_ledger_md():
    rows = build_schedule(terms("400000.00", "0.06", 12, date(2026, 1, 31), ScheduleKind.ANNUITY),
                          max_annual_rate=MAX_RATE)
    first, second, last = rows[0], rows[1], rows[11]
    assert (first.due_date, first.interest, first.principal, first.total) == (
        date(2026, 1, 31), D("2000.00"), D("32426.57"), D("34426.57"))
    assert (second.due_date, second.interest, second.principal) == (date(2026, 2, 28), D("1837.87"), D("32588.70"))
    assert (last.due_date, last.interest, last.principal, last.total) == (
        date(2026, 12, 31), D("171.28"), D("34255.32"), D("34426.60"))
    assert all(row.total == D("34426.57") for row in rows[:11])
    assert sum(row.principal for row in rows) == D("400000.00")


def test_the_equal_principal_example_of_ledger_md():
    rows = build_schedule(terms("100000.00", "0.12", 6, date(2026, 3, 15), ScheduleKind.EQUAL_PRINCIPAL),
                          max_annual_rate=MAX_RATE)
    assert [r.principal for r in rows] == [D("16666.67")] * 5 + [D("16666.65")]
    assert [r.interest for r in rows] == [D(x) for x in ("1000.00", "833.33", "666.67", "500.00", "333.33",
                                                          "166.67")]


def test_due_dates_keep_the_day_or_take_the_months_last_day():
    first = date(2026, 1, 31)
    assert [due_date(first, i) for i in range(1, 5)] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31),
                                                          date(2026, 4, 30)]
    assert due_date(date(2027, 12, 31), 3) == date(2028, 2, 29)  # leap year
    assert due_date(date(2026, 11, 30), 2) == date(2026, 12, 30)


def test_interest_only_pays_the_principal_with_the_last_instalment():
    rows = build_schedule(terms("120000.00", "0.12", 3, date(2026, 5, 10), ScheduleKind.INTEREST_ONLY),
                          max_annual_rate=MAX_RATE)
    assert [(r.principal, r.interest) for r in rows] == [(D("0.00"), D("1200.00")), (D("0.00"), D("1200.00")),
                                                         (D("120000.00"), D("1200.00"))]


def test_a_zero_rate_annuity_splits_the_amount_evenly_and_the_last_absorbs_the_rounding():
    rows = build_schedule(terms("100000.00", "0", 3, date(2026, 5, 10), ScheduleKind.ANNUITY),
                          max_annual_rate=MAX_RATE)
    assert [r.principal for r in rows] == [D("33333.33"), D("33333.33"), D("33333.34")]
    assert all(r.interest == 0 for r in rows)


def test_a_lease_is_the_fixed_rent_every_month_without_interest():
    rows = build_schedule(terms("0", "0", 4, date(2026, 5, 10), ScheduleKind.LEASE, monthly_rent=D("8500")),
                          max_annual_rate=MAX_RATE)
    assert [(r.principal, r.interest) for r in rows] == [(D("8500.00"), D("0.00"))] * 4


def test_a_custom_schedule_is_taken_as_given():
    rows = (CustomRow(D("600.00"), D("10.00")), CustomRow(D("400.00"), D("5.00")))
    built = build_schedule(terms("1000.00", "0.05", 2, date(2026, 1, 31), ScheduleKind.CUSTOM, custom_rows=rows),
                           max_annual_rate=MAX_RATE)
    assert [(r.due_date, r.principal, r.interest) for r in built] == [
        (date(2026, 1, 31), D("600.00"), D("10.00")), (date(2026, 2, 28), D("400.00"), D("5.00"))]


@pytest.mark.parametrize(("changes", "pointer", "code"), [
    ({"price": D("-1")}, "/price", "terms.negative_amount"),
    ({"down_payment": D("500000")}, "/down_payment", "terms.down_payment_above_price"),
    ({"annual_rate": D("0.30")}, "/annual_rate", "terms.rate_above_maximum"),
    ({"term_months": 0}, "/term_months", "terms.term_out_of_range"),
    ({"term_months": 121}, "/term_months", "terms.term_out_of_range"),
    ({"price": D("1.00"), "term_months": 120}, "/term_months", "terms.amount_too_small_for_term"),
    ({"schedule_kind": ScheduleKind.CUSTOM, "term_months": 1, "custom_rows": (CustomRow(D("1"), D("0")),)},
     "/custom_rows", "terms.custom_rows_sum"),
    ({"schedule_kind": ScheduleKind.LEASE}, "/monthly_rent", "terms.rent_required"),
])
def test_bad_terms_name_their_field(changes, pointer, code):
    base = terms("400000.00", "0.06", 12, date(2026, 1, 31), ScheduleKind.EQUAL_PRINCIPAL)
    bad = Terms(**{**base.__dict__, **changes})
    problems = validate_terms(bad, max_annual_rate=MAX_RATE)
    assert (pointer, code) in [(p.pointer, p.code) for p in problems]
    with pytest.raises(InvalidTerms):
        build_schedule(bad, max_annual_rate=MAX_RATE)


BALANCE_KINDS = [ScheduleKind.ANNUITY, ScheduleKind.EQUAL_PRINCIPAL, ScheduleKind.INTEREST_ONLY]
random_terms = st.builds(
    lambda cents, rate_bp, months, first, kind: terms(str(D(cents) / 100), str(D(rate_bp) / 10000), months,
                                                      first, kind),
    st.integers(100_000, 500_000_000), st.integers(0, 2400), st.integers(1, 120),
    st.dates(date(2024, 1, 1), date(2030, 12, 31)), st.sampled_from(BALANCE_KINDS))


@settings(max_examples=300, deadline=None)
@given(random_terms)
def test_principal_sums_to_financed_with_two_decimal_non_negative_amounts(t):
    rows = build_schedule(t, max_annual_rate=MAX_RATE)
    assert len(rows) == t.term_months
    assert sum(r.principal for r in rows) == t.financed
    for row in rows:
        assert row.principal >= 0 and row.interest >= 0
        assert row.principal.as_tuple().exponent == -2 and row.interest.as_tuple().exponent == -2


@settings(max_examples=300, deadline=None)
@given(random_terms)
def test_due_dates_follow_the_month_end_rule(t):
    rows = build_schedule(t, max_annual_rate=MAX_RATE)
    first = t.first_due_date
    for i, row in enumerate(rows):
        d = row.due_date
        assert (d.year * 12 + d.month) - (first.year * 12 + first.month) == i
        month_end = (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        assert d.day == first.day or (d == month_end and first.day > month_end.day)


@settings(max_examples=200, deadline=None)
@given(random_terms.filter(lambda t: t.schedule_kind == ScheduleKind.ANNUITY and t.term_months > 1))
def test_every_annuity_instalment_but_the_last_pays_the_same_amount(t):
    rows = build_schedule(t, max_annual_rate=MAX_RATE)
    assert len({r.total for r in rows[:-1]}) == 1
    # The last one absorbs the rounding of A and of each interest, compounded at the monthly rate.
    growth = (1 + t.annual_rate / 12) ** t.term_months
    assert abs(rows[-1].total - rows[0].total) <= D("0.01") * t.term_months * growth


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 120), st.integers(1, 10_000_000), st.dates(date(2024, 1, 1), date(2030, 12, 31)))
def test_a_lease_charges_the_rent_every_month(months, rent_cents, first):
    rent = D(rent_cents) / 100
    rows = build_schedule(terms("0", "0", months, first, ScheduleKind.LEASE, monthly_rent=rent),
                          max_annual_rate=MAX_RATE)
    assert [r.total for r in rows] == [rent] * months
