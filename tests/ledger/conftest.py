"""The ledger's database tests hang their entries on a draft contract made through the API, and try
to rewrite them as the tables' owner, as the audit trail's tests do."""

from tests.contracts.conftest import new_contract  # noqa: F401 - the sales area's contract fixture
from tests.core.test_audit import owner_db  # noqa: F401 - a rolled-back session as the tables' owner
