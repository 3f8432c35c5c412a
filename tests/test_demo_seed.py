"""`./scripts/run`'s demo, seeded whole into an empty database as the app role, on whatever day the
clock says (the clock matrix of `./scripts/test` runs this at three awkward days): it seeds without
an error and holds what the README's walkthroughs describe: every account equal to the replay of its
entries, accounts in every bucket (most of them in C01) and a settled one, cases held by each
collector and one waiting for dispatch, promises due, the device commands acknowledged, waiting for
the machine to stop and expired, and requests waiting."""

import asyncio
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.core import db as core_db
from app.core.db import to_async_url
from app.demo.seed import seed_demo
from app.ledger.verify import verify
from tests.contract.conftest import _create_database, _with_database

FACTS = {
    "buckets": "SELECT array_agg(DISTINCT bucket ORDER BY bucket) FROM ledger_account WHERE NOT settled",
    "c01_buckets": """SELECT array_agg(DISTINCT a.bucket ORDER BY a.bucket) FROM ledger_account a
                       JOIN company c ON c.id = a.company_id WHERE c.code = 'C01' AND NOT a.settled""",
    "c01_settled": """SELECT count(*) FROM ledger_account a JOIN company c ON c.id = a.company_id
                       WHERE c.code = 'C01' AND a.settled""",
    "c01_accounts": """SELECT array_agg(k.number || ':' || a.bucket || ':' || a.settled ORDER BY k.number)
                        FROM ledger_account a JOIN company c ON c.id = a.company_id
                        JOIN contract k ON k.id = a.contract_id WHERE c.code = 'C01'""",
    "collectors": """SELECT array_agg(DISTINCT u.username ORDER BY u.username) FROM collection_case k
                      JOIN app_user u ON u.id = k.collector_id WHERE k.state = 'open'""",
    "c01_waiting": """SELECT count(*) FROM collection_case k JOIN company c ON c.id = k.company_id
                       WHERE c.code = 'C01' AND k.state = 'open' AND k.collector_id IS NULL""",
    "promises": "SELECT array_agg(DISTINCT state ORDER BY state) FROM promise_to_pay",
    "commands": "SELECT array_agg(DISTINCT state ORDER BY state) FROM device_command",
    "pending_waivers": "SELECT count(*) FROM interest_waiver WHERE status = 'pending'",
    "pending_locks": "SELECT count(*) FROM lock_request WHERE status = 'pending'",
    # The README's requests walkthrough: the tow requests' collector overrides the minimum DPD.
    "tow_overriders": """SELECT array_agg(u.username ORDER BY u.username) FROM user_permission p
                          JOIN app_user u ON u.id = p.user_id WHERE p.permission = 'tow.override_min_dpd'
                          AND p.granted""",
    "pending_tows": "SELECT count(*) FROM tow_request WHERE status = 'pending'",
}


async def _seed_and_read(url: str) -> dict:
    engine = create_async_engine(to_async_url(url))
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            assert await seed_demo(session) is True
            await core_db.commit(session)
            ledger = await verify(session)  # every stored account equals the replay of its entries
        async with engine.connect() as conn:
            facts = {name: (await conn.execute(text(sql))).scalar_one() for name, sql in FACTS.items()}
        return {**facts, "ledger_accounts": ledger.contracts, "ledger_mismatches": ledger.mismatches}
    finally:
        await engine.dispose()


def test_the_whole_demo_seeds_on_the_clocks_day_and_holds_what_the_walkthroughs_show(database_urls):
    owner_url, app_url = database_urls
    name = f"recourse_demo_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_database(owner_url, name))
    from app.cli import migrate

    migrate(_with_database(owner_url, name))
    facts = asyncio.run(_seed_and_read(_with_database(app_url, name)))
    assert facts["ledger_accounts"] >= 20 and facts["ledger_mismatches"] == {}, facts
    assert facts["buckets"] == ["M1", "M2", "M3", "M4+", "current"], facts
    # C01 (clerk1's walkthrough) has most of them; which contract lands where follows from the day,
    # and on some days one bucket is held only by another company (README, "Walking through the ledger").
    assert len(facts["c01_buckets"]) >= 4 and {"M1", "current"} <= set(facts["c01_buckets"]), facts
    assert facts["c01_settled"] >= 1, facts
    assert facts["collectors"] == ["collector1", "collector2", "collector3"], facts
    assert facts["c01_waiting"] >= 1, facts
    assert {"pending", "kept", "broken"} <= set(facts["promises"]), facts
    assert {"acknowledged", "waiting_safe", "expired"} <= set(facts["commands"]), facts
    assert facts["pending_waivers"] >= 1 and facts["pending_locks"] >= 1, facts
    assert facts["tow_overriders"] == ["collector1"] and facts["pending_tows"] >= 1, facts
