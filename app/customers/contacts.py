"""Contact rules: phone normalisation, duplicate warnings, "same person" by identity number, and
the links between customers and contacts."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.principal import Principal
from app.core.updates import audited_update
from app.customers import normalize as norm
from app.customers import repository as repo
from app.customers.errors import (
    ContactDuplicateMobile,
    ContactInvalidPhone,
    ContactSamePerson,
    CustomerContactLinkNotFound,
)
from app.customers.models import Contact, Customer
from app.customers.schemas import ContactCreate, ContactUpdate, ContactWarning, LinkIn
from app.customers.service import invalid_field, resolve_assignee


def _phone(raw: str | None, pointer: str) -> str | None:
    if raw is None:
        return None
    e164 = norm.normalize_phone(raw)
    if e164 is None:
        raise invalid_field(pointer, f"{raw!r} is not a phone number.", ContactInvalidPhone)
    return e164


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
        raise ContactDuplicateMobile(
            "Another contact in the group has this mobile number; confirm to save anyway.",
            errors=[{"pointer": "/body/mobile", "message": "used by another contact; send "
                     "confirm_duplicate=true to save anyway"}],
            extra={"duplicates": [w.model_dump(mode="json") for w in warnings if w.field == "mobile"]})
    return warnings


async def _ensure_person_free(session: AsyncSession, group_id: uuid.UUID, id_number: str | None,
                              exclude_id: uuid.UUID | None) -> None:
    if await repo.contact_ids_with_identity(session, group_id, id_number, exclude_id, limit=1):
        raise ContactSamePerson("This identity number belongs to an existing contact: the same person.",
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
    relation = await repo.delete_link(session, customer.id, contact_id)
    if relation is None:
        raise CustomerContactLinkNotFound("The contact is not linked to this customer.")
    audit.record(session, principal, "customer.contact_unlinked", "customer", customer.id,
                 company_id=customer.company_id, before={"contact_id": contact_id, "relation": relation})

