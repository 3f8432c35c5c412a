"""Attachments' tests keep the bytes in the test's own directory (the storage dependency overridden)."""

import pytest

from app.attachments.router import attachment_storage
from app.attachments.storage import LocalStorage
from app.org.repository import load_principals


@pytest.fixture
def storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "attachments")


@pytest.fixture
def app(app, storage):
    app.dependency_overrides[attachment_storage] = lambda: storage
    return app


@pytest.fixture
def principal_of(db, org):
    """principal_of("collector1") → that demo user's Principal, as a request would resolve it."""

    async def load(username: str):
        user_id = org.users[username].id
        return (await load_principals(db, [user_id]))[user_id]

    return load
