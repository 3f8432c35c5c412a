import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Timestamps, UUIDPk, Versioned
from app.core.principal import ScopeKind
from app.core.scoping import ScopeSpec, register_department_members, scope_in, scoped


class Group(UUIDPk, Timestamps, Base):
    """A tenant (集团). Nothing crosses from one group to another."""

    __tablename__ = "org_group"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(60), default="Asia/Shanghai")


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.id))
class Company(UUIDPk, Timestamps, Versioned, Base):
    __tablename__ = "company"
    __table_args__ = (UniqueConstraint("group_id", "code"),
                      CheckConstraint("tow_min_dpd BETWEEN 0 AND 3650", name="tow_min_dpd_range"))

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(60), default="Asia/Shanghai")
    # The fewest days past due a contract of the company must have before a tow request (拖机申请);
    # None: the `TOW_MIN_DPD` setting.
    tow_min_dpd: Mapped[int | None] = mapped_column(Integer)


class _InCompany:
    """Placed in a company of a group (departments and users)."""

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"), index=True)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("company.id"), index=True)


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id, department=m.id))
class Department(UUIDPk, _InCompany, Timestamps, Versioned, Base):
    __tablename__ = "department"
    __handover_kept__ = {"head_user_id": "the organisation chart: an administrator names the new head"}
    __table_args__ = (UniqueConstraint("company_id", "parent_id", "name"),)

    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    head_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("app_user.id", use_alter=True, name="fk_department_head_user_id_app_user")
    )


@scoped(lambda m: ScopeSpec(group=m.group_id, company=m.company_id, department=m.department_id, owners=(m.id,)))
class User(UUIDPk, _InCompany, Timestamps, Versioned, Base):
    __tablename__ = "app_user"
    __handover_kept__ = {"manager_id": "the organisation chart: an administrator names a new manager"}
    __table_args__ = (Index("ix_app_user_group_id_username", "group_id", "username"),)

    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"), index=True)
    manager_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    # Unique across the installation: logins carry no tenant.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lock_reason: Mapped[str | None] = mapped_column(String(200))
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_login_date: Mapped[date | None] = mapped_column(Date)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@scoped(lambda m: ScopeSpec(group=m.group_id, tenant_wide=True))
class Role(UUIDPk, Timestamps, Versioned, Base):
    """A named set of permissions plus a data scope (岗位/角色)."""

    __tablename__ = "role"
    __table_args__ = (
        UniqueConstraint("group_id", "code"),
        CheckConstraint(
            "scope_kind IN (" + ", ".join(f"'{k}'" for k in ScopeKind.CHOICES) + ")", name="scope_kind_valid"
        ),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org_group.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(100))
    permissions: Mapped[list[str]] = mapped_column(ARRAY(String(80)), default=list)
    scope_kind: Mapped[str] = mapped_column(String(20))
    scope_company_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID), default=list)
    # Seniority: a user's level is the highest rank among their roles; only a higher level may
    # change a user. The system administrator role manages everybody.
    rank: Mapped[int] = mapped_column(Integer, default=10)
    is_system_admin: Mapped[bool] = mapped_column(Boolean, default=False)


class UserRole(Base):
    __tablename__ = "user_role"
    __handover_kept__ = {"user_id": "the leaver's own roles (the account is locked, never handed on)"}

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), primary_key=True, index=True)


class UserPermission(Base):
    """A single permission granted to (granted=True) or withdrawn from (False) one user."""

    __tablename__ = "user_permission"
    __handover_kept__ = {"user_id": "the leaver's own grants (the account is locked, never handed on)"}

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(80), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)


class AuthzStamp(Base):
    """What a cached principal is checked against on every request (app/auth/service.py).

    One row per user and per group, bumped by database triggers in the same transaction as any
    change to how a principal resolves (migration `authz_stamp` lists them): a user's lock,
    disable, password, placement, roles or overrides bump the user's row; a role's permissions or
    scope, the department tree or the companies bump the group's. Triggers rather than service
    code, so that no path that writes these tables (login lockout, scripts/unlock-user, handover,
    demo data, raw SQL) can forget. A missing row means "never changed"."""

    __tablename__ = "authz_stamp"

    subject_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # a user's or a group's id
    stamp: Mapped[int] = mapped_column(BigInteger)


register_department_members(lambda department_ids: select(User.id).where(scope_in(User.department_id, department_ids)))
