"""What a caller sees of customers and contacts: masking and output shaping.

Identity numbers, phones and e-mail are shown in full to the owner, to edit-sharers and to those
whose role scope covers the record; masked for anyone else who may read it.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import DataScope, Principal
from app.customers import normalize as norm
from app.customers import repository as repo
from app.customers.models import Contact, Customer
from app.customers.permissions import CONTACT_READ
from app.customers.schemas import ActivityOut, ContactOut, CustomerDetail, CustomerOut, LinkedContactOut, ShareOut


def scope_covers(scope: DataScope, company_id: uuid.UUID | None, owner_department_id: uuid.UUID | None) -> bool:
    """Whether a role scope (not a share, not ownership) covers a record of this company/owner."""
    return scope.covers_company(company_id) or (
        owner_department_id is not None and owner_department_id in scope.department_ids)


def _customer_fields(c: Any, full: bool) -> dict[str, Any]:
    """CustomerOut's fields of `c` (a Customer, or a record of CUSTOMER_COLUMNS read as attributes
    through `_Fields`), masked unless `full`."""
    return dict(
        id=c.id, kind=c.kind, name=c.name,
        credit_code=c.credit_code if full else norm.mask_identity(c.credit_code),
        id_number=c.id_number if full else norm.mask_identity(c.id_number),
        addresses=list(c.addresses), phones=[norm.display_phone(p) if full else norm.mask_phone(p) or ""
                                             for p in c.phones],
        email=c.email if full else norm.mask_email(c.email),
        industry=c.industry, category=c.category, grade=c.grade, credit_score=c.credit_score,
        tags=list(c.tags), company_id=c.company_id, owner_id=c.owner_id, status=c.status,
        protected_until=c.protected_until, secured_at=c.secured_at, last_follow_up_at=c.last_follow_up_at,
        notes=c.notes, created_at=c.created_at, updated_at=c.updated_at, masked=not full)


class _Fields:
    """A record's values as attributes, for `_customer_fields`."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        return self._record[name]


# The customer list's columns for the hot path (customer_dicts): CustomerOut's and the owner's department.
CUSTOMER_COLUMNS = tuple(getattr(Customer, name) for name in CustomerOut.model_fields if name != "masked") + (
    Customer.owner_department_id,)


async def _full(session: AsyncSession, principal: Principal, customers: Sequence[Any]) -> set[uuid.UUID]:
    """Rule: identity numbers, phones and e-mail are shown in full to the owner, to edit-sharers
    and to those whose role scope covers the customer; masked (`138****5678`) for anyone else
    who may read it (read-only sharers). At most one query for any number of customers: the
    owner's department is the row's own `owner_department_id` (kept by triggers), and edit shares
    are asked for only of the customers neither owned nor covered by the caller's scope."""
    full = {c.id for c in customers
            if c.owner_id == principal.user_id or scope_covers(principal.scope, c.company_id, c.owner_department_id)}
    full |= await repo.edit_shared_customer_ids(session, principal.user_id,
                                                (c.id for c in customers if c.id not in full))
    return full


async def customer_views(session: AsyncSession, principal: Principal,
                         customers: Sequence[Customer]) -> list[CustomerOut]:
    full = await _full(session, principal, customers)
    return [CustomerOut(**_customer_fields(c, c.id in full)) for c in customers]


async def customer_dicts(session: AsyncSession, principal: Principal, records: Sequence[Any]) -> list[dict[str, Any]]:
    """`customer_views` for the hot list: records of CUSTOMER_COLUMNS as CustomerOut dicts (the same
    text; tests/customers/test_hot_list.py compares them with the models')."""
    rows = [_Fields(r) for r in records]
    full = await _full(session, principal, rows)
    return [_customer_fields(c, c.id in full) for c in rows]


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
    full = {c.id for c in contacts if c.owner_id == principal.user_id or principal.scope.covers_company(c.company_id)}
    rest = [c for c in contacts if c.id not in full]  # the queries only for what is still open
    if rest and principal.scope.department_ids:
        departments = await repo.owner_departments(session, (c.owner_id for c in rest))
        full |= {c.id for c in rest if scope_covers(principal.scope, c.company_id, departments.get(c.owner_id))}
    full |= await repo.contacts_shared_for_edit(session, principal.user_id, (c.id for c in rest if c.id not in full))
    return full


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


async def customer_detail_dict(session: AsyncSession, principal: Principal, record: Any) -> dict[str, Any]:
    """`customer_detail` for the hot path: a record of CUSTOMER_COLUMNS shaped as CustomerDetail
    with the same rules and text (tests/customers/test_hot_list.py compares it with the models')."""
    customer = _Fields(record)
    full = await _full(session, principal, [customer])
    out = _customer_fields(customer, customer.id in full)
    linked = ([_Fields(r) for r in await repo.linked_contact_records(session, customer.id)]
              if principal.has(CONTACT_READ) else [])
    visible = await contact_visibility(session, principal, linked)  # type: ignore[arg-type]
    out["contacts"] = [dict(contact_id=c.id, relation=c.relation, name=c.name, position=c.position,
                            masked=c.id not in visible, **_contact_fields(c, c.id in visible))  # type: ignore[arg-type]
                       for c in linked]
    out["shares"] = await repo.share_dicts(session, customer.id)
    out["recent_activity"] = [dict(r) for r in await repo.recent_activity_records(session, customer.id)]
    return out

