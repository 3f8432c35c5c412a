"""Every query of the CRM area. Reads start from `readable()`/`writable()`; the two group-wide
reads (the pool's names and the duplicate check) are separate, narrow projections on purpose."""

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, Uuid, bindparam, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import hotsql
from app.core.db import utcnow
from app.core.errors import NotFound, ReadOnly
from app.core.principal import Principal
from app.core.scoping import readable, scope_condition, writable
from app.core.sql import like_contains
from app.customers import normalize as norm
from app.customers.errors import ContactNotFound, CustomerNotFound
from app.customers.models import Contact, Customer, CustomerActivity, CustomerContact, CustomerShare, PoolRule
from app.org import repository as org_repo


def _resource(error: type[NotFound]) -> str:
    return error.code.split(".")[0]  # `customer` of `customer.not_found`


def not_found(error: type[NotFound], id_: object) -> NotFound:
    """The one 404 of this area (`CustomerNotFound`, `ContactNotFound`): "Customer <id> not found."."""
    return error(f"{_resource(error).capitalize()} {id_} not found.")


# --- customers -------------------------------------------------------------------------------------

def readable_customers(principal: Principal) -> Select[Any]:
    return readable(principal, Customer).where(Customer.deleted_at.is_(None))


def readable_customer_ids(principal: Principal) -> Select[Any]:
    """The ids of the live customers the principal may read: for other areas' scope conditions
    (a contract is seen by whoever sees its customer)."""
    return readable(principal, Customer, Customer.id).where(Customer.deleted_at.is_(None))


async def _get_live(session: AsyncSession, principal: Principal, model: Any, missing: type[NotFound], id_: uuid.UUID,
                    write: bool) -> Any:
    """A live (not deleted) record if readable (404 otherwise); with `write`, row-locked and 403
    when the principal may read it but not change it."""
    if write:
        obj = await session.scalar(writable(principal, model).where(
            model.id == id_, model.deleted_at.is_(None)).with_for_update())
        if obj is not None:
            return obj
    obj = await session.scalar(readable(principal, model).where(model.id == id_, model.deleted_at.is_(None)))
    if obj is None:
        raise not_found(missing, id_)
    if write:
        raise ReadOnly(f"You may read this {_resource(missing)} but not change it.")
    return obj


async def get_customer(session: AsyncSession, principal: Principal, customer_id: uuid.UUID, *,
                       write: bool = False) -> Customer:
    return await _get_live(session, principal, Customer, CustomerNotFound, customer_id, write)  # type: ignore[no-any-return]


# The customer detail's hot path (core/hotsql.py): the record by id within the caller's scope
# (compiled once per caller), its contacts and its recent activity (compiled once).
_CUSTOMER_RECORDS = hotsql.Statements()


async def customer_record(session: AsyncSession, principal: Principal, customer_id: uuid.UUID,
                          columns: tuple[Any, ...]) -> Any:
    """`get_customer`'s row as a record of `columns` (plus `version`); 404 like it when unreadable."""
    prepared = _CUSTOMER_RECORDS.get(("customer", principal, columns), lambda: readable_customers(principal)
                                     .with_only_columns(*columns, Customer.version)
                                     .where(Customer.id == bindparam("customer_id", None, type_=Uuid)))
    row = await prepared.fetchrow(session, customer_id=customer_id)
    if row is None:
        raise not_found(CustomerNotFound, customer_id)
    return row


CONTACT_COLUMNS = (Contact.id, Contact.name, Contact.position, Contact.owner_id, Contact.company_id, Contact.mobile,
                   Contact.office_phone, Contact.email, Contact.id_number)
_LINKED_CONTACTS = hotsql.Prepared(
    select(*CONTACT_COLUMNS, CustomerContact.relation).join(CustomerContact, CustomerContact.contact_id == Contact.id)
    .where(CustomerContact.customer_id == bindparam("customer_id", None, type_=Uuid), Contact.deleted_at.is_(None))
    .order_by(Contact.name, Contact.id))
_RECENT_ACTIVITY = hotsql.Prepared(
    select(CustomerActivity.kind, CustomerActivity.user_id, CustomerActivity.actor_id, CustomerActivity.occurred_at,
           CustomerActivity.detail)
    .where(CustomerActivity.customer_id == bindparam("customer_id", None, type_=Uuid))
    .order_by(CustomerActivity.occurred_at.desc(), CustomerActivity.id.desc()).limit(20))
_SHARES = hotsql.Prepared(
    select(CustomerShare.user_id, CustomerShare.can_edit, CustomerShare.created_at)
    .where(CustomerShare.customer_id == bindparam("customer_id", None, type_=Uuid))
    .order_by(CustomerShare.created_at, CustomerShare.user_id))


async def linked_contact_records(session: AsyncSession, customer_id: uuid.UUID) -> list[Any]:
    """`contacts_of_customer` as records (CONTACT_COLUMNS and `relation`)."""
    return await _LINKED_CONTACTS.fetch(session, customer_id=customer_id)


async def recent_activity_records(session: AsyncSession, customer_id: uuid.UUID) -> list[Any]:
    """`recent_activity` as records (ActivityOut's fields)."""
    return await _RECENT_ACTIVITY.fetch(session, customer_id=customer_id)


async def share_dicts(session: AsyncSession, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    """`shares_of` as ShareOut dicts (the sharers' names from org, only when there are shares)."""
    rows = await _SHARES.fetch(session, customer_id=customer_id)
    names = await org_repo.display_names(session, (r["user_id"] for r in rows)) if rows else {}
    return [{"user_id": r["user_id"], "display_name": names.get(r["user_id"], ""), "can_edit": r["can_edit"],
             "created_at": r["created_at"]} for r in rows]


def filter_customers(stmt: Select[Any], filters: Any) -> Select[Any]:
    """The customer list's filters (`schemas.CustomerFilters`; the list and the export share them)."""
    for column, value in ((Customer.owner_id, filters.owner_id), (Customer.company_id, filters.company_id),
                          (Customer.category, filters.category), (Customer.grade, filters.grade),
                          (Customer.status, filters.status)):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.protection_expiring_before is not None:
        stmt = stmt.where(Customer.protected_until < filters.protection_expiring_before,
                          Customer.secured_at.is_(None))
    return _name_contains(stmt, filters.q)


def _name_contains(stmt: Select[Any], q: str | None) -> Select[Any]:
    if q:
        # On the normalised name, so the trigram index serves it (and width/case/spaces do not matter).
        stmt = stmt.where(Customer.name_norm.like(like_contains(norm.normalize_name(q) or q)))
    return stmt


def filtered_pool(principal: Principal, *, company_id: uuid.UUID | None, q: str | None) -> Select[Any]:
    """The pool list: names only, of the pool the principal sees, with its sort columns."""
    stmt = pool_customers(principal)
    if company_id is not None:
        stmt = stmt.where(Customer.company_id == company_id)
    return _name_contains(stmt, q).add_columns(Customer.created_at, Customer.status)


async def owner_departments(session: AsyncSession, user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Any]:
    return await org_repo.user_departments(session, user_ids)


async def edit_shared_customer_ids(session: AsyncSession, user_id: uuid.UUID,
                                   customer_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(customer_ids)
    if not ids:
        return set()
    return set((await session.scalars(select(CustomerShare.customer_id).where(
        CustomerShare.user_id == user_id, CustomerShare.can_edit.is_(True),
        CustomerShare.customer_id.in_(ids)))).all())


class ShareRow(NamedTuple):
    user_id: uuid.UUID
    display_name: str
    can_edit: bool
    created_at: datetime


async def shares_of(session: AsyncSession, customer_id: uuid.UUID) -> list[ShareRow]:
    """The customer's shares with each sharer's display name (org's, asked for in one query)."""
    rows = (await session.execute(
        select(CustomerShare.user_id, CustomerShare.can_edit, CustomerShare.created_at)
        .where(CustomerShare.customer_id == customer_id).order_by(CustomerShare.created_at, CustomerShare.user_id)
    )).all()
    names = await org_repo.display_names(session, (r.user_id for r in rows))
    return [ShareRow(r.user_id, names.get(r.user_id, ""), r.can_edit, r.created_at) for r in rows]


async def upsert_shares(session: AsyncSession, customer_id: uuid.UUID, user_ids: Iterable[uuid.UUID], *,
                        can_edit: bool, granted_by_id: uuid.UUID) -> None:
    stmt = insert(CustomerShare).values([
        {"customer_id": customer_id, "user_id": uid, "can_edit": can_edit, "granted_by_id": granted_by_id,
         "created_at": utcnow()} for uid in user_ids])
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[CustomerShare.customer_id, CustomerShare.user_id],
        set_={"can_edit": stmt.excluded.can_edit, "granted_by_id": stmt.excluded.granted_by_id}))


async def delete_shares(session: AsyncSession, customer_ids: list[uuid.UUID]) -> list[Any]:
    """Delete every share of these customers in one statement; (customer_id, user_id, can_edit) rows."""
    return list((await session.execute(
        delete(CustomerShare).where(CustomerShare.customer_id.in_(customer_ids))
        .returning(CustomerShare.customer_id, CustomerShare.user_id, CustomerShare.can_edit)
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


async def taken_names(session: AsyncSession, group_id: uuid.UUID, names: set[str]) -> set[str]:
    """Those of the normalised `names` that a live customer of the group already has."""
    if not names:
        return set()
    return set(await session.scalars(select(Customer.name_norm).where(
        Customer.group_id == group_id, Customer.deleted_at.is_(None), Customer.name_norm.in_(names))))


async def taken_identities(session: AsyncSession, group_id: uuid.UUID, identities: set[str]) -> set[str]:
    """Those of `identities` (credit codes or identity numbers) a live customer of the group carries."""
    if not identities:
        return set()
    rows = await session.execute(select(Customer.credit_code, Customer.id_number).where(
        Customer.group_id == group_id, Customer.deleted_at.is_(None),
        Customer.credit_code.in_(identities) | Customer.id_number.in_(identities)))
    return {v for pair in rows for v in pair if v}


async def export_customers(session: AsyncSession, principal: Principal, filters: Any, limit: int) -> list[Customer]:
    """What the list shows with these filters, newest first, at most `limit` rows."""
    stmt = filter_customers(readable_customers(principal), filters)
    return list((await session.scalars(
        stmt.order_by(Customer.created_at.desc(), Customer.id.desc()).limit(limit))).all())


async def lock_customer(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    """A live customer, row-locked, whoever asks (for other areas' effects: contracts, payments)."""
    customer = await session.scalar(select(Customer).where(Customer.id == customer_id).with_for_update())
    if customer is None or customer.deleted_at is not None:
        raise not_found(CustomerNotFound, customer_id)
    return customer


async def lock_writable_customers(session: AsyncSession, principal: Principal,
                                  ids: list[uuid.UUID]) -> list[Customer]:
    """Those of `ids` the principal may change, row-locked in id order (no deadlock between two)."""
    return list((await session.scalars(
        writable(principal, Customer).where(Customer.id.in_(ids), Customer.deleted_at.is_(None))
        .order_by(Customer.id).with_for_update())).all())


async def customer_ids_with_identity(session: AsyncSession, group_id: uuid.UUID, id_number: str) -> list[uuid.UUID]:
    return list((await session.scalars(select(Customer.id).where(
        Customer.group_id == group_id, Customer.id_number == id_number, Customer.deleted_at.is_(None)))).all())


async def contact_ids_with_identity(session: AsyncSession, group_id: uuid.UUID, id_number: str | None,
                                    exclude_id: uuid.UUID | None = None, limit: int | None = None) -> list[uuid.UUID]:
    if not id_number:
        return []
    stmt = select(Contact.id).where(Contact.group_id == group_id, Contact.id_number == id_number,
                                    Contact.deleted_at.is_(None))
    if exclude_id is not None:
        stmt = stmt.where(Contact.id != exclude_id)
    return list((await session.scalars(stmt.limit(limit))).all())


async def link_self(session: AsyncSession, pairs: Iterable[tuple[uuid.UUID, uuid.UUID]],
                    created_by_id: uuid.UUID) -> None:
    """Link (customer, contact) pairs as the same person (`self`); existing links stay."""
    values = [{"customer_id": customer_id, "contact_id": contact_id, "relation": "self",
               "created_by_id": created_by_id, "created_at": utcnow()} for customer_id, contact_id in pairs]
    if values:
        await session.execute(insert(CustomerContact).values(values).on_conflict_do_nothing())


async def upsert_link(session: AsyncSession, customer_id: uuid.UUID, contact_id: uuid.UUID, relation: str,
                      created_by_id: uuid.UUID) -> None:
    stmt = insert(CustomerContact).values(customer_id=customer_id, contact_id=contact_id, relation=relation,
                                          created_by_id=created_by_id, created_at=utcnow())
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[CustomerContact.customer_id, CustomerContact.contact_id],
        set_={"relation": stmt.excluded.relation}))


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
        raise not_found(CustomerNotFound, customer_id)
    return customer


async def pool_rules(session: AsyncSession, group_id: uuid.UUID) -> dict[uuid.UUID, PoolRule]:
    return {r.company_id: r for r in (await session.scalars(
        select(PoolRule).where(PoolRule.group_id == group_id))).all()}


async def delete_share(session: AsyncSession, customer_id: uuid.UUID, user_id: uuid.UUID) -> bool | None:
    """Delete one share; its `can_edit`, or None when there was none."""
    return await session.scalar(delete(CustomerShare).where(
        CustomerShare.customer_id == customer_id, CustomerShare.user_id == user_id).returning(CustomerShare.can_edit))


async def delete_link(session: AsyncSession, customer_id: uuid.UUID, contact_id: uuid.UUID) -> str | None:
    """Unlink a contact from a customer; the link's relation, or None when there was none."""
    return await session.scalar(delete(CustomerContact).where(
        CustomerContact.customer_id == customer_id, CustomerContact.contact_id == contact_id)
        .returning(CustomerContact.relation))


async def pool_rule(session: AsyncSession, company_id: uuid.UUID, *, for_update: bool = False) -> PoolRule | None:
    stmt = select(PoolRule).where(PoolRule.company_id == company_id)
    return await session.scalar(stmt.with_for_update() if for_update else stmt)


async def count_activity(session: AsyncSession, user_id: uuid.UUID, kinds: tuple[str, ...], since: date,
                         until: date | None = None) -> int:
    stmt = select(func.count()).select_from(CustomerActivity).where(
        CustomerActivity.user_id == user_id, CustomerActivity.kind.in_(kinds), CustomerActivity.business_date >= since)
    if until is not None:
        stmt = stmt.where(CustomerActivity.business_date <= until)
    return int(await session.scalar(stmt) or 0)


async def activity_counts(session: AsyncSession, user_ids: list[uuid.UUID], kinds: tuple[str, ...],
                          day: date) -> dict[uuid.UUID, int]:
    """Activities of these kinds per user on one business day, in one grouped query (0 when none)."""
    if not user_ids:
        return {}
    counts = dict((await session.execute(
        select(CustomerActivity.user_id, func.count()).where(
            CustomerActivity.user_id.in_(user_ids), CustomerActivity.kind.in_(kinds),
            CustomerActivity.business_date == day).group_by(CustomerActivity.user_id))).all())
    return {uid: int(counts.get(uid, 0)) for uid in user_ids}


# --- handover: set-based, and bumping the version themselves (no mapper involved) -------------------

async def reassign_customers(session: AsyncSession, group_id: uuid.UUID, from_user_id: uuid.UUID,
                             to_user_id: uuid.UUID) -> list[Any]:
    """Every live customer of one owner to another, in one statement; (id, company_id) rows."""
    return list((await session.execute(
        update(Customer).where(Customer.owner_id == from_user_id, Customer.group_id == group_id,
                               Customer.deleted_at.is_(None))
        .values(owner_id=to_user_id, version=Customer.version + 1, updated_at=utcnow())
        .returning(Customer.id, Customer.company_id).execution_options(synchronize_session="fetch")
    )).all())


async def reassign_contacts(session: AsyncSession, group_id: uuid.UUID, from_user_id: uuid.UUID,
                            to_user_id: uuid.UUID, to_company_id: uuid.UUID | None) -> int:
    """Every live contact of one owner to another (and the new owner's company), in one statement."""
    result = await session.execute(
        update(Contact).where(Contact.owner_id == from_user_id, Contact.group_id == group_id,
                              Contact.deleted_at.is_(None))
        .values(owner_id=to_user_id, company_id=to_company_id, version=Contact.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def move_shares(session: AsyncSession, group_id: uuid.UUID, from_user_id: uuid.UUID,
                      to_user_id: uuid.UUID) -> int:
    """The customers shared with one user are shared with another instead (edit wins where the
    other already had a share; none on a customer the other owns); answers how many shares moved."""
    of_group = select(Customer.id).where(Customer.group_id == group_id)
    now = utcnow()
    moving = (select(CustomerShare.customer_id, literal(to_user_id, Uuid), CustomerShare.can_edit,
                     CustomerShare.granted_by_id, literal(now))
              .join(Customer, Customer.id == CustomerShare.customer_id)
              .where(CustomerShare.user_id == from_user_id, Customer.group_id == group_id,
                     Customer.owner_id.is_distinct_from(to_user_id)))
    stmt = insert(CustomerShare).from_select(["customer_id", "user_id", "can_edit", "granted_by_id", "created_at"],
                                             moving)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["customer_id", "user_id"],
        set_={"can_edit": CustomerShare.can_edit.op("OR")(stmt.excluded.can_edit)}))
    result = await session.execute(delete(CustomerShare).where(CustomerShare.user_id == from_user_id,
                                                               CustomerShare.customer_id.in_(of_group)))
    return result.rowcount or 0  # type: ignore[attr-defined]


# --- the sweep: set-based on purpose ---------------------------------------------------------------

def _expirable(now: datetime) -> list[Any]:
    return [Customer.status == "private", Customer.secured_at.is_(None), Customer.deleted_at.is_(None),
            Customer.protected_until <= now]


async def lock_expired_customers(session: AsyncSession, now: datetime, batch: int) -> list[Customer]:
    """Up to `batch` expired, unsecured private customers, SKIP LOCKED: a concurrent sweep takes
    others, and the WHERE is re-checked under the lock, so a customer already moved is not taken."""
    return list((await session.scalars(
        select(Customer).where(*_expirable(now)).order_by(Customer.protected_until).limit(batch)
        .with_for_update(skip_locked=True))).all())


async def expiring_customers(session: AsyncSession, now: datetime, default_reminder_days: int,
                             limit: int) -> list[Any]:
    """Private unsecured customers in their company's last `reminder_days` of protection."""
    reminder_days = func.coalesce(PoolRule.reminder_days, default_reminder_days)
    return list((await session.execute(
        select(Customer.id, Customer.group_id, Customer.company_id, Customer.owner_id, Customer.name,
               Customer.protected_until)
        .outerjoin(PoolRule, PoolRule.company_id == Customer.company_id)
        .where(Customer.status == "private", Customer.secured_at.is_(None), Customer.deleted_at.is_(None),
               Customer.protected_until > now,
               Customer.protected_until <= literal(now) + func.make_interval(0, 0, 0, reminder_days))
        .order_by(Customer.protected_until).limit(limit)
    )).all())


async def all_pool_rules(session: AsyncSession) -> dict[uuid.UUID, PoolRule]:
    return {r.company_id: r for r in (await session.scalars(select(PoolRule))).all()}


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
    return await _get_live(session, principal, Contact, ContactNotFound, contact_id, write)  # type: ignore[no-any-return]


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



# The hot path (core/hotsql.py): the worklist asks for the contacts of its page's customers.
_CONTACT_RECORDS = hotsql.Prepared(
    select(CustomerContact.customer_id, Contact.id, Contact.name, CustomerContact.relation, Contact.mobile,
           Contact.office_phone)
    .join(CustomerContact, CustomerContact.contact_id == Contact.id)
    .where(CustomerContact.customer_id == func.any(bindparam("customer_ids", None, type_=ARRAY(Uuid))),
           Contact.deleted_at.is_(None))
    .order_by(Contact.name, Contact.id))


async def contact_records(session: AsyncSession, customer_ids: Iterable[uuid.UUID]) -> list[Any]:
    """`contacts_of_customers` as records (customer_id, id, name, relation, mobile, office_phone)."""
    wanted = list(set(customer_ids))
    return await _CONTACT_RECORDS.fetch(session, customer_ids=wanted) if wanted else []


async def contacts_of_customers(session: AsyncSession, customer_ids: Iterable[uuid.UUID]
                                ) -> dict[uuid.UUID, list[tuple[Contact, str]]]:
    """Each customer's live contacts with their relation, by name (one query for many customers)."""
    wanted = list(set(customer_ids))
    found: dict[uuid.UUID, list[tuple[Contact, str]]] = {}
    if not wanted:
        return found
    rows = (await session.execute(
        select(CustomerContact.customer_id, Contact, CustomerContact.relation)
        .join(CustomerContact, CustomerContact.contact_id == Contact.id)
        .where(CustomerContact.customer_id.in_(wanted), Contact.deleted_at.is_(None))
        .order_by(Contact.name, Contact.id))).all()
    for customer_id, contact, relation in rows:
        found.setdefault(customer_id, []).append((contact, relation))
    return found
