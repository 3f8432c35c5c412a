"""Customer and contact rules: ownership, masking, duplicates, sharing, assignment and the pool.

Which rule lives where: masking in `customer_views`/`contact_views`; duplicates in
`duplicate_check` and the create/update checks; the pool's claim/release/extend and "owner's for
good" in `claim`, `release`, `extend_protection`, `secure_customer`; quotas in app/customers/pool.py.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.core.principal import DataScope, Principal
from app.core.updates import audited_update
from app.customers import normalize as norm
from app.customers import pool
from app.customers import repository as repo
from app.customers.models import Contact, Customer, CustomerContact, CustomerShare
from app.customers.permissions import CONTACT_READ, CUSTOMER_ASSIGN, CUSTOMER_CLAIM
from app.customers.schemas import (
    ActivityOut,
    AssignIn,
    ContactCreate,
    ContactOut,
    ContactUpdate,
    ContactWarning,
    CustomerCreate,
    CustomerDetail,
    CustomerOut,
    CustomerUpdate,
    DuplicateHit,
    LinkedContactOut,
    LinkIn,
    ShareIn,
    ShareOut,
)
from app.org import repository as org_repo
from app.org.service import ensure_may_manage_user

CUSTOMER_AUDIT_FIELDS = ("kind", "name", "credit_code", "id_number", "addresses", "phones", "email", "industry",
                         "category", "grade", "credit_score", "tags", "company_id", "owner_id", "status",
                         "protected_until", "secured_at", "last_follow_up_at", "notes", "deleted_at")


def _invalid(pointer: str, message: str, code: str = "request.validation_failed") -> InvalidInput:
    return InvalidInput(message, code=code, errors=[{"pointer": pointer, "message": message}])


def scope_covers(scope: DataScope, company_id: uuid.UUID | None, owner_department_id: uuid.UUID | None) -> bool:
    """Whether a role scope (not a share, not ownership) covers a record of this company/owner."""
    return scope.covers_company(company_id) or (
        owner_department_id is not None and owner_department_id in scope.department_ids)


# --- views and masking -----------------------------------------------------------------------------

def _customer_out(c: Customer, full: bool) -> CustomerOut:
    phones = [norm.display_phone(p) if full else norm.mask_phone(p) or "" for p in c.phones]
    return CustomerOut(
        id=c.id, kind=c.kind, name=c.name,  # type: ignore[arg-type]
        credit_code=c.credit_code if full else norm.mask_identity(c.credit_code),
        id_number=c.id_number if full else norm.mask_identity(c.id_number),
        addresses=list(c.addresses), phones=phones, email=c.email if full else norm.mask_email(c.email),
        industry=c.industry, category=c.category, grade=c.grade, credit_score=c.credit_score,  # type: ignore[arg-type]
        tags=list(c.tags), company_id=c.company_id, owner_id=c.owner_id, status=c.status,  # type: ignore[arg-type]
        protected_until=c.protected_until, secured_at=c.secured_at, last_follow_up_at=c.last_follow_up_at,
        notes=c.notes, created_at=c.created_at, updated_at=c.updated_at, masked=not full,
    )


async def customer_views(session: AsyncSession, principal: Principal,
                         customers: Sequence[Customer]) -> list[CustomerOut]:
    """Rule: identity numbers, phones and e-mail are shown in full to the owner, to edit-sharers
    and to those whose role scope covers the customer; masked (`138****5678`) for anyone else
    who may read it (read-only sharers). Two queries for any number of customers."""
    departments = await repo.owner_departments(session, (c.owner_id for c in customers))
    edit_shared = await repo.edit_shared_customer_ids(session, principal.user_id, (c.id for c in customers))
    return [
        _customer_out(c, c.owner_id == principal.user_id or c.id in edit_shared
                      or scope_covers(principal.scope, c.company_id, departments.get(c.owner_id)))
        for c in customers
    ]


def _contact_fields(c: Contact, full: bool) -> dict[str, Any]:
    if full:
        return {"mobile": c.mobile and norm.display_phone(c.mobile),
                "office_phone": c.office_phone and norm.display_phone(c.office_phone), "email": c.email}
    return {"mobile": norm.mask_phone(c.mobile), "office_phone": norm.mask_phone(c.office_phone),
            "email": norm.mask_email(c.email)}


async def contact_visibility(session: AsyncSession, principal: Principal,
                             contacts: Sequence[Contact]) -> set[uuid.UUID]:
    """Rule: a contact's phones and e-mail are visible to its owner, to those it is shared with
    (an edit share of a linked customer) and to those whose scope covers the owner."""
    departments = await repo.owner_departments(session, (c.owner_id for c in contacts))
    shared = await repo.contacts_shared_for_edit(session, principal.user_id, (c.id for c in contacts))
    return {c.id for c in contacts
            if c.owner_id == principal.user_id or c.id in shared
            or scope_covers(principal.scope, c.company_id, departments.get(c.owner_id))}


async def contact_views(session: AsyncSession, principal: Principal, contacts: Sequence[Contact]) -> list[ContactOut]:
    full = await contact_visibility(session, principal, contacts)
    return [
        ContactOut(id=c.id, name=c.name, position=c.position, notes=c.notes, owner_id=c.owner_id,
                   id_number=c.id_number if c.id in full else norm.mask_identity(c.id_number),
                   created_at=c.created_at, updated_at=c.updated_at, masked=c.id not in full,
                   **_contact_fields(c, c.id in full))
        for c in contacts
    ]


async def customer_detail(session: AsyncSession, principal: Principal, customer: Customer) -> CustomerDetail:
    """The customer with its contacts (masked per contact), shares and recent activity. Five
    queries whatever the number of contacts."""
    base = (await customer_views(session, principal, [customer]))[0]
    # Contacts are shown only to those who may read contacts at all.
    linked = await repo.contacts_of_customer(session, customer.id) if principal.has(CONTACT_READ) else []
    full = await contact_visibility(session, principal, [c for c, _ in linked])
    shares = await repo.shares_of(session, customer.id)
    activity = await repo.recent_activity(session, customer.id)
    return CustomerDetail(
        **base.model_dump(),
        contacts=[LinkedContactOut(contact_id=c.id, relation=rel, name=c.name, position=c.position,  # type: ignore[arg-type]
                                   masked=c.id not in full, **_contact_fields(c, c.id in full)) for c, rel in linked],
        shares=[ShareOut(user_id=s.user_id, display_name=s.display_name, can_edit=s.can_edit, created_at=s.created_at)
                for s in shares],
        recent_activity=[ActivityOut.model_validate(a) for a in activity],
    )


# --- normalisation of input ------------------------------------------------------------------------

def _phones(raw: list[str], pointer: str) -> list[str]:
    out: list[str] = []
    for i, value in enumerate(raw):
        e164 = norm.normalize_phone(value)
        if e164 is None:
            raise _invalid(f"{pointer}/{i}", f"{value!r} is not a phone number.", "customer.invalid_phone")
        if e164 not in out:
            out.append(e164)
    return out


def _phone(raw: str | None, pointer: str) -> str | None:
    if raw is None:
        return None
    e164 = norm.normalize_phone(raw)
    if e164 is None:
        raise _invalid(pointer, f"{raw!r} is not a phone number.", "contact.invalid_phone")
    return e164


def _check_identity_kind(kind: str, credit_code: str | None, id_number: str | None) -> None:
    if kind == "company" and id_number:
        raise _invalid("/body/id_number", "An identity number belongs to an individual customer.")
    if kind == "individual" and credit_code:
        raise _invalid("/body/credit_code", "A credit code belongs to a company customer.")


async def _ensure_identity_free(session: AsyncSession, group_id: uuid.UUID, credit_code: str | None,
                                id_number: str | None, exclude_id: uuid.UUID | None = None) -> None:
    """Rule: one customer per credit code / identity number in a group (never overridable)."""
    for column, value, field in ((Customer.credit_code, credit_code, "credit_code"),
                                 (Customer.id_number, id_number, "id_number")):
        if value and await repo.identity_taken(session, group_id, column, value, exclude_id):
            raise Conflict(f"A customer with this {field.replace('_', ' ')} already exists.",
                           code="customer.duplicate_identity",
                           titles={"zh-CN": "客户已存在（证件号重复）", "en": "Customer already exists"},
                           errors=[{"pointer": f"/body/{field}", "message": "already used by another customer"}])


async def _ensure_name_free(session: AsyncSession, group_id: uuid.UUID, name_norm: str, confirmed: bool,
                            exclude_id: uuid.UUID | None = None) -> None:
    """Rule: an exact duplicate of a (normalised) company name is refused unless confirmed."""
    if not confirmed and await repo.name_taken(session, group_id, name_norm, exclude_id):
        raise Conflict("A customer with this name already exists; check the duplicate list, or confirm.",
                       code="customer.duplicate_name",
                       titles={"zh-CN": "客户名称重复", "en": "Duplicate customer name"},
                       errors=[{"pointer": "/body/name", "message": "same name as an existing customer; "
                                "send confirm_duplicate=true to create anyway"}])


# --- duplicate check -------------------------------------------------------------------------------

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


# --- customers -------------------------------------------------------------------------------------

async def _company_for(session: AsyncSession, principal: Principal, company_id: uuid.UUID | None) -> uuid.UUID:
    """The caller's own company or one their scope covers (422 otherwise)."""
    cid = company_id or principal.company_id
    if not await org_repo.company_in_group(session, principal.group_id, cid) or not (
            cid == principal.company_id or principal.scope.covers_company(cid)):
        raise _invalid("/body/company_id", "Unknown company.", "customer.unknown_company")
    return cid  # type: ignore[return-value] - company_in_group is False for None


async def resolve_assignee(session: AsyncSession, principal: Principal, user_id: uuid.UUID, pointer: str) -> Any:
    """Rule: a manager assigns only to users in their scope and of a lower level, who are active.
    Returns org's user (id, company_id)."""
    if user_id == principal.user_id:
        return await org_repo.get_user(session, user_id)
    if not principal.has(CUSTOMER_ASSIGN):
        raise Forbidden("Assigning to somebody else needs customer.assign.", code="customer.assign_not_allowed")
    target = await org_repo.get_readable_user(session, principal, user_id)
    await ensure_may_manage_user(session, principal, target)
    if not target.is_active or target.locked_at is not None:
        raise _invalid(pointer, "The user is inactive or locked.", "customer.assignee_inactive")
    return target


async def create_customer(session: AsyncSession, principal: Principal, data: CustomerCreate,
                          *, now: datetime | None = None) -> tuple[Customer, list[DuplicateHit]]:
    """Rules: duplicates (identity refused, exact name refused unless confirmed, similar names
    warned); the daily claim/create cap for customers one creates for oneself; protection starts."""
    now = now or utcnow()
    company_id = await _company_for(session, principal, data.company_id)
    owner = await resolve_assignee(session, principal, data.owner_id or principal.user_id, "/body/owner_id")
    _check_identity_kind(data.kind, data.credit_code, data.id_number)
    id_number = data.id_number.upper() if data.id_number else None
    name_norm = norm.normalize_name(data.name)
    if not name_norm:
        raise _invalid("/body/name", "The name has no letters or digits.")
    phones = _phones(data.phones, "/body/phones")
    await _ensure_identity_free(session, principal.group_id, data.credit_code, id_number)
    await _ensure_name_free(session, principal.group_id, name_norm, data.confirm_duplicate)
    warnings = await duplicate_check(session, principal, name=data.name, phone=phones[0] if phones else None,
                                     email=data.email)
    cr = await pool.rules_for(session, company_id)
    if owner.id == principal.user_id:
        await pool.ensure_daily_cap(session, principal.user_id, cr, now)
    customer = Customer(
        group_id=principal.group_id, company_id=company_id, kind=data.kind, name=data.name, name_norm=name_norm,
        credit_code=data.credit_code, id_number=id_number, addresses=data.addresses, phones=phones,
        email=norm.normalize_email(data.email), industry=data.industry, category=data.category, grade=data.grade,
        credit_score=data.credit_score, tags=list(dict.fromkeys(data.tags)), owner_id=owner.id,
        created_by_id=principal.user_id, status="private", notes=data.notes,
        protected_until=pool.add_protection_days(now, cr.rules.protection_days,
                                                 count_weekends=cr.rules.count_weekends, tz=cr.tz),
    )
    session.add(customer)
    await session.flush()
    if owner.id == principal.user_id:
        pool.add_activity(session, customer, "created", user_id=owner.id, actor_id=principal.user_id, tz=cr.tz, now=now)
    else:
        pool.add_activity(session, customer, "assigned", user_id=owner.id, actor_id=principal.user_id, tz=cr.tz,
                          now=now)
    if id_number:
        await _link_same_person(session, principal, customer)
    await session.flush()
    audit.record(session, principal, "customer.created", "customer", customer.id, company_id=customer.company_id,
                 after=audit.snapshot(customer, *CUSTOMER_AUDIT_FIELDS))
    return customer, warnings


async def _link_same_person(session: AsyncSession, principal: Principal, customer: Customer) -> None:
    """Rule: same identity number → same person: an individual customer is linked (`self`) to the
    contacts carrying that number."""
    contact_ids = await repo.contact_ids_with_identity(session, customer.group_id, customer.id_number)
    await repo.link_self(session, ((customer.id, cid) for cid in contact_ids), principal.user_id)


async def update_customer(session: AsyncSession, principal: Principal, customer: Customer,
                          data: CustomerUpdate) -> Customer:
    """Rules: the caller may change it (owner, edit-sharer, scope: checked by the lock); the
    duplicate rules hold for a new name or identity number."""
    changes = data.model_dump(exclude_unset=True)
    changes.pop("confirm_duplicate", None)
    name_norm = None
    if changes.get("name") is not None and changes["name"] != customer.name:
        name_norm = norm.normalize_name(changes["name"])
        if not name_norm:
            raise _invalid("/body/name", "The name has no letters or digits.")
        await _ensure_name_free(session, customer.group_id, name_norm, data.confirm_duplicate, customer.id)
    if "id_number" in changes and changes["id_number"]:
        changes["id_number"] = changes["id_number"].upper()
    _check_identity_kind(customer.kind, changes.get("credit_code", customer.credit_code),
                         changes.get("id_number", customer.id_number))
    new_code, new_id = changes.get("credit_code"), changes.get("id_number")
    await _ensure_identity_free(session, customer.group_id, new_code if new_code != customer.credit_code else None,
                                new_id if new_id != customer.id_number else None, customer.id)
    if changes.get("phones") is not None:
        changes["phones"] = _phones(changes["phones"], "/body/phones")
    if "email" in changes:
        changes["email"] = norm.normalize_email(changes["email"])
    if changes.get("tags") is not None:
        changes["tags"] = list(dict.fromkeys(changes["tags"]))
    if name_norm is not None:
        changes["name_norm"] = name_norm
    await audited_update(session, principal, customer, changes, action="customer.updated", entity_type="customer",
                         company_id=customer.company_id)
    return customer


async def delete_customer(session: AsyncSession, principal: Principal, customer: Customer) -> None:
    """Rule: deletion is soft (the row stays for history and the audit trail) and audited."""
    customer.deleted_at = utcnow()
    await session.flush()
    audit.record(session, principal, "customer.deleted", "customer", customer.id, company_id=customer.company_id,
                 before=audit.snapshot(customer, "name", "owner_id", "status"))


# --- sharing ---------------------------------------------------------------------------------------

async def _ensure_may_share(session: AsyncSession, principal: Principal, customer: Customer) -> None:
    """Rule: the owner, or an administrator/manager (customer.assign) whose scope covers it, shares."""
    if customer.owner_id == principal.user_id or principal.is_system_admin:
        return
    departments = await repo.owner_departments(session, [customer.owner_id])
    if principal.has(CUSTOMER_ASSIGN) and scope_covers(principal.scope, customer.company_id,
                                                       departments.get(customer.owner_id)):
        return
    raise Forbidden("Only the owner or an administrator shares a customer.", code="customer.share_not_allowed",
                    titles={"zh-CN": "只有负责人或管理员可以共享客户", "en": "Not allowed to share"})


async def share(session: AsyncSession, principal: Principal, customer: Customer, data: ShareIn) -> None:
    await _ensure_may_share(session, principal, customer)
    users = await org_repo.user_ids_in_group(session, principal.group_id, data.user_ids)
    if len(users) != len(set(data.user_ids)):
        raise _invalid("/body/user_ids", "Some users do not exist.", "customer.unknown_user")
    if customer.owner_id in data.user_ids:
        raise _invalid("/body/user_ids", "The owner already has the customer.", "customer.share_with_owner")
    await repo.upsert_shares(session, customer.id, dict.fromkeys(data.user_ids), can_edit=data.can_edit,
                             granted_by_id=principal.user_id)
    audit.record(session, principal, "customer.shared", "customer", customer.id, company_id=customer.company_id,
                 after={"user_ids": list(dict.fromkeys(data.user_ids)), "can_edit": data.can_edit})


async def unshare(session: AsyncSession, principal: Principal, customer: Customer, user_id: uuid.UUID) -> None:
    await _ensure_may_share(session, principal, customer)
    row = await session.get(CustomerShare, (customer.id, user_id))
    if row is None:
        raise NotFound("The customer is not shared with this user.", code="customer.share_not_found")
    before = {"user_id": user_id, "can_edit": row.can_edit}
    await session.delete(row)
    await session.flush()
    audit.record(session, principal, "customer.unshared", "customer", customer.id, company_id=customer.company_id,
                 before=before)


# --- the pool --------------------------------------------------------------------------------------

async def claim(session: AsyncSession, principal: Principal, customer_id: uuid.UUID,
                *, now: datetime | None = None) -> Customer:
    """Rules: only a pool customer; not by its former owner during the cool-down; within the
    daily claim/create cap; protection starts now."""
    now = now or utcnow()
    customer = await repo.lock_pool_customer(session, principal, customer_id)
    if customer.status != "pool":
        raise Conflict("The customer is not in the public pool.", code="customer.not_in_pool",
                       titles={"zh-CN": "客户不在公海中", "en": "Not in the public pool"})
    cr = await pool.rules_for(session, customer.company_id)
    if (customer.former_owner_id == principal.user_id and customer.pooled_at is not None
            and now < customer.pooled_at + timedelta(days=cr.rules.reclaim_cooldown_days)):
        raise Conflict(f"You may claim this customer back {cr.rules.reclaim_cooldown_days} days after it left you.",
                       code="customer.reclaim_cooldown",
                       titles={"zh-CN": "退回公海的客户冷却期内不能再次领取", "en": "Reclaim cool-down"})
    await pool.ensure_daily_cap(session, principal.user_id, cr, now)
    # Shares end on the way to the pool; any left from before that rule end here, before the
    # claimer owns a customer shared by somebody else.
    await pool.end_shares(session, principal, [customer])
    before = audit.snapshot(customer, "status", "owner_id", "former_owner_id")
    customer.owner_id, customer.status, customer.pooled_at = principal.user_id, "private", None
    customer.protected_until = pool.add_protection_days(now, cr.rules.protection_days,
                                                        count_weekends=cr.rules.count_weekends, tz=cr.tz)
    pool.add_activity(session, customer, "claimed", user_id=principal.user_id, actor_id=principal.user_id,
                      tz=cr.tz, now=now)
    await session.flush()
    audit.record(session, principal, "customer.claimed", "customer", customer.id, company_id=customer.company_id,
                 before=before, after=audit.snapshot(customer, "status", "owner_id", "protected_until"))
    return customer


def _ensure_owner(principal: Principal, customer: Customer) -> None:
    if customer.status != "private" or customer.owner_id != principal.user_id:
        raise Forbidden("Only the customer's owner may do this.", code="customer.not_owner",
                        titles={"zh-CN": "只有客户负责人可以操作", "en": "Owner only"})


def _ensure_not_secured(customer: Customer) -> None:
    if customer.secured_at is not None:
        raise Conflict("The customer is the owner's for good (signed or paid within protection).",
                       code="customer.secured", titles={"zh-CN": "客户已签约/回款，永久归属", "en": "Customer secured"})


async def release(session: AsyncSession, principal: Principal, customer: Customer,
                  *, now: datetime | None = None) -> Customer:
    """Rule: the owner gives an unsecured customer back to the pool (and may not reclaim it
    during the cool-down)."""
    now = now or utcnow()
    _ensure_owner(principal, customer)
    _ensure_not_secured(customer)
    cr = await pool.rules_for(session, customer.company_id)
    before = audit.snapshot(customer, "status", "owner_id", "protected_until")
    await pool.return_to_pool(session, principal, [customer], now)
    pool.add_activity(session, customer, "released", user_id=principal.user_id, actor_id=principal.user_id,
                      tz=cr.tz, now=now)
    await session.flush()
    audit.record(session, principal, "customer.released", "customer", customer.id, company_id=customer.company_id,
                 before=before, after=audit.snapshot(customer, "status", "owner_id", "former_owner_id"))
    return customer


async def extend_protection(session: AsyncSession, principal: Principal, customer: Customer, reason: str,
                            *, now: datetime | None = None) -> Customer:
    """Rules: the owner extends an unsecured customer's protection by `extension_days`, with a
    written reason, at most `max_extensions_per_month` times a month."""
    now = now or utcnow()
    _ensure_owner(principal, customer)
    _ensure_not_secured(customer)
    cr = await pool.rules_for(session, customer.company_id)
    await pool.ensure_extension_quota(session, principal.user_id, cr, now)
    before = audit.snapshot(customer, "protected_until")
    start = max(customer.protected_until or now, now)
    customer.protected_until = pool.add_protection_days(start, cr.rules.extension_days,
                                                        count_weekends=cr.rules.count_weekends, tz=cr.tz)
    pool.add_activity(session, customer, "extended", user_id=principal.user_id, actor_id=principal.user_id,
                      tz=cr.tz, now=now, detail=reason)
    await session.flush()
    audit.record(session, principal, "customer.protection_extended", "customer", customer.id,
                 company_id=customer.company_id, before=before,
                 after={**audit.snapshot(customer, "protected_until"), "reason": reason})
    return customer


async def secure_customer(session: AsyncSession, customer_id: uuid.UUID, *, owner_id: uuid.UUID, reason: str,
                          at: datetime | None = None, principal: Principal | None = None) -> bool:
    """Rule: a customer whose owner signs a contract or receives a payment within protection
    becomes the owner's for good (the sweep never takes it). For contracts and payments to call;
    `reason` is e.g. `contract_signed` or `payment_received`. Returns whether it was secured now."""
    at = at or utcnow()
    customer = await repo.lock_customer(session, customer_id)
    if customer.secured_at is not None:
        return False
    if (customer.status != "private" or customer.owner_id != owner_id or customer.protected_until is None
            or at > customer.protected_until):
        return False
    cr = await pool.rules_for(session, customer.company_id)
    customer.secured_at, customer.secured_reason = at, reason
    pool.add_activity(session, customer, "secured", user_id=owner_id, actor_id=principal.user_id if principal else None,
                      tz=cr.tz, now=at, detail=reason)
    await session.flush()
    audit.record(session, principal, "customer.secured", "customer", customer.id, group_id=customer.group_id,
                 company_id=customer.company_id, after={"owner_id": owner_id, "reason": reason, "at": at})
    return True


async def assign(session: AsyncSession, principal: Principal, data: AssignIn,
                 *, now: datetime | None = None) -> list[Customer]:
    """Rule: a manager assigns customers they may change to a subordinate in their scope; the new
    owner's protection starts afresh (secured customers keep their status)."""
    now = now or utcnow()
    target = await resolve_assignee(session, principal, data.to_user_id, "/body/to_user_id")
    ids = list(dict.fromkeys(data.customer_ids))
    customers = await repo.lock_writable_customers(session, principal, ids)
    if len(customers) != len(ids):
        missing = sorted(set(ids) - {c.id for c in customers}, key=str)
        raise repo.not_found("customer", ", ".join(map(str, missing)))
    rules: dict[uuid.UUID, pool.CompanyRules] = {}
    for customer in customers:
        if customer.company_id not in rules:
            rules[customer.company_id] = await pool.rules_for(session, customer.company_id)
        cr = rules[customer.company_id]
        before = audit.snapshot(customer, "status", "owner_id", "protected_until")
        customer.owner_id, customer.status, customer.pooled_at = target.id, "private", None
        if customer.secured_at is None:
            customer.protected_until = pool.add_protection_days(now, cr.rules.protection_days,
                                                                count_weekends=cr.rules.count_weekends, tz=cr.tz)
            pool.add_activity(session, customer, "assigned", user_id=target.id, actor_id=principal.user_id, tz=cr.tz,
                          now=now)
        audit.record(session, principal, "customer.assigned", "customer", customer.id, company_id=customer.company_id,
                     before=before, after=audit.snapshot(customer, "status", "owner_id", "protected_until"))
    await session.flush()
    return list(customers)


# --- contacts --------------------------------------------------------------------------------------

async def _contact_warnings(session: AsyncSession, principal: Principal, values: dict[str, str | None],
                            exclude_id: uuid.UUID | None, confirmed: bool) -> list[ContactWarning]:
    """Rule: duplicates of mobile, office phone or e-mail are reported (naming the other record
    only when the caller may see it); an exact duplicate mobile in the group is refused unless
    confirmed."""
    found: list[tuple[str, Any]] = []
    for field in ("mobile", "office_phone", "email"):
        value = values.get(field)
        if value:
            found += [(field, r) for r in await repo.contact_duplicates(session, principal.group_id, field, value,
                                                                        exclude_id)]
    visible = await repo.readable_contact_ids(session, principal, (r.id for _, r in found))
    warnings = [ContactWarning(field=f, contact_id=r.id if r.id in visible else None,  # type: ignore[arg-type]
                               name=r.name if r.id in visible else None) for f, r in found]
    if not confirmed and any(w.field == "mobile" for w in warnings):
        raise Conflict("Another contact in the group has this mobile number; confirm to save anyway.",
                       code="contact.duplicate_mobile",
                       titles={"zh-CN": "手机号与已有联系人重复", "en": "Duplicate mobile number"},
                       errors=[{"pointer": "/body/mobile", "message": "used by another contact; send "
                                "confirm_duplicate=true to save anyway"}],
                       extra={"duplicates": [w.model_dump(mode="json") for w in warnings if w.field == "mobile"]})
    return warnings


async def _ensure_person_free(session: AsyncSession, group_id: uuid.UUID, id_number: str | None,
                              exclude_id: uuid.UUID | None) -> None:
    if await repo.contact_ids_with_identity(session, group_id, id_number, exclude_id, limit=1):
        raise Conflict("This identity number belongs to an existing contact: the same person.",
                       code="contact.same_person", titles={"zh-CN": "身份证号对应的联系人已存在", "en": "Same person"},
                       errors=[{"pointer": "/body/id_number", "message": "already used by another contact"}])


async def create_contact(session: AsyncSession, principal: Principal,
                         data: ContactCreate) -> tuple[Contact, list[ContactWarning]]:
    owner = await resolve_assignee(session, principal, data.owner_id or principal.user_id, "/body/owner_id")
    values = {"mobile": _phone(data.mobile, "/body/mobile"), "office_phone": _phone(data.office_phone,
                                                                                     "/body/office_phone"),
              "email": norm.normalize_email(data.email)}
    id_number = data.id_number.upper() if data.id_number else None
    await _ensure_person_free(session, principal.group_id, id_number, None)
    warnings = await _contact_warnings(session, principal, values, None, data.confirm_duplicate)
    contact = Contact(group_id=principal.group_id, company_id=owner.company_id, owner_id=owner.id,
                      created_by_id=principal.user_id, name=data.name, position=data.position, id_number=id_number,
                      notes=data.notes, **values)
    session.add(contact)
    await session.flush()
    if id_number:
        customer_ids = await repo.customer_ids_with_identity(session, principal.group_id, id_number)
        await repo.link_self(session, ((cid, contact.id) for cid in customer_ids), principal.user_id)
    audit.record(session, principal, "contact.created", "contact", contact.id, company_id=contact.company_id,
                 after=audit.snapshot(contact))
    return contact, warnings


async def update_contact(session: AsyncSession, principal: Principal, contact: Contact,
                         data: ContactUpdate) -> tuple[Contact, list[ContactWarning]]:
    changes = data.model_dump(exclude_unset=True)
    changes.pop("confirm_duplicate", None)
    if "mobile" in changes:
        changes["mobile"] = _phone(changes["mobile"], "/body/mobile")
    if "office_phone" in changes:
        changes["office_phone"] = _phone(changes["office_phone"], "/body/office_phone")
    if "email" in changes:
        changes["email"] = norm.normalize_email(changes["email"])
    if changes.get("id_number"):
        changes["id_number"] = changes["id_number"].upper()
        await _ensure_person_free(session, contact.group_id, changes["id_number"], contact.id)
    # Warn about the values being set now, not about ones the contact already had.
    checked = {k: changes.get(k) for k in ("mobile", "office_phone", "email") if changes.get(k) != getattr(contact, k)}
    warnings = await _contact_warnings(session, principal, checked, contact.id, data.confirm_duplicate)
    await audited_update(session, principal, contact, changes, action="contact.updated", entity_type="contact",
                         company_id=contact.company_id)
    return contact, warnings


async def link_contact(session: AsyncSession, principal: Principal, customer: Customer, data: LinkIn) -> str:
    """Rule: whoever may change the customer links a contact they may see to it."""
    contact = await repo.get_contact(session, principal, data.contact_id)
    await repo.upsert_link(session, customer.id, contact.id, data.relation, principal.user_id)
    audit.record(session, principal, "customer.contact_linked", "customer", customer.id,
                 company_id=customer.company_id, after={"contact_id": contact.id, "relation": data.relation})
    return data.relation


async def unlink_contact(session: AsyncSession, principal: Principal, customer: Customer,
                         contact_id: uuid.UUID) -> None:
    link = await session.get(CustomerContact, (customer.id, contact_id))
    if link is None:
        raise NotFound("The contact is not linked to this customer.", code="customer.contact_link_not_found")
    before = {"contact_id": contact_id, "relation": link.relation}
    await session.delete(link)
    await session.flush()
    audit.record(session, principal, "customer.contact_unlinked", "customer", customer.id,
                 company_id=customer.company_id, before=before)

