import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.core.principal import ScopeKind
from app.core.types import Bool, Int, Text, TimeZone
from app.core.updates import documents_not_null
from app.org.models import Company, Department, Role, User

ScopeKindLiteral = Literal["all", "companies", "company", "department_tree", "department", "self"]
assert set(ScopeKindLiteral.__args__) == set(ScopeKind.CHOICES)  # type: ignore[attr-defined]

Code = Text(40, min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
Name = Text(200, min_length=1)
ShortName = Text(100, min_length=1)
Password = Text(128, min_length=8)
Phone = Text(32)
PermissionCode = Text(80, min_length=1)


class ORM(BaseModel):
    model_config = ConfigDict(from_attributes=True)


TowMinDpd = Annotated[Int, Field(ge=0, le=3650, description="The fewest days past due a contract of the company "
                                   "must have for a tow request (below: 409 `tow.below_minimum_dpd`); null: the "
                                   "`TOW_MIN_DPD` setting")]


class CompanyOut(ORM):
    id: uuid.UUID
    code: str
    name: str
    timezone: str
    tow_min_dpd: int | None
    created_at: datetime


class CompanyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Name
    timezone: TimeZone = Field("Asia/Shanghai", description="IANA time zone, e.g. Asia/Shanghai")
    tow_min_dpd: TowMinDpd | None = None


class CompanyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=documents_not_null(Company))
    name: Name | None = None
    timezone: TimeZone | None = Field(None, description="IANA time zone, e.g. Asia/Shanghai")
    tow_min_dpd: TowMinDpd | None = None


class DepartmentOut(ORM):
    id: uuid.UUID
    company_id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    head_user_id: uuid.UUID | None


class DepartmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company_id: uuid.UUID
    parent_id: uuid.UUID | None = None
    name: Name
    head_user_id: uuid.UUID | None = None


class DepartmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=documents_not_null(Department))
    name: Name | None = None
    head_user_id: uuid.UUID | None = None


class RoleOut(ORM):
    id: uuid.UUID
    code: str
    name: str
    permissions: list[str]
    scope_kind: ScopeKindLiteral
    scope_company_ids: list[uuid.UUID]
    rank: int
    is_system_admin: bool


class RoleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: ShortName
    permissions: list[PermissionCode] = Field(default_factory=list, max_length=500)
    scope_kind: ScopeKindLiteral
    scope_company_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    rank: Int = Field(10, ge=0, le=1000)


class RoleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=documents_not_null(Role))
    name: ShortName | None = None
    permissions: list[PermissionCode] | None = Field(None, max_length=500)
    scope_kind: ScopeKindLiteral | None = None
    scope_company_ids: list[uuid.UUID] | None = Field(None, max_length=500)
    rank: Int | None = Field(None, ge=0, le=1000)


class RoleRef(ORM):
    id: uuid.UUID
    code: str
    name: str


class UserOut(ORM):
    id: uuid.UUID
    username: str
    display_name: str
    company_id: uuid.UUID
    department_id: uuid.UUID | None
    manager_id: uuid.UUID | None
    phone: str | None
    email: str | None
    is_active: bool
    locked: bool
    lock_reason: str | None
    roles: list[RoleRef]
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Text(64, min_length=2, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: ShortName
    password: Password
    company_id: uuid.UUID
    department_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    role_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=documents_not_null(User))
    display_name: ShortName | None = None
    department_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    is_active: Bool | None = None
    role_ids: list[uuid.UUID] | None = Field(None, max_length=50)
    password: Password | None = None


class LockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text(200, min_length=1) = "locked_by_administrator"


class PermissionOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")
    granted: Bool = Field(description="true grants the permission to this user, false withdraws it")


class PermissionOut(BaseModel):
    code: str
    area: str
    name: str


class HandoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    lock_from_user: Bool = Field(True, description="Lock the leaver's account in the same transaction")
    reason: Text(200, min_length=1) = "离职交接"


class HandoverOut(BaseModel):
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    moved: dict[str, int] = Field(description=(
        "How many moved, per kind: customers, contacts, customer_shares, requests (filed, not approved), "
        "approvals (steps waiting on the leaver), draft_contracts, contracts (running ones, as salesperson "
        "or clerk), investigations, open_collection_cases, tow_tasks, webhook_subscriptions; new areas add "
        "their own kinds"))
    locked: bool
