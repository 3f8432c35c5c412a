import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.core.principal import ScopeKind

ScopeKindLiteral = Literal["all", "companies", "company", "department_tree", "department", "self"]
assert set(ScopeKindLiteral.__args__) == set(ScopeKind.CHOICES)  # type: ignore[attr-defined]

Code = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
Name = Field(min_length=1, max_length=200)


class ORM(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CompanyOut(ORM):
    id: uuid.UUID
    code: str
    name: str
    timezone: str
    created_at: datetime


class CompanyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Code
    name: str = Name
    timezone: str = Field("Asia/Shanghai", max_length=60)


class CompanyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = Field(None, max_length=60)


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
    name: str = Name
    head_user_id: uuid.UUID | None = None


class DepartmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
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
    code: str = Code
    name: str = Field(min_length=1, max_length=100)
    permissions: list[str] = Field(default_factory=list, max_length=500)
    scope_kind: ScopeKindLiteral
    scope_company_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    rank: int = Field(10, ge=0, le=1000)


class RoleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=100)
    permissions: list[str] | None = Field(None, max_length=500)
    scope_kind: ScopeKindLiteral | None = None
    scope_company_ids: list[uuid.UUID] | None = Field(None, max_length=500)
    rank: int | None = Field(None, ge=0, le=1000)


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
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=128)
    company_id: uuid.UUID
    department_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    phone: str | None = Field(None, max_length=32)
    email: EmailStr | None = None
    role_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str | None = Field(None, min_length=1, max_length=100)
    department_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    phone: str | None = Field(None, max_length=32)
    email: EmailStr | None = None
    is_active: bool | None = None
    role_ids: list[uuid.UUID] | None = Field(None, max_length=50)
    password: str | None = Field(None, min_length=8, max_length=128)


class LockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("locked_by_administrator", min_length=1, max_length=200)


class PermissionOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")
    granted: bool = Field(description="true grants the permission to this user, false withdraws it")


class PermissionOut(BaseModel):
    code: str
    area: str
    name: str


class HandoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    lock_from_user: bool = Field(True, description="Lock the leaver's account in the same transaction")
    reason: str = Field("离职交接", min_length=1, max_length=200)


class HandoverOut(BaseModel):
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    moved: dict[str, int] = Field(description="What moved, per kind (customers, contacts, approvals, and later areas')")
    locked: bool
