"""The clerk's calculator: ledger.md's worked examples through the API, and 422 problems with
pointers for bad terms (never a 500)."""

import pytest

PREVIEW = "/api/v1/contracts/schedule-preview"


async def test_the_annuity_example_of_ledger_md(client, auth):
    response = await client.post(PREVIEW, headers=auth("clerk1"), json={
        "price": "400000.00", "annual_rate": "0.06", "term_months": 12, "first_due_date": "2026-01-31",
        "schedule_kind": "annuity"})
    assert response.status_code == 200, response.text
    body = response.json()
    rows = body["instalments"]
    assert (rows[0]["due_date"], rows[0]["interest"], rows[0]["principal"], rows[0]["total"]) == (
        "2026-01-31", "2000.00", "32426.57", "34426.57")
    assert (rows[1]["due_date"], rows[1]["interest"], rows[1]["principal"]) == ("2026-02-28", "1837.87", "32588.70")
    assert (rows[11]["due_date"], rows[11]["interest"], rows[11]["principal"], rows[11]["total"]) == (
        "2026-12-31", "171.28", "34255.32", "34426.60")
    assert body["total_principal"] == body["financed"] == "400000.00" and body["frozen"] is False


async def test_the_equal_principal_example_of_ledger_md(client, auth):
    response = await client.post(PREVIEW, headers=auth("sales1"), json={
        "price": "100000", "annual_rate": "0.12", "term_months": 6, "first_due_date": "2026-03-15",
        "schedule_kind": "equal_principal"})
    rows = response.json()["instalments"]
    assert [r["principal"] for r in rows] == ["16666.67"] * 5 + ["16666.65"]
    assert [r["interest"] for r in rows] == ["1000.00", "833.33", "666.67", "500.00", "333.33", "166.67"]


BASE = {"price": "400000.00", "annual_rate": "0.06", "term_months": 12, "first_due_date": "2026-01-31"}


@pytest.mark.parametrize(("changes", "pointer", "code"), [
    ({"price": "-5.00"}, "/body/price", "terms.negative_amount"),
    ({"down_payment": "500000.00"}, "/body/down_payment", "terms.down_payment_above_price"),
    ({"annual_rate": "0.30"}, "/body/annual_rate", "terms.rate_above_maximum"),
    ({"term_months": 0}, "/body/term_months", None),
    ({"schedule_kind": "custom", "term_months": 2,
      "custom_rows": [{"principal": "1.00", "interest": "0"}, {"principal": "2.00", "interest": "0"}]},
     "/body/custom_rows", "terms.custom_rows_sum"),
    ({"schedule_kind": "lease"}, "/body/monthly_rent", "terms.rent_required"),
    ({"allocation_order": ["principal", "principal", "fee", "interest"]}, "/body/allocation_order",
     "terms.allocation_order_invalid"),
])
async def test_bad_terms_are_422_with_pointers(client, auth, changes, pointer, code):
    response = await client.post(PREVIEW, headers=auth("clerk1"), json={**BASE, **changes})
    assert response.status_code == 422, response.text
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    if code:
        assert response.json()["code"] == code


async def test_a_contract_with_bad_terms_names_the_terms_field(client, auth, new_contract):
    contract = await new_contract()
    response = await client.patch(f"/api/v1/contracts/{contract['id']}", headers=auth("clerk1"),
                                  json={"terms": {**BASE, "down_payment": "999999.00"}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/terms/down_payment"


async def test_a_drafts_schedule_is_a_preview_of_its_terms(client, auth, new_contract):
    contract = await new_contract()
    schedule = (await client.get(f"/api/v1/contracts/{contract['id']}/schedule", headers=auth("sales1"))).json()
    assert schedule["frozen"] is False and len(schedule["instalments"]) == 12
    assert schedule["total_principal"] == "400000.00"


@pytest.mark.parametrize("field", ["annual_rate", "penalty_daily_rate"])
async def test_a_rate_finer_than_its_column_is_refused_never_rounded(client, auth, new_contract, field):
    # Numeric(9, 6): "0.0612345" would be stored as 0.061235 while the 201 echoed it and the
    # preview computed with it. Refused at the edge, for the preview, a new contract and a change.
    finer = {"annual_rate": "0.0612345", "penalty_daily_rate": "0.0005001"}[field]
    preview = await client.post(PREVIEW, headers=auth("clerk1"), json={**BASE, field: finer})
    contract = await new_contract()
    created = await client.post("/api/v1/contracts", headers=auth("sales1"), json={
        "customer_id": contract["customer_id"], "terms": {**BASE, field: finer}, "machine_ids": []})
    changed = await client.patch(f"/api/v1/contracts/{contract['id']}", headers=auth("sales1"),
                                 json={"terms": {**BASE, field: finer}})
    for response, pointer in ((preview, f"/body/{field}"), (created, f"/body/terms/{field}"),
                              (changed, f"/body/terms/{field}")):
        assert response.status_code == 422, response.text
        assert pointer in [e["pointer"] for e in response.json()["errors"]], response.text


async def test_the_contract_keeps_the_rate_the_preview_computed_with(client, auth, new_contract):
    terms = {**BASE, "annual_rate": "0.061235", "penalty_daily_rate": "0.000501", "first_due_date": "2099-01-31"}
    preview = await client.post(PREVIEW, headers=auth("clerk1"), json=terms)
    assert preview.status_code == 200, preview.text
    contract = await new_contract(terms)
    assert (contract["terms"]["annual_rate"], contract["terms"]["penalty_daily_rate"]) == ("0.061235", "0.000501")
    schedule = await client.get(f"/api/v1/contracts/{contract['id']}/schedule", headers=auth("sales1"))
    assert schedule.json()["instalments"] == preview.json()["instalments"]
