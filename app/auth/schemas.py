import uuid

from pydantic import BaseModel, Field

from app.core.types import Text

RefreshToken = Text(200, min_length=16)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Access token lifetime in seconds")


class RefreshRequest(BaseModel):
    refresh_token: RefreshToken


class LogoutRequest(BaseModel):
    refresh_token: RefreshToken | None = Field(
        None,
        description="Revoke this token's family; without it, every refresh token of the caller.",
    )


class NamedRef(BaseModel):
    id: uuid.UUID
    name: str
    code: str | None = None


class EffectiveScope(BaseModel):
    all_companies: bool
    company_ids: list[uuid.UUID]
    department_ids: list[uuid.UUID]
    kinds: list[str] = Field(description="The scope kinds of the user's roles; own records are always included")


class MeResponse(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    group: NamedRef
    company: NamedRef
    department: NamedRef | None
    roles: list[NamedRef]
    permissions: list[str]
    scope: EffectiveScope
    is_system_admin: bool
