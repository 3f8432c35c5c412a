"""The group-wide duplicate check: it searches the whole group regardless of the caller's scope
and shows only a name, the follow status and whether the caller may claim the record."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.principal import Principal
from app.customers import normalize as norm
from app.customers import pool
from app.customers import repository as repo
from app.customers.models import Contact, Customer
from app.customers.permissions import CUSTOMER_CLAIM
from app.customers.schemas import DuplicateHit


def follow_status(status: str, category: str, secured_at: datetime | None) -> str:
    if status == "pool":
        return "unfollowed"
    return "signed" if secured_at is not None or category == "signed" else "negotiating"


async def duplicate_check(session: AsyncSession, principal: Principal, *, name: str | None = None,
                          contact_name: str | None = None, phone: str | None = None, email: str | None = None,
                          credit_code: str | None = None, id_number: str | None = None,
                          limit: int = 20) -> list[DuplicateHit]:
    """Rule: the duplicate check searches the whole group regardless of the caller's scope, and
    shows only the name, the follow status and whether the caller may claim it."""
    group_id = principal.group_id
    hits: dict[tuple[str, uuid.UUID], DuplicateHit] = {}
    rows: list[tuple[str, Any]] = []
    if name:
        name_norm = norm.normalize_name(name)
        if name_norm:
            rows += [("name", r) for r in await repo.customers_by_name(session, group_id, name_norm, limit)]
    for field, value in (("credit_code", credit_code), ("id_number", id_number)):
        if value:
            rows += [(field, r) for r in await repo.customers_by(
                session, group_id, getattr(Customer, field) == value.strip().upper(), limit)]
    e164 = norm.normalize_phone(phone) if phone else None
    email_norm = norm.normalize_email(email)
    if e164:
        rows += [("phone", r) for r in await repo.customers_by(session, group_id, Customer.phones.contains([e164]),
                                                               limit)]
    if email_norm:
        rows += [("email", r) for r in await repo.customers_by(session, group_id, Customer.email == email_norm, limit)]
    contact_rows: list[tuple[str, Any]] = []
    if contact_name and contact_name.strip():
        contact_rows += [("contact_name", r) for r in await repo.contacts_matching(
            session, group_id, Contact.name == contact_name.strip(), limit)]
    if e164:
        contact_rows += [("phone", r) for r in await repo.contacts_matching(
            session, group_id, (Contact.mobile == e164) | (Contact.office_phone == e164), limit)]
    if email_norm:
        contact_rows += [("email", r) for r in await repo.contacts_matching(
            session, group_id, Contact.email == email_norm, limit)]

    customers = [(m, r) for m, r in rows] + [(m, r) for m, r in contact_rows if r.id is not None]
    # Rules matter only for the cool-down of a caller's own former customers: usually no query.
    rules = await repo.pool_rules(session, group_id) if any(
        r.status == "pool" and r.former_owner_id == principal.user_id for _, r in customers) else {}
    now = utcnow()
    for matched_on, r in customers:
        key = ("customer", r.id)
        if key not in hits:
            hits[key] = DuplicateHit(type="customer", id=r.id, name=r.name, matched_on=matched_on,  # type: ignore[arg-type]
                                     status=follow_status(r.status, r.category, r.secured_at),  # type: ignore[arg-type]
                                     claimable=may_claim(principal, r, rules, now))
    for matched_on, r in contact_rows:
        contact_id, contact_name_ = r.contact_id, r.contact_name
        if r.id is None and ("contact", contact_id) not in hits:
            # A contact linked to no customer: somebody owns it, so somebody is following.
            hits[("contact", contact_id)] = DuplicateHit(type="contact", id=contact_id, name=contact_name_,
                                                         matched_on=matched_on, status="negotiating",  # type: ignore[arg-type]
                                                         claimable=False)
    return list(hits.values())[:limit * 2]


def may_claim(principal: Principal, row: Any, rules: dict[uuid.UUID, Any], now: datetime) -> bool:
    """Whether the caller could claim this customer now (pool, permission, company, cool-down)."""
    if row.status != "pool" or not principal.has(CUSTOMER_CLAIM):
        return False
    if not (principal.scope.all_companies or row.company_id == principal.company_id
            or row.company_id in principal.scope.company_ids):
        return False
    if row.former_owner_id == principal.user_id and row.pooled_at is not None:
        cooldown = pool.rules_from_row(rules.get(row.company_id)).reclaim_cooldown_days
        return now >= row.pooled_at + timedelta(days=cooldown)
    return True


