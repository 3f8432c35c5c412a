"""Messages' tests run on contracts and cases made the way collections' tests make them."""

from tests.collection.conftest import (  # noqa: F401 - the collections' and ledger's fixtures
    EXAMPLE_TERMS,
    act,
    approval_of,
    business_date,
    flows,
    make_flow,
    new_contract,
    overdue_case,
    shipped,
)
