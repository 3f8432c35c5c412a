"""The customer lifecycle: create (with the duplicate rules), update, delete, share, assign, and
"owner's for good". Which rule lives where: masking in `views`; the group-wide duplicate check in
`duplicates`; claim/release/extend, quotas, rules and the sweep in `pool`; contact rules in
`contacts`."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.db import utcnow
from app.core.errors import InvalidInput
from app.core.principal import Principal
from app.core.updates import audited_update
from app.customers import duplicates, pool, views
from app.customers import normalize as norm
from app.customers import repository as repo
from app.customers.errors import (
    CustomerAssigneeInactive,
    CustomerAssignNotAllowed,
    CustomerDuplicateIdentity,
    CustomerDuplicateName,
    CustomerInvalidPhone,
    CustomerNotFound,
    CustomerShareNotAllowed,
    CustomerShareNotFound,
    CustomerShareWithOwner,
    CustomerUnknownCompany,
    CustomerUnknownUser,
)
from app.customers.models import Customer
from app.customers.permissions import CUSTOMER_ASSIGN
from app.customers.schemas import (
    AssignIn,
    CustomerCreate,
    CustomerUpdate,
    DuplicateHit,
    ShareIn,
)
from app.org import repository as org_repo
from app.org.service import ensure_may_manage_user

CUSTOMER_AUDIT_FIELDS = ("kind", "name", "credit_code", "id_number", "addresses", "phones", "email", "industry",
                         "category", "grade", "credit_score", "tags", "company_id", "owner_id", "status",
                         "protected_until", "secured_at", "last_follow_up_at", "notes", "deleted_at")


def invalid_field(pointer: str, message: str, error: type[InvalidInput] = InvalidInput) -> InvalidInput:
    return error(message, errors=[{"pointer": pointer, "message": message}])


# --- normalisation of input ------------------------------------------------------------------------

def _phones(raw: list[str], pointer: str) -> list[str]:
    out: list[str] = []
    for i, value in enumerate(raw):
        e164 = norm.normalize_phone(value)
        if e164 is None:
            raise invalid_field(f"{pointer}/{i}", f"{value!r} is not a phone number.", CustomerInvalidPhone)
        if e164 not in out:
            out.append(e164)
    return out


def _check_identity_kind(kind: str, credit_code: str | None, id_number: str | None) -> None:
    if kind == "company" and id_number:
        raise invalid_field("/body/id_number", "An identity number belongs to an individual customer.")
    if kind == "individual" and credit_code:
        raise invalid_field("/body/credit_code", "A credit code belongs to a company customer.")


async def _ensure_identity_free(session: AsyncSession, group_id: uuid.UUID, credit_code: str | None,
                                id_number: str | None, exclude_id: uuid.UUID | None = None) -> None:
    """Rule: one customer per credit code / identity number in a group (never overridable)."""
    for column, value, field in ((Customer.credit_code, credit_code, "credit_code"),
                                 (Customer.id_number, id_number, "id_number")):
        if value and await repo.identity_taken(session, group_id, column, value, exclude_id):
            raise CustomerDuplicateIdentity(
                f"A customer with this {field.replace('_', ' ')} already exists.",
                errors=[{"pointer": f"/body/{field}", "message": "already used by another customer"}])


async def _ensure_name_free(session: AsyncSession, group_id: uuid.UUID, name_norm: str, confirmed: bool,
                            exclude_id: uuid.UUID | None = None) -> None:
    """Rule: an exact duplicate of a (normalised) company name is refused unless confirmed."""
    if not confirmed and await repo.name_taken(session, group_id, name_norm, exclude_id):
        raise CustomerDuplicateName("A customer with this name already exists; check the duplicate list, or confirm.",
                                    errors=[{"pointer": "/body/name", "message": "same name as an existing customer; "
                                "send confirm_duplicate=true to create anyway"}])


# --- customers -------------------------------------------------------------------------------------

async def _company_for(session: AsyncSession, principal: Principal, company_id: uuid.UUID | None) -> uuid.UUID:
    """The caller's own company or one their scope covers (422 otherwise)."""
    cid = company_id or principal.company_id
    if not await org_repo.company_in_group(session, principal.group_id, cid) or not (
            cid == principal.company_id or principal.scope.covers_company(cid)):
        raise invalid_field("/body/company_id", "Unknown company.", CustomerUnknownCompany)
    return cid  # type: ignore[return-value] - company_in_group is False for None


async def resolve_assignee(session: AsyncSession, principal: Principal, user_id: uuid.UUID, pointer: str) -> Any:
    """Rule: a manager assigns only to users in their scope and of a lower level, who are active.
    Returns org's user (id, company_id)."""
    if user_id == principal.user_id:
        return await org_repo.get_user(session, user_id)
    if not principal.has(CUSTOMER_ASSIGN):
        raise CustomerAssignNotAllowed("Assigning to somebody else needs customer.assign.")
    target = await org_repo.get_readable_user(session, principal, user_id)
    await ensure_may_manage_user(session, principal, target)
    if not target.is_active or target.locked_at is not None:
        raise invalid_field(pointer, "The user is inactive or locked.", CustomerAssigneeInactive)
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
        raise invalid_field("/body/name", "The name has no letters or digits.")
    phones = _phones(data.phones, "/body/phones")
    await _ensure_identity_free(session, principal.group_id, data.credit_code, id_number)
    await _ensure_name_free(session, principal.group_id, name_norm, data.confirm_duplicate)
    warnings = await duplicates.duplicate_check(session, principal, name=data.name, phone=phones[0] if phones else None,
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
    await record_creation(session, principal, customer, activity="created" if owner.id == principal.user_id
                          else "assigned", action="customer.created", tz=cr.tz, now=now)
    return customer, warnings


async def record_creation(session: AsyncSession, principal: Principal, customer: Customer, *, activity: str,
                          action: str, tz: Any, now: datetime) -> None:
    """What follows every new customer, however it was made (the API, an import): its first
    activity, the same-person link, the audit event. The customer is flushed already."""
    pool.add_activity(session, customer, activity, user_id=customer.owner_id, actor_id=principal.user_id, tz=tz,
                      now=now)
    if customer.id_number:
        await _link_same_person(session, principal, customer)
    await session.flush()
    audit.record(session, principal, action, "customer", customer.id, company_id=customer.company_id,
                 after=audit.snapshot(customer, *CUSTOMER_AUDIT_FIELDS))


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
            raise invalid_field("/body/name", "The name has no letters or digits.")
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
    if principal.has(CUSTOMER_ASSIGN) and views.scope_covers(principal.scope, customer.company_id,
                                                       departments.get(customer.owner_id)):
        return
    raise CustomerShareNotAllowed("Only the owner or an administrator shares a customer.")


async def share(session: AsyncSession, principal: Principal, customer: Customer, data: ShareIn) -> None:
    await _ensure_may_share(session, principal, customer)
    users = await org_repo.user_ids_in_group(session, principal.group_id, data.user_ids)
    if len(users) != len(set(data.user_ids)):
        raise invalid_field("/body/user_ids", "Some users do not exist.", CustomerUnknownUser)
    if customer.owner_id in data.user_ids:
        raise invalid_field("/body/user_ids", "The owner already has the customer.", CustomerShareWithOwner)
    await repo.upsert_shares(session, customer.id, dict.fromkeys(data.user_ids), can_edit=data.can_edit,
                             granted_by_id=principal.user_id)
    audit.record(session, principal, "customer.shared", "customer", customer.id, company_id=customer.company_id,
                 after={"user_ids": list(dict.fromkeys(data.user_ids)), "can_edit": data.can_edit})


async def unshare(session: AsyncSession, principal: Principal, customer: Customer, user_id: uuid.UUID) -> None:
    await _ensure_may_share(session, principal, customer)
    can_edit = await repo.delete_share(session, customer.id, user_id)
    if can_edit is None:
        raise CustomerShareNotFound("The customer is not shared with this user.")
    audit.record(session, principal, "customer.unshared", "customer", customer.id, company_id=customer.company_id,
                 before={"user_id": user_id, "can_edit": can_edit})


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
        raise repo.not_found(CustomerNotFound, ", ".join(map(str, missing)))
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
