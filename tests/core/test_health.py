"""Liveness and readiness; readiness survives the database going away and coming back."""

from app.core import db as core_db


async def test_healthz_answers_without_the_database(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_readyz_is_200_with_the_database_and_503_without(client, database_url, engine):
    assert (await client.get("/readyz")).status_code == 200
    saved = core_db._engine, core_db._sessionmaker, core_db._read_sessionmaker
    try:
        core_db.configure_engine("postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none")
        down = await client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable"
    finally:
        await core_db.get_engine().dispose()
        core_db._engine, core_db._sessionmaker, core_db._read_sessionmaker = saved
    assert (await client.get("/readyz")).status_code == 200


async def test_metrics_count_requests_by_route_template(client, auth, org):
    await client.get(f"/api/v1/companies/{org.companies['C01'].id}", headers=auth("admin"))
    text = (await client.get("/metrics")).text
    assert 'route="/api/v1/companies/{company_id}"' in text
    assert str(org.companies["C01"].id) not in text
