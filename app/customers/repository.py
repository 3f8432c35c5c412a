"""Every query of the CRM area. Reads start from `readable()`/`writable()`; the two group-wide
reads (the pool's names and the duplicate check) are separate, narrow projections on purpose."""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Forbidden, NotFound
from app.core.principal import Principal
from app.core.scoping import readable, scope_condition, writable
from app.core.sql import like_contains
from app.customers.models import Contact, Customer, CustomerActivity, CustomerContact, CustomerShare, PoolRule
from app.org.models import Company, User


def not_found(resource: str, id_: object) -> NotFound:
    """The one 404 of this area: code `<resource>.not_found` (`customer.not_found`, `contact.not_found`)."""
    return NotFound(f"{resource.capitalize()} {id_} not found.", code=f"{resource}.not_found")


# --- customers -------------------------------------------------------------------------------------

def readable_customers(principal: Principal) -> Select[Any]:
    return readable(principal, Customer).where(Customer.deleted_at.is_(None))


async def get_customer(session: AsyncSession, principal: Principal, customer_id: uuid.UUID, *,
                       write: bool = False) -> Customer:
    """The customer if readable (404 otherwise); with `write`, row-locked and 403 when read-only."""
    if write:
        obj = await session.scalar(writable(principal, Customer).where(
            Customer.id == customer_id, Customer.deleted_at.is_(None)).with_for_update())
        if obj is not None:
            return obj
    obj = await session.scalar(readable_customers(principal).where(Customer.id == customer_id))
    if obj is None:
        raise not_found("customer", customer_id)
    if write:
        raise Forbidden("You may read this customer but not change it.", code="scope.read_only")
    return obj


def filter_customers(stmt: Select[Any], *, owner_id: uuid.UUID | None = None, company_id: uuid.UUID | None = None,
                     category: str | None = None, grade: str | None = None, status: str | None = None,
                     protection_expiring_before: datetime | None = None, q: str | None = None,
                     q_norm: str | None = None) -> Select[Any]:
    for column, value in ((Customer.owner_id, owner_id), (Customer.company_id, company_id),
                          (Customer.category, category), (Customer.grade, grade), (Customer.status, status)):
        if value is not None:
            stmt = stmt.where(column == value)
    if protection_expiring_before is not None:
        stmt = stmt.where(Customer.protected_until < protection_expiring_before, Customer.secured_at.is_(None))
    if q:
        # On the normalised name, so the trigram index serves it (and width/case/spaces do not matter).
        stmt = stmt.where(Customer.name_norm.like(like_contains(q_norm or q)))
    return stmt


async def owner_departments(session: AsyncSession, user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Any]:
    ids = {u for u in user_ids if u is not None}
    if not ids:
        return {}
    return dict((await session.execute(select(User.id, User.department_id).where(User.id.in_(ids)))).all())


async def edit_shared_customer_ids(session: AsyncSession, user_id: uuid.UUID,
                                   customer_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(customer_ids)
    if not ids:
        return set()
    return set((await session.scalars(select(CustomerShare.customer_id).where(
        CustomerShare.user_id == user_id, CustomerShare.can_edit.is_(True),
        CustomerShare.customer_id.in_(ids)))).all())


async def shares_of(session: AsyncSession, customer_id: uuid.UUID) -> list[Any]:
    return list((await session.execute(
        select(CustomerShare.user_id, User.display_name, CustomerShare.can_edit, CustomerShare.created_at)
        .join(User, User.id == CustomerShare.user_id)
        .where(CustomerShare.customer_id == customer_id).order_by(CustomerShare.created_at, CustomerShare.user_id)
    )).all())


async def recent_activity(session: AsyncSession, customer_id: uuid.UUID, limit: int = 20) -> list[CustomerActivity]:
    return list((await session.scalars(
        select(CustomerActivity).where(CustomerActivity.customer_id == customer_id)
        .order_by(CustomerActivity.occurred_at.desc(), CustomerActivity.id.desc()).limit(limit)
    )).all())


async def contacts_of_customer(session: AsyncSession, customer_id: uuid.UUID) -> list[tuple[Contact, str]]:
    return [(c, r) for c, r in (await session.execute(
        select(Contact, CustomerContact.relation).join(CustomerContact, CustomerContact.contact_id == Contact.id)
        .where(CustomerContact.customer_id == customer_id, Contact.deleted_at.is_(None))
        .order_by(Contact.name, Contact.id)
    )).all()]


async def name_taken(session: AsyncSession, group_id: uuid.UUID, name_norm: str,
                     exclude_id: uuid.UUID | None = None) -> bool:
    stmt = select(Customer.id).where(Customer.group_id == group_id, Customer.name_norm == name_norm,
                                     Customer.deleted_at.is_(None))
    if exclude_id is not None:
        stmt = stmt.where(Customer.id != exclude_id)
    return await session.scalar(stmt.limit(1)) is not None


async def identity_taken(session: AsyncSession, group_id: uuid.UUID, column: Any, value: str,
                         exclude_id: uuid.UUID | None = None) -> bool:
    stmt = select(Customer.id).where(Customer.group_id == group_id, column == value, Customer.deleted_at.is_(None))
    if exclude_id is not None:
        stmt = stmt.where(Customer.id != exclude_id)
    return await session.scalar(stmt.limit(1)) is not None


async def company_codes(session: AsyncSession, group_id: uuid.UUID) -> dict[uuid.UUID, str]:
    return dict((await session.execute(select(Company.id, Company.code).where(Company.group_id == group_id))).all())


async def usernames(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    ids = list(user_ids)
    if not ids:
        return {}
    return dict((await session.execute(select(User.id, User.username).where(User.id.in_(ids)))).all())


# --- the pool --------------------------------------------------------------------------------------

def pool_companies_condition(principal: Principal) -> Any:
    """Pool customers a principal may see by name and claim: their own company's and those of
    their role scope. This is not the data scope: pool rows are shown by name only."""
    if principal.scope.all_companies:
        return Customer.group_id == principal.group_id
    companies = set(principal.scope.company_ids)
    if principal.company_id is not None:
        companies.add(principal.company_id)
    return Customer.company_id.in_(companies) if companies else Customer.id.is_(None)


def pool_customers(principal: Principal) -> Select[Any]:
    # A deliberate, separate query: salespeople see pool customers' names (and nothing else)
    # although their data scope does not cover them; the projection is fixed here.
    return select(Customer.id, Customer.name, Customer.company_id, Customer.pooled_at,
                  Customer.former_owner_id).where(
        Customer.group_id == principal.group_id, Customer.status == "pool", Customer.deleted_at.is_(None),
        pool_companies_condition(principal))


async def lock_pool_customer(session: AsyncSession, principal: Principal, customer_id: uuid.UUID) -> Customer:
    """A customer to claim, row-locked: one in a pool the principal sees, or one they may read
    (so that claiming it can be refused as not in the pool); 404 for anything else, exactly like
    a missing id: somebody else's private customer must not be told apart from no customer."""
    customer = await session.scalar(
        select(Customer).where(Customer.id == customer_id, Customer.group_id == principal.group_id,
                               Customer.deleted_at.is_(None),
                               ((Customer.status == "pool") & pool_companies_condition(principal))
                               | scope_condition(principal, Customer))
        .with_for_update())
    if customer is None:
        raise not_found("customer", customer_id)
    return customer


async def pool_rules(session: AsyncSession, group_id: uuid.UUID) -> dict[uuid.UUID, PoolRule]:
    return {r.company_id: r for r in (await session.scalars(
        select(PoolRule).where(PoolRule.group_id == group_id))).all()}


async def companies_for_rules(session: AsyncSession, principal: Principal) -> list[Company]:
    return list((await session.scalars(readable(principal, Company).order_by(Company.code))).all())


# --- duplicate check (group-wide on purpose, narrow projection) ------------------------------------

DUP_COLUMNS = (Customer.id, Customer.name, Customer.status, Customer.category, Customer.secured_at,
               Customer.company_id, Customer.former_owner_id, Customer.pooled_at)


async def customers_by_name(session: AsyncSession, group_id: uuid.UUID, name_norm: str, limit: int) -> list[Any]:
    """Fuzzy name match, best first: pg_trgm word similarity (`q <% name_norm`: the query is close
    to some stretch of the name) or the query as a substring, both served by the GIN trigram
    index. Queries under three characters have too few trigrams and match exactly."""
    if len(name_norm) < 3:
        condition, score = Customer.name_norm == name_norm, literal(1.0)
    else:
        condition = or_(literal(name_norm).op("<%")(Customer.name_norm),
                        Customer.name_norm.like(like_contains(name_norm)))
        score = func.word_similarity(name_norm, Customer.name_norm)
    return list((await session.execute(
        select(*DUP_COLUMNS, score.label("score")).where(
            Customer.group_id == group_id, Customer.deleted_at.is_(None), condition)
        .order_by(score.desc(), func.similarity(Customer.name_norm, name_norm).desc(), Customer.id).limit(limit)
    )).all())


async def customers_by(session: AsyncSession, group_id: uuid.UUID, condition: Any, limit: int) -> list[Any]:
    """Exact matches (phone, e-mail, identity). No ORDER BY in SQL on purpose: with one, the planner
    may walk the primary key hoping to meet matches early instead of using the condition's index."""
    rows = (await session.execute(
        select(*DUP_COLUMNS).where(Customer.group_id == group_id, Customer.deleted_at.is_(None), condition)
        .limit(limit))).all()
    return sorted(rows, key=lambda r: (r.name, r.id))


async def contacts_matching(session: AsyncSession, group_id: uuid.UUID, condition: Any, limit: int) -> list[Any]:
    """(contact id, contact name) and the customers it is linked to, as rows."""
    contacts = select(Contact.id, Contact.name).where(
        Contact.group_id == group_id, Contact.deleted_at.is_(None), condition).limit(limit).subquery()
    return list((await session.execute(
        select(contacts.c.id.label("contact_id"), contacts.c.name.label("contact_name"), *DUP_COLUMNS)
        .select_from(contacts)
        .outerjoin(CustomerContact, CustomerContact.contact_id == contacts.c.id)
        .outerjoin(Customer, (Customer.id == CustomerContact.customer_id) & Customer.deleted_at.is_(None))
        .limit(limit * 4)
    )).all())


# --- contacts --------------------------------------------------------------------------------------

def readable_contacts(principal: Principal) -> Select[Any]:
    return readable(principal, Contact).where(Contact.deleted_at.is_(None))


def filter_contacts(stmt: Select[Any], *, owner_id: uuid.UUID | None = None, q: str | None = None) -> Select[Any]:
    if owner_id is not None:
        stmt = stmt.where(Contact.owner_id == owner_id)
    if q:
        stmt = stmt.where(Contact.name.ilike(like_contains(q)))
    return stmt


async def get_contact(session: AsyncSession, principal: Principal, contact_id: uuid.UUID, *,
                      write: bool = False) -> Contact:
    if write:
        obj = await session.scalar(writable(principal, Contact).where(
            Contact.id == contact_id, Contact.deleted_at.is_(None)).with_for_update())
        if obj is not None:
            return obj
    obj = await session.scalar(readable_contacts(principal).where(Contact.id == contact_id))
    if obj is None:
        raise not_found("contact", contact_id)
    if write:
        raise Forbidden("You may read this contact but not change it.", code="scope.read_only")
    return obj


async def contacts_shared_for_edit(session: AsyncSession, user_id: uuid.UUID,
                                   contact_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Contacts linked to a customer shared with the user for editing: they count as shared."""
    ids = list(contact_ids)
    if not ids:
        return set()
    return set((await session.scalars(
        select(CustomerContact.contact_id).join(CustomerShare, CustomerShare.customer_id == CustomerContact.customer_id)
        .where(CustomerShare.user_id == user_id, CustomerShare.can_edit.is_(True),
               CustomerContact.contact_id.in_(ids)))).all())


async def contact_duplicates(session: AsyncSession, group_id: uuid.UUID, field: str, value: str,
                             exclude_id: uuid.UUID | None, limit: int = 10) -> list[Any]:
    column = getattr(Contact, field)
    stmt = select(Contact.id, Contact.name).where(Contact.group_id == group_id, Contact.deleted_at.is_(None),
                                                  column == value)
    if exclude_id is not None:
        stmt = stmt.where(Contact.id != exclude_id)
    return list((await session.execute(stmt.order_by(Contact.id).limit(limit))).all())


async def readable_contact_ids(session: AsyncSession, principal: Principal, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    wanted = list(ids)
    if not wanted:
        return set()
    return set((await session.scalars(readable(principal, Contact, Contact.id).where(Contact.id.in_(wanted)))).all())


async def user_in_group(session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    return await session.scalar(select(User).where(User.id == user_id, User.group_id == group_id))
