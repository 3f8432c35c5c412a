"""Demo customers, the scheduled sweep job, and idempotent creation."""

from datetime import timedelta

from sqlalchemy import func, select

from app.core import jobs
from app.core.db import utcnow
from app.customers import pool
from app.customers.demo import seed_customers
from app.customers.models import Contact, Customer, CustomerContact
from tests.customers.helpers import unique_name


async def test_demo_data_has_200_customers_across_c01_to_c03_in_every_state(db, org):
    await seed_customers(db, org)
    rows = (await db.execute(select(Customer.company_id, Customer.status, Customer.secured_at,
                                    Customer.protected_until).where(Customer.group_id == org.group.id))).all()
    assert len(rows) == 200
    assert {r.company_id for r in rows} == {org.companies[c].id for c in ("C01", "C02", "C03")}
    soon = utcnow() + timedelta(days=5)
    assert sum(r.status == "pool" for r in rows) >= 20
    assert sum(r.secured_at is not None for r in rows) >= 10
    assert sum(r.protected_until is not None and r.secured_at is None and r.protected_until < soon
               for r in rows) >= 10
    assert await db.scalar(select(func.count()).select_from(Contact).where(Contact.group_id == org.group.id)) == 200
    assert await db.scalar(select(func.count()).select_from(CustomerContact)) >= 200


async def test_the_sweep_is_a_scheduled_job_runnable_from_cron():
    job = jobs.JOBS["pool-sweep"]
    assert job.run is pool.pool_sweep_job and job.every_seconds == 300


async def test_creating_a_customer_is_idempotent(client, auth):
    body = {"name": unique_name()}
    headers = auth("sales1", **{"Idempotency-Key": "create-customer-1"})
    first = await client.post("/api/v1/customers", json=body, headers=headers)
    replay = await client.post("/api/v1/customers", json=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true" and replay.json()["id"] == first.json()["id"]


async def test_a_retried_import_replays_even_with_a_new_multipart_boundary(client, auth):
    from tests.customers.test_import_export import _row, _xlsx

    content = _xlsx([_row(unique_name("幂等导入"))])
    files = {"file": ("c.xlsx", content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    headers = auth("admin", **{"Idempotency-Key": "import-1"})
    # httpx draws a fresh random boundary for every request, as a retrying client would.
    first = await client.post("/api/v1/customers/import", headers=headers, files=files)
    again = await client.post("/api/v1/customers/import", headers=headers, files=files)
    assert first.status_code == 201, first.text
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"


async def test_an_import_key_reused_with_another_file_is_a_conflict(client, auth):
    from tests.customers.test_import_export import _row, _xlsx

    headers = auth("admin", **{"Idempotency-Key": "import-2"})
    for name, expected in (("甲", 201), ("乙", 409)):
        content = _xlsx([_row(unique_name(f"幂等导入{name}"))])
        response = await client.post("/api/v1/customers/import", headers=headers,
                                     files={"file": ("c.xlsx", content, "application/octet-stream")})
        assert response.status_code == expected, response.text


async def test_other_methods_on_action_paths_answer_405(client, auth):
    response = await client.patch("/api/v1/customers/assign", json={}, headers=auth("admin"))
    assert response.status_code == 405 and response.headers["allow"] == "POST"
