"""The schedule calculator: contract terms in, instalments out. Pure functions, no I/O.

Every rule is `../shared/docs/ledger.md` ("Contract terms", "Schedules", "Amounts and rounding"):

- money is `Decimal`; every rounding is half-up to the cent, at exactly the points named there:
  the annuity payment `A`, each instalment's interest `round(B × r)`, the equal-principal share
  `round(financed / n)`, and nothing else (the monthly rate `r = annual_rate / 12` is not rounded);
- instalment *i* is due `first_due_date` plus *i − 1* months on the same day of the month, or the
  month's last day where that day does not exist (31 Jan → 28/29 Feb → 31 Mar: always counted from
  the first due date, so a short month never shifts the later ones);
- the last instalment's principal is whatever is left of `B`, so principal sums to `financed` exactly.

A lease has no balance: every instalment is the contract's fixed rent (principal = the rent,
interest 0), so its principal sums to `rent × n`, not to `financed`.

`validate_terms` answers every problem with the terms at once (a JSON pointer relative to the terms
object and a message), so an API can answer one 422 listing all of them.
"""

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_TERM_MONTHS = 120
DEFAULT_PENALTY_DAILY_RATE = Decimal("0.000500")
DEFAULT_ALLOCATION_ORDER = ("penalty", "fee", "interest", "principal")
# Enough digits that (1 + r)^-n for n <= 120 is exact far beyond the cent before `A` is rounded.
_PRECISION = 40


class ScheduleKind(StrEnum):
    ANNUITY = "annuity"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_ONLY = "interest_only"  # 先息后本
    LEASE = "lease"  # 租赁
    CUSTOM = "custom"  # 自定义


def cent(value: Decimal) -> Decimal:
    """Half-up to the cent: the one rounding of ledger.md."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def due_date(first_due_date: date, number: int) -> date:
    """The due date of instalment `number` (1-based): `first_due_date` plus `number − 1` months,
    on the same day, or the month's last day where that day does not exist."""
    months = first_due_date.month - 1 + number - 1
    year, month = first_due_date.year + months // 12, months % 12 + 1
    return date(year, month, min(first_due_date.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class CustomRow:
    """One instalment of a custom schedule, as the contract states it."""

    principal: Decimal
    interest: Decimal


@dataclass(frozen=True)
class Terms:
    price: Decimal
    down_payment: Decimal
    annual_rate: Decimal
    term_months: int
    first_due_date: date
    schedule_kind: ScheduleKind
    monthly_rent: Decimal | None = None  # lease only
    custom_rows: tuple[CustomRow, ...] = field(default=())  # custom only

    @property
    def financed(self) -> Decimal:
        return self.price - self.down_payment


@dataclass(frozen=True)
class Instalment:
    number: int
    due_date: date
    principal: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


@dataclass(frozen=True)
class TermProblem:
    pointer: str  # relative to the terms object, e.g. "/down_payment"
    code: str
    message: str


def _two_decimals(value: Decimal) -> bool:
    return value == value.quantize(CENT)


def validate_terms(terms: Terms, *, max_annual_rate: Decimal) -> list[TermProblem]:
    """Every problem with `terms` (empty when a schedule can be computed from them)."""
    problems: list[TermProblem] = []

    def bad(pointer: str, code: str, message: str) -> None:
        problems.append(TermProblem(pointer, code, message))

    for name in ("price", "down_payment"):
        value = getattr(terms, name)
        if value < 0:
            bad(f"/{name}", "terms.negative_amount", f"{name} must not be negative")
        elif not _two_decimals(value):
            bad(f"/{name}", "terms.amount_precision", f"{name} has at most two decimals")
    if terms.down_payment > terms.price:
        bad("/down_payment", "terms.down_payment_above_price", "The down payment exceeds the price")
    elif terms.financed <= 0 and terms.schedule_kind != ScheduleKind.LEASE:
        bad("/down_payment", "terms.nothing_financed", "price − down_payment must be above 0")
    if terms.annual_rate < 0:
        bad("/annual_rate", "terms.negative_rate", "The rate must not be negative")
    elif terms.annual_rate > max_annual_rate:
        bad("/annual_rate", "terms.rate_above_maximum",
            f"The annual rate exceeds the configured maximum of {max_annual_rate}")
    if not 1 <= terms.term_months <= MAX_TERM_MONTHS:
        bad("/term_months", "terms.term_out_of_range", f"The term is 1–{MAX_TERM_MONTHS} months")
    if terms.schedule_kind == ScheduleKind.LEASE:
        if terms.monthly_rent is None or terms.monthly_rent <= 0:
            bad("/monthly_rent", "terms.rent_required", "A lease needs a monthly rent above 0")
    elif terms.monthly_rent is not None:
        bad("/monthly_rent", "terms.rent_not_applicable", "Only a lease has a monthly rent")
    if terms.schedule_kind == ScheduleKind.CUSTOM:
        _validate_custom(terms, bad)
    elif terms.custom_rows:
        bad("/custom_rows", "terms.custom_rows_not_applicable", "Only a custom schedule lists its rows")
    if not problems:
        # Terms well-formed but the amount too small for the term (e.g. 1.00 over 120 months of
        # equal principal): a rounded share times n − 1 would exceed the amount.
        if any(i.principal < 0 or i.interest < 0 for i in _compute(terms)):
            bad("/term_months", "terms.amount_too_small_for_term",
                "The financed amount is too small for this term: an instalment would be negative")
    return problems


def _validate_custom(terms: Terms, bad: Callable[[str, str, str], None]) -> None:
    rows = terms.custom_rows
    if len(rows) != terms.term_months:
        bad("/custom_rows", "terms.custom_rows_count", "A custom schedule has exactly term_months rows")
    for index, row in enumerate(rows):
        for name in ("principal", "interest"):
            value = getattr(row, name)
            if value < 0:
                bad(f"/custom_rows/{index}/{name}", "terms.negative_amount", f"{name} must not be negative")
    if sum((row.principal for row in rows), ZERO) != terms.financed:
        bad("/custom_rows", "terms.custom_rows_sum",
            f"The rows' principal must sum to the financed amount {terms.financed:.2f}")


class InvalidTerms(ValueError):
    def __init__(self, problems: Sequence[TermProblem]) -> None:
        super().__init__("; ".join(f"{p.pointer}: {p.message}" for p in problems))
        self.problems = list(problems)


def build_schedule(terms: Terms, *, max_annual_rate: Decimal) -> list[Instalment]:
    """The schedule of `terms`; `InvalidTerms` with every problem when there is none."""
    problems = validate_terms(terms, max_annual_rate=max_annual_rate)
    if problems:
        raise InvalidTerms(problems)
    return _compute(terms)


def _compute(terms: Terms) -> list[Instalment]:
    n, kind = terms.term_months, terms.schedule_kind
    if kind == ScheduleKind.LEASE:
        assert terms.monthly_rent is not None
        rent = cent(terms.monthly_rent)
        return [Instalment(i, due_date(terms.first_due_date, i), rent, ZERO) for i in range(1, n + 1)]
    if kind == ScheduleKind.CUSTOM:
        return [Instalment(i, due_date(terms.first_due_date, i), cent(row.principal), cent(row.interest))
                for i, row in enumerate(terms.custom_rows, start=1)]
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        financed = terms.financed.quantize(CENT)  # exact: validated to two decimals
        r = terms.annual_rate / 12
        share = _principal_share(kind, financed, r, n)
        rows: list[Instalment] = []
        balance = financed
        for i in range(1, n + 1):
            interest = cent(balance * r)
            if i == n:
                principal = balance
            elif kind == ScheduleKind.ANNUITY:
                principal = share - interest
            else:
                principal = share
            rows.append(Instalment(i, due_date(terms.first_due_date, i), principal, interest))
            balance -= principal
        return rows


def _principal_share(kind: ScheduleKind, financed: Decimal, r: Decimal, n: int) -> Decimal:
    """Annuity: the payment `A`; equal principal: the principal share; interest only: 0."""
    if kind == ScheduleKind.INTEREST_ONLY:
        return ZERO
    if kind == ScheduleKind.EQUAL_PRINCIPAL or r == 0:
        return cent(financed / n)
    return cent(financed * r / (1 - (1 + r) ** -n))
