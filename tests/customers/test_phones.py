"""Phone numbers keep their trunk prefix and area code when shown, and masks keep the area code
visible: `021-6123-4567` is shown as `02161234567` and masked as `021****4567`."""

import pytest

from app.customers.normalize import display_phone, mask_phone, normalize_phone
from tests.customers.helpers import create_customer, unique_name


@pytest.mark.parametrize(("typed", "shown", "masked"), [
    ("021-6123-4567", "02161234567", "021****4567"),  # Shanghai: two-digit area code
    ("+86 21 6123 4567", "02161234567", "021****4567"),
    ("010-12345678", "01012345678", "010****5678"),  # Beijing
    ("0571-8888-1234", "057188881234", "0571****1234"),  # Hangzhou: three-digit area code
    ("0898-1234567", "08981234567", "0898****4567"),  # a digit short: the area code still shows
    ("138-1234-5678", "13812345678", "138****5678"),  # mobiles stay 11 digits
    ("4008123123", "4008123123", "400****3123"),  # no trunk prefix for 400 numbers
    ("+1 650 253 0000", "+16502530000", "+1650****0000"),  # foreign numbers stay international
    ("95588", "95588", "*****"),  # too short to show any part
])
def test_numbers_are_shown_nationally_with_their_area_code_and_masked_in_the_middle(typed, shown, masked):
    e164 = normalize_phone(typed)
    assert e164 is not None
    assert display_phone(e164) == shown
    assert mask_phone(e164) == masked


async def test_a_landline_keeps_its_area_code_in_full_and_masked_views(client, auth, org):
    customer = await create_customer(client, auth, "sales1", phones=["021-6123-4567", "138-1234-5678"])
    assert customer["phones"] == ["02161234567", "13812345678"]
    await client.post(f"/api/v1/customers/{customer['id']}/shares",
                      json={"user_ids": [str(org.users["sales2"].id)]}, headers=auth("sales1"))
    seen = (await client.get(f"/api/v1/customers/{customer['id']}", headers=auth("sales2"))).json()
    assert seen["phones"] == ["021****4567", "138****5678"] and seen["masked"] is True


async def test_a_landline_is_found_as_a_duplicate_however_it_is_typed(client, auth, org):
    customer = await create_customer(client, auth, "sales1", phones=["(021) 6123-4567"])
    for typed in ("02161234567", "+86 21 6123 4567", "021-6123-4567"):
        hits = (await client.get("/api/v1/customers/duplicates", params={"phone": typed},
                                 headers=auth("sales2"))).json()["items"]
        assert customer["id"] in [h["id"] for h in hits], typed


async def test_a_contacts_office_phone_keeps_its_area_code(client, auth, org):
    created = await client.post("/api/v1/contacts", headers=auth("sales1"),
                                json={"name": unique_name("李"), "office_phone": "021-6123-4567"})
    assert created.status_code == 201, created.text
    assert created.json()["office_phone"] == "02161234567"
