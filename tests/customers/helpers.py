"""Helpers for the CRM tests: create customers and contacts through the API or straight into the
test transaction (for pool set-ups the API cannot produce directly)."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from itertools import count

from app.core.db import utcnow
from app.customers.models import Customer
from app.customers.normalize import normalize_name

_seq = count(1)


def unique_name(prefix: str = "测试机械") -> str:
    return f"{prefix}{next(_seq)}号有限公司"


async def create_customer(client, auth, username: str = "sales1", **fields) -> dict:
    body = {"name": unique_name(), **fields}
    response = await client.post("/api/v1/customers", json=body, headers=auth(username))
    assert response.status_code == 201, response.text
    return response.json()


async def create_contact(client, auth, username: str = "sales1", **fields) -> dict:
    body = {"name": "张三", **fields}
    response = await client.post("/api/v1/contacts", json=body, headers=auth(username))
    assert response.status_code == 201, response.text
    return response.json()


@dataclass(frozen=True)
class Inserted:
    """Plain values: ORM objects of the test session expire whenever a request rolls back."""

    id: uuid.UUID
    name: str


async def insert_customer(db, org, *, company: str = "C01", owner: str | None = None, name: str | None = None,
                          protected_days: float | None = 15, pooled_days_ago: float = 30,
                          former_owner: str | None = None) -> Inserted:
    """A customer inserted directly: in the pool (owner None) or private with protection ending
    `protected_days` from now (negative: already expired)."""
    name = name or unique_name()
    now = utcnow()
    owner_user = org.users[owner] if owner else None
    customer = Customer(
        id=uuid.uuid4(), group_id=org.group.id, company_id=org.companies[company].id, kind="company", name=name,
        name_norm=normalize_name(name), owner_id=owner_user.id if owner_user else None,
        created_by_id=org.users["admin"].id, status="private" if owner_user else "pool",
        protected_until=now + timedelta(days=protected_days) if owner_user and protected_days is not None else None,
        pooled_at=None if owner_user else now - timedelta(days=pooled_days_ago),
        former_owner_id=org.users[former_owner].id if former_owner else None,
        phones=[], addresses=[], tags=[], category="intended",
    )
    db.add(customer)
    await db.flush()
    return Inserted(customer.id, name)
