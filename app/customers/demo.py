"""Demo customers: 200 across C01–C03 with a contact each; some in the pool, some close to the
end of their protection, some signed. Bulk inserts, so seeding stays fast."""

import random
import uuid
from datetime import timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.customers.models import Contact, Customer, CustomerContact
from app.customers.normalize import normalize_name

CITIES = ["上海", "杭州", "南京", "苏州", "合肥", "宁波", "无锡", "常州", "嘉兴", "绍兴"]
WORDS = ["宏达", "恒通", "远大", "长江", "联合", "华信", "金鼎", "鑫源", "中联", "瑞丰", "永盛", "天成", "东方", "顺发"]
TRADES = ["机械", "工程", "建设", "重工", "设备租赁", "土石方", "路桥", "矿业"]
SUFFIXES = ["有限公司", "有限责任公司", "股份有限公司"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超"]


async def seed_customers(session: AsyncSession, org, count: int = 200) -> None:  # noqa: ANN001 - DemoOrg
    rng = random.Random(20261123)  # noqa: S311 - demo data, reproducible
    now = utcnow()
    salespeople = [org.users["sales1"].id, org.users["sales2"].id]
    companies = [org.companies[c].id for c in ("C01", "C01", "C02", "C03")]
    names: set[str] = {"上海宏达机械有限公司"}
    ordered = ["上海宏达机械有限公司"]
    while len(ordered) < count:
        name = rng.choice(CITIES) + rng.choice(WORDS) + rng.choice(TRADES) + rng.choice(SUFFIXES)
        if normalize_name(name) not in {normalize_name(n) for n in names}:
            names.add(name)
            ordered.append(name)
    customers, contacts, links = [], [], []
    for i, name in enumerate(ordered):
        cid, company_id = uuid.uuid4(), companies[i % len(companies)]
        owner = salespeople[i % 2]
        row = {
            "id": cid, "group_id": org.group.id, "company_id": company_id, "kind": "company", "name": name,
            "name_norm": normalize_name(name), "addresses": [f"{name[:2]}市示范路{i + 1}号"],
            "phones": [f"+86139{10000000 + i:08d}"], "email": f"contact{i}@demo.example.com",
            "industry": "工程机械", "category": "intended", "grade": "ABC"[i % 3], "credit_score": 400 + (i * 37) % 500,
            "tags": [], "owner_id": owner, "created_by_id": owner, "status": "private", "former_owner_id": None,
            "pooled_at": None, "secured_at": None, "secured_reason": None,
            "protected_until": now + timedelta(days=5 + i % 10, hours=i % 24),
            "last_follow_up_at": now - timedelta(days=i % 9), "notes": None,
        }
        if i % 5 == 0:  # in the public pool
            row.update(owner_id=None, status="pool", protected_until=None, pooled_at=now - timedelta(days=i % 20))
        elif i % 7 == 0:  # signed: the owner's for good
            row.update(category="signed", secured_at=now - timedelta(days=3), secured_reason="contract_signed")
        elif i % 6 == 1:  # in the last days of protection
            row.update(protected_until=now + timedelta(days=1 + i % 4, hours=3))
        customers.append(row)
        contact_id = uuid.uuid4()
        contact_owner = row["owner_id"] or owner
        contacts.append({
            "id": contact_id, "group_id": org.group.id,
            "company_id": org.users["sales1"].company_id, "owner_id": contact_owner, "created_by_id": contact_owner,
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i % 2 else ""),
            "mobile": f"+86138{10000000 + i:08d}", "office_phone": None, "email": None, "position": "总经理",
            "id_number": None, "notes": None,
        })
        links.append({"customer_id": cid, "contact_id": contact_id, "relation": "legal_representative",
                      "created_by_id": contact_owner, "created_at": now})
    await session.execute(insert(Customer), customers)
    await session.execute(insert(Contact), contacts)
    await session.execute(insert(CustomerContact), links)
