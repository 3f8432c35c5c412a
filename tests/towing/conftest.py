"""Towing's tests: an open case of C01 held by collector1 (tests/collection/log_fixtures.py), a flow
for `tow` (L1), photos kept in the test's own directory."""

import pytest
from sqlalchemy import update

from app.attachments.router import attachment_storage
from app.attachments.storage import LocalStorage
from app.org.models import Company
from tests.approvals.conftest import role_rule
from tests.collection.log_fixtures import *  # noqa: F403 - the case fixtures


@pytest.fixture
def app(app, tmp_path):
    app.dependency_overrides[attachment_storage] = lambda: LocalStorage(tmp_path / "attachments")
    return app


@pytest.fixture
def tow_flow(make_flow, org):  # noqa: F811 - the engine's fixture
    async def make() -> None:
        await make_flow([{"name": "L1", "rule": role_rule(org, "approver_l1")}], request_type="tow")

    return make


@pytest.fixture(autouse=True)
async def low_tow_minimum(db, org):
    """The case of these tests is 10 days past due: C01 lets a tow be filed from 1 day past due (the
    minimum itself: tests/towing/test_tow_minimum.py)."""
    await db.execute(update(Company).where(Company.id == org.companies["C01"].id).values(tow_min_dpd=1))
    await db.flush()
