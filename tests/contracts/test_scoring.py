"""The investigation's scoring model on hand-computed questionnaires (see app/contracts/scoring.py)."""

from decimal import Decimal as D

from app.contracts.schemas import ScoringFactors
from app.contracts.scoring import FACTORS, Answers, factor_values, score


def _factors(result) -> dict[str, tuple[str, str]]:
    return {f.name: (str(f.share), str(f.contribution)) for f in result.factors}


def test_a_strong_customer_is_recommended_for_shipment():
    # debt/assets 0.25 → 30; no overdue → 25; 6 years → 15; down payment 20 % → 0.7 × 15 = 10.50;
    # guarantors 500 000 / financed 400 000 = 1.25 → 15. Total 95.50 ≥ 70: ship.
    result = score(Answers(total_assets=D("2000000"), total_liabilities=D("500000"), overdue_count_24m=0,
                           years_in_business=6, down_payment=D("100000"), price=D("500000"), financed=D("400000"),
                           guarantor_net_assets=D("500000")))
    assert _factors(result) == {"debt_to_assets": ("1", "30.00"), "overdue_history": ("1", "25.00"),
                                "years_in_business": ("1", "15.00"), "down_payment_share": ("0.7", "10.50"),
                                "guarantor_strength": ("1", "15.00")}
    assert (result.score, result.recommendation) == (D("95.50"), "ship")


def test_a_middling_customer_ships_with_conditions():
    # 0.45 → 0.7 × 30 = 21; 1 overdue → 12.50; 3 years → 9; 20 % → 10.50; 0.5 → 0.6 × 15 = 9. Total 62.
    result = score(Answers(total_assets=D("1000000"), total_liabilities=D("450000"), overdue_count_24m=1,
                           years_in_business=3, down_payment=D("100000"), price=D("500000"), financed=D("400000"),
                           guarantor_net_assets=D("200000")))
    assert (result.score, result.recommendation) == (D("62.00"), "ship_with_conditions")


def test_a_weak_customer_is_not_shipped():
    # 0.8 → 0; 3 overdue → 0; 1 year → 0.2 × 15 = 3; 20 % → 10.50; 0.25 → 0.3 × 15 = 4.50. Total 18.
    result = score(Answers(total_assets=D("1000000"), total_liabilities=D("800000"), overdue_count_24m=3,
                           years_in_business=1, down_payment=D("100000"), price=D("500000"), financed=D("400000"),
                           guarantor_net_assets=D("100000")))
    assert _factors(result)["debt_to_assets"] == ("0", "0.00")
    assert _factors(result)["guarantor_strength"] == ("0.3", "4.50")
    assert (result.score, result.recommendation) == (D("18.00"), "do_not_ship")


def test_no_assets_and_no_guarantor_earn_nothing():
    result = score(Answers(total_assets=D("0"), total_liabilities=D("10"), overdue_count_24m=0, years_in_business=5,
                           down_payment=D("0"), price=D("100"), financed=D("100"), guarantor_net_assets=D("0")))
    assert _factors(result)["debt_to_assets"] == ("0", "0.00")
    assert _factors(result)["guarantor_strength"] == ("0", "0.00")


def test_every_factor_has_a_value_and_an_input_field():
    answers = Answers(total_assets=D("1"), total_liabilities=D("0"), overdue_count_24m=0, years_in_business=1,
                      down_payment=D("0"), price=D("1"), financed=D("1"), guarantor_net_assets=D("0"))
    assert tuple(factor_values(answers)) == FACTORS
    assert tuple(ScoringFactors.model_fields) == FACTORS
