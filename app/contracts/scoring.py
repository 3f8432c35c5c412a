"""The investigation's scoring model: answers in, a shipment recommendation and its reasons out.

Pure functions. A model is a set of factors, each with a weight (the points it can contribute;
the weights of the default model sum to 100) and bands: the first band whose bound the factor's
value meets gives the share of the weight it earns. The score is the sum of the contributions
(each rounded half-up to 0.01); `ship` at or above `ship_at`, `ship_with_conditions` at or above
`conditions_at`, else `do_not_ship`. Every factor's value, share and contribution is returned, so
an approver sees why.

The default model (`DEFAULT_MODEL`), value → share of the weight:

| factor | weight | value | bands |
| --- | --- | --- | --- |
| `debt_to_assets` | 30 | liabilities / assets (no assets: 0 share) | ≤ 0.3 → 1, ≤ 0.5 → 0.7, ≤ 0.7 → 0.4, else 0 |
| `overdue_history` | 25 | overdue repayments in the last 24 months | 0 → 1, ≤ 2 → 0.5, else 0 |
| `years_in_business` | 15 | years | ≥ 5 → 1, ≥ 2 → 0.6, else 0.2 |
| `down_payment_share` | 15 | down payment / price | ≥ 0.3 → 1, ≥ 0.2 → 0.7, ≥ 0.1 → 0.4, else 0 |
| `guarantor_strength` | 15 | guarantors' net assets / financed | ≥ 1 → 1, ≥ 0.5 → 0.6, > 0 → 0.3, else 0 |

Thresholds: `ship` from 70, `ship_with_conditions` from 50. A group may configure its own
weights, bands and thresholds with a model of the same shape (`PUT /investigation-scoring`,
stored as JSON: `model_to_json` / `model_from_json`).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

D = Decimal
Op = Literal["<=", ">=", ">"]


@dataclass(frozen=True)
class Band:
    op: Op
    bound: Decimal
    share: Decimal

    def matches(self, value: Decimal) -> bool:
        return {"<=": value <= self.bound, ">=": value >= self.bound, ">": value > self.bound}[self.op]


@dataclass(frozen=True)
class FactorRule:
    weight: Decimal
    bands: tuple[Band, ...]  # the first that matches gives the share
    otherwise: Decimal = D("0")  # the share when no band matches or the value is unknown


@dataclass(frozen=True)
class ScoringModel:
    factors: dict[str, FactorRule]
    ship_at: Decimal
    conditions_at: Decimal


def _bands(op: Op, *pairs: tuple[str, str]) -> tuple[Band, ...]:
    return tuple(Band(op, D(bound), D(share)) for bound, share in pairs)


DEFAULT_MODEL = ScoringModel(
    factors={
        "debt_to_assets": FactorRule(D("30"), _bands("<=", ("0.3", "1"), ("0.5", "0.7"), ("0.7", "0.4"))),
        "overdue_history": FactorRule(D("25"), _bands("<=", ("0", "1"), ("2", "0.5"))),
        "years_in_business": FactorRule(D("15"), _bands(">=", ("5", "1"), ("2", "0.6")), otherwise=D("0.2")),
        "down_payment_share": FactorRule(D("15"), _bands(">=", ("0.3", "1"), ("0.2", "0.7"), ("0.1", "0.4"))),
        "guarantor_strength": FactorRule(D("15"), _bands(">=", ("1", "1"), ("0.5", "0.6")) + _bands(">", ("0", "0.3"))),
    },
    ship_at=D("70"), conditions_at=D("50"),
)
# The factors the score reads, in order: each has a rule in the default model and a value in
# `factor_values`; the scoring model's input (schemas.ScoringFactors) has one field per factor.
FACTORS: tuple[str, ...] = tuple(DEFAULT_MODEL.factors)


@dataclass(frozen=True)
class Answers:
    """What the score reads from a questionnaire and the contract."""

    total_assets: Decimal
    total_liabilities: Decimal
    overdue_count_24m: int
    years_in_business: int
    down_payment: Decimal
    price: Decimal
    financed: Decimal
    guarantor_net_assets: Decimal


@dataclass(frozen=True)
class Factor:
    name: str
    value: Decimal | None
    share: Decimal
    weight: Decimal
    contribution: Decimal


@dataclass(frozen=True)
class Score:
    score: Decimal
    recommendation: str
    factors: list[Factor]


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return None if denominator <= 0 else (numerator / denominator).quantize(D("0.0001"), rounding=ROUND_HALF_UP)


def factor_values(answers: Answers) -> dict[str, Decimal | None]:
    """The value of each factor in `FACTORS` for these answers (None: not known)."""
    return {
        "debt_to_assets": _ratio(answers.total_liabilities, answers.total_assets),
        "overdue_history": D(answers.overdue_count_24m),
        "years_in_business": D(answers.years_in_business),
        "down_payment_share": _ratio(answers.down_payment, answers.price),
        "guarantor_strength": _ratio(answers.guarantor_net_assets, answers.financed),
    }


def _share(rule: FactorRule, value: Decimal | None) -> Decimal:
    if value is None:
        return rule.otherwise
    return next((band.share for band in rule.bands if band.matches(value)), rule.otherwise)


def score(answers: Answers, model: ScoringModel = DEFAULT_MODEL) -> Score:
    values = factor_values(answers)
    factors = []
    for name, rule in model.factors.items():
        if name not in values:
            continue
        share = _share(rule, values[name])
        contribution = (rule.weight * share).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        factors.append(Factor(name, values[name], share, rule.weight, contribution))
    total = sum((f.contribution for f in factors), D("0.00"))
    recommendation = ("ship" if total >= model.ship_at else
                      "ship_with_conditions" if total >= model.conditions_at else "do_not_ship")
    return Score(total, recommendation, factors)


def model_to_json(model: ScoringModel) -> dict[str, Any]:
    return {"factors": {name: {"weight": str(rule.weight), "otherwise": str(rule.otherwise),
                               "bands": [{"op": b.op, "bound": str(b.bound), "share": str(b.share)}
                                         for b in rule.bands]}
                        for name, rule in model.factors.items()},
            "ship_at": str(model.ship_at), "conditions_at": str(model.conditions_at)}


def model_from_json(data: dict[str, Any]) -> ScoringModel:
    return ScoringModel(
        factors={name: FactorRule(D(rule["weight"]), tuple(Band(b["op"], D(b["bound"]), D(b["share"]))
                                                          for b in rule["bands"]), D(rule["otherwise"]))
                 for name, rule in data["factors"].items()},
        ship_at=D(data["ship_at"]), conditions_at=D(data["conditions_at"]))
