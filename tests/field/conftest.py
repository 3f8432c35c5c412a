"""The field surface's tests: cases of C01 held by collector1 (tests/collection/log_fixtures.py),
the money requests' flows, photos kept in the test's own directory."""

import pytest
from sqlalchemy import update

from app.attachments.router import attachment_storage
from app.attachments.storage import LocalStorage
from app.org.models import Company
from tests.collection.log_fixtures import *  # noqa: F403 - the case fixtures
from tests.requests.conftest import request_flows  # noqa: F401 - the money requests' flows

MOBILE = "/api/mobile/v1"


@pytest.fixture
def app(app, tmp_path):
    app.dependency_overrides[attachment_storage] = lambda: LocalStorage(tmp_path / "attachments")
    return app


@pytest.fixture
def sync(client, auth):
    """sync("collector1", cursor=None) → the sync's JSON (asserting 200)."""

    async def call(user: str = "collector1", cursor: str | None = None) -> dict:
        params = {} if cursor is None else {"cursor": cursor}
        response = await client.get(f"{MOBILE}/sync", params=params, headers=auth(user))
        assert response.status_code == 200, response.text
        return response.json()

    return call


@pytest.fixture(autouse=True)
async def low_tow_minimum(db, org):
    """The case of these tests is 10 days past due: C01 lets a tow be filed from 1 day past due (the
    minimum itself: tests/towing/test_tow_minimum.py)."""
    await db.execute(update(Company).where(Company.id == org.companies["C01"].id).values(tow_min_dpd=1))
    await db.flush()
