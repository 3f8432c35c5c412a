"""Customers, contacts, their links and shares, the public pool's rules and activity."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, FetchedValue, ForeignKey, Index
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.sql import and_, any_, func, select, text
from sqlalchemy.types import Boolean, Date, DateTime, Integer, String, Text

from app.core.db import Base, Timestamps, UUIDPk, Versioned, utcnow
from app.core.principal import Principal
from app.core.scoping import ScopeSpec, scope_condition, scope_eq, scoped
from app.core.sql import check_in

KINDS = ("company", "individual")
CATEGORIES = ("intended", "signed", "partner", "supplier", "media", "personal_network")
GRADES = ("A", "B", "C")
STATUSES = ("private", "pool")
RELATIONS = ("legal_representative", "guarantor", "purchaser", "other", "self")
ACTIVITY_KINDS = ("created", "claimed", "released", "extended", "expired", "secured", "assigned", "handed_over",
                  "imported")


def _shared_with(principal: Principal, *, edit: bool) -> object:
    # Shares end when the customer returns to the pool (pool.end_shares); a pool customer never
    # counts as shared, even with a share row left from before that rule.
    # The caller's shared ids as one array (an InitPlan, run once): `id = ANY(...)` is a primary
    # key lookup, so the branch costs what the caller's shares number, never a pass over the
    # tenant (a correlated EXISTS let the planner walk every customer to test each).
    shared = select(CustomerShare.customer_id).where(scope_eq(CustomerShare.user_id, principal.user_id))
    if edit:
        shared = shared.where(CustomerShare.can_edit.is_(True))
    # "private" is the rule's constant, not the caller's value, but a scope parameter all the same:
    # hidden from a hot page's planner with the rest of the rule (core/hotsql.py).
    return and_(scope_eq(Customer.status, "private"), Customer.id == any_(func.array(shared.scalar_subquery())))


@scoped(lambda m: ScopeSpec(
    group=m.group_id, company=m.company_id,
    # The owner's department, stored on the row by triggers: a department scope walks one ordered
    # pass per department instead of one per member (core.pagination).
    department=m.owner_department_id,
    # Only the current owner makes a customer "own": when the sweep returns it to the pool, the
    # former owner (often also its creator) must lose access.
    owners=(m.owner_id,),
    extra_read=lambda p: _shared_with(p, edit=False),
    extra_write=lambda p: _shared_with(p, edit=True),
))
class Customer(UUIDPk, Timestamps, Versioned, Base):
    """A company or a person we sell to; private to its owner or in the company's public pool."""

    __tablename__ = "customer"
    __handover_kept__ = {"created_by_id": "history: who created it",
                         "former_owner_id": "history: who held it before the pool (the reclaim cool-down)"}

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - a declared_attr takes the class
        # Versioned's, plus RETURNING of the trigger-set owner_department_id after every INSERT and
        # UPDATE: an expired attribute would otherwise lazy-load (impossible under asyncio) when
        # the audit snapshots the row.
        return {"version_id_col": cls.__table__.c.version, "eager_defaults": True}  # type: ignore[attr-defined]
    __table_args__ = (
        check_in("kind", KINDS, name="kind_valid"),
        check_in("category", CATEGORIES, name="category_valid"),
        check_in("grade", GRADES, name="grade_valid", nullable=True),
        check_in("status", STATUSES, name="status_valid"),
        CheckConstraint("(status = 'pool') = (owner_id IS NULL)", name="owner_matches_status"),
        # Duplicate check: fuzzy company name over the whole group (pg_trgm), phones, e-mail.
        # fastupdate off: no pending list to scan, so the check stays fast right after inserts.
        Index("ix_customer_name_norm_trgm", "name_norm", postgresql_using="gin",
              postgresql_ops={"name_norm": "gin_trgm_ops"}, postgresql_with={"fastupdate": "off"}),
        Index("ix_customer_phones", "phones", postgresql_using="gin"),
        Index("ix_customer_group_id_email", "group_id", "email"),
        Index("ix_customer_group_id_credit_code", "group_id", "credit_code"),
        Index("ix_customer_group_id_id_number", "group_id", "id_number"),
        # Keyset lists: (sort column, id) for each branch a scope is walked along (core.pagination):
        # the tenant, a company, an owner (own records), the owner's department; shares go by id.
        Index("ix_customer_group_id_created_at_id", "group_id", "created_at", "id"),
        Index("ix_customer_group_id_name_id", "group_id", "name", "id"),
        Index("ix_customer_company_id_created_at_id", "company_id", "created_at", "id"),
        Index("ix_customer_company_id_name_id", "company_id", "name", "id"),
        Index("ix_customer_owner_id_created_at_id", "owner_id", "created_at", "id"),
        Index("ix_customer_owner_id_name_id", "owner_id", "name", "id"),
        Index("ix_customer_owner_department_id_created_at_id", "owner_department_id", "created_at", "id"),
        Index("ix_customer_owner_department_id_name_id", "owner_department_id", "name", "id"),
        # The sweep: private, unsecured customers by protection expiry.
        Index("ix_customer_protected_until", "protected_until",
              postgresql_where=text("status = 'private' AND secured_at IS NULL AND deleted_at IS NULL")),
        Index("ix_customer_company_id_pooled_at_id", "company_id", "pooled_at", "id",
              postgresql_where=text("status = 'pool'")),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    kind: Mapped[str] = mapped_column(String(20), default="company")
    name: Mapped[str] = mapped_column(String(200))
    # Normalised name (width, case, spaces, punctuation, legal-form suffixes removed).
    name_norm: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18))  # 统一社会信用代码
    id_number: Mapped[str | None] = mapped_column(String(18))  # 身份证号 (individuals)
    addresses: Mapped[list[str]] = mapped_column(ARRAY(String(300)), default=list, server_default="{}")
    phones: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list, server_default="{}")  # E.164
    email: Mapped[str | None] = mapped_column(String(254))  # lower-cased
    industry: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(20), default="intended")
    grade: Mapped[str | None] = mapped_column(String(1))
    credit_score: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list, server_default="{}")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    # The owner's current department (NULL without owner or for an owner placed at company level):
    # derived, written only by the triggers of migration `customer_owner_department` (on this row's
    # owner change and, set-based, on the owner's move), in the same transaction. The app never
    # sets it; the mapper reads it back with RETURNING (eager_defaults below).
    owner_department_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("department.id"), server_default=FetchedValue(), server_onupdate=FetchedValue())
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    status: Mapped[str] = mapped_column(String(10), default="private")
    protected_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when the owner signs a contract or receives a payment within protection: owner's for good.
    secured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    secured_reason: Mapped[str | None] = mapped_column(String(40))
    pooled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who held it last before it went to the pool (may not reclaim during the cool-down).
    former_owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    last_follow_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notes: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CustomerShare(Base):
    """A customer shared by its owner (or an administrator) with a colleague, read or edit."""

    __tablename__ = "customer_share"
    __handover_kept__ = {"granted_by_id": "history: who shared it"}

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True,
                                               index=True)
    can_edit: Mapped[bool] = mapped_column(Boolean, default=False)
    granted_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _contact_linked_to_readable_customer(principal: Principal) -> object:
    # Whoever may read a customer may see the names of its contacts (phones stay masked unless
    # the caller may see them in full, see views.contact_visibility).
    return Contact.id.in_(
        select(CustomerContact.contact_id)
        .join(Customer, Customer.id == CustomerContact.customer_id)
        .where(Customer.deleted_at.is_(None), scope_condition(principal, Customer))
    )


@scoped(lambda m: ScopeSpec(
    group=m.group_id, company=m.company_id, owners=(m.owner_id,),
    extra_read=_contact_linked_to_readable_customer,
))
class Contact(UUIDPk, Timestamps, Versioned, Base):
    """A person (legal representative, guarantor, purchaser...): a salesperson's asset.

    `company_id` is the owner's company, so that a company scope "covers the owner".
    """

    __tablename__ = "contact"
    __handover_kept__ = {"created_by_id": "history: who created it"}
    __table_args__ = (
        Index("ix_contact_group_id_mobile", "group_id", "mobile"),
        Index("ix_contact_group_id_office_phone", "group_id", "office_phone"),
        Index("ix_contact_group_id_email", "group_id", "email"),
        Index("ix_contact_group_id_name", "group_id", "name"),
        Index("ix_contact_group_id_id_number", "group_id", "id_number"),
        Index("ix_contact_group_id_created_at_id", "group_id", "created_at", "id"),
        Index("ix_contact_owner_id", "owner_id"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"))
    name: Mapped[str] = mapped_column(String(100))
    mobile: Mapped[str | None] = mapped_column(String(32))  # E.164
    office_phone: Mapped[str | None] = mapped_column(String(32))  # E.164 when parseable
    email: Mapped[str | None] = mapped_column(String(254))  # lower-cased
    position: Mapped[str | None] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(18))
    notes: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CustomerContact(Base):
    """A contact's relation to a customer; `self` links an individual customer to their person."""

    __tablename__ = "customer_contact"
    __handover_kept__ = {"created_by_id": "history: who linked them"}
    __table_args__ = (check_in("relation", RELATIONS, name="relation_valid"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True,
                                                  index=True)
    relation: Mapped[str] = mapped_column(String(30), default="other")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PoolRule(UUIDPk, Timestamps, Versioned, Base):
    """Public pool rules of one company; companies without a row use the defaults."""

    __tablename__ = "pool_rule"
    __table_args__ = (
        CheckConstraint("max_extensions_per_month BETWEEN 5 AND 10", name="extensions_range"),
        CheckConstraint("protection_days > 0 AND reminder_days >= 0 AND extension_days > 0", name="days_positive"),
        CheckConstraint("daily_claim_cap > 0 AND daily_reminder_floor >= 0", name="caps_positive"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"), unique=True)
    protection_days: Mapped[int] = mapped_column(Integer, default=15)
    reminder_days: Mapped[int] = mapped_column(Integer, default=5)
    extension_days: Mapped[int] = mapped_column(Integer, default=1)
    max_extensions_per_month: Mapped[int] = mapped_column(Integer, default=5)
    daily_claim_cap: Mapped[int] = mapped_column(Integer, default=20)
    daily_reminder_floor: Mapped[int] = mapped_column(Integer, default=12)
    count_weekends: Mapped[bool] = mapped_column(Boolean, default=True)
    reclaim_cooldown_days: Mapped[int] = mapped_column(Integer, default=7)


class CustomerActivity(UUIDPk, Base):
    """Ownership history of a customer (claims, releases, extensions...): the detail's recent
    activity, and the counter behind the daily claim cap and the monthly extension quota."""

    __tablename__ = "customer_activity"
    __handover_kept__ = {"user_id": "history: whom the activity counted for (claim caps, quotas)",
                         "actor_id": "history: who acted"}
    __table_args__ = (
        check_in("kind", ACTIVITY_KINDS, name="kind_valid"),
        Index("ix_customer_activity_user_id_kind_business_date", "user_id", "kind", "business_date"),
        Index("ix_customer_activity_customer_id_occurred_at", "customer_id", "occurred_at"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    # The user the activity counts for (the claimer, the releasing owner...); None for the sweep.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    business_date: Mapped[date] = mapped_column(Date)  # in the company's time zone
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text)
