import uuid
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.etag import check_if_match, set_etag
from app.core.i18n import current_language
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageParams, SortKey, page_params, paginate, sort_param
from app.core.permissions import CATALOGUE
from app.core.principal import Principal, Requires
from app.core.routers import api_router
from app.core.routing import get_session
from app.core.scoping import get_readable, readable
from app.core.types import Text
from app.org import permissions as P
from app.org import repository as repo
from app.org import service
from app.org.errors import CompanyNotFound, DepartmentNotFound, RoleNotFound, UserNotFound
from app.org.handover import hand_over
from app.org.models import Company, Department, Role, User
from app.org.schemas import (
    CompanyCreate,
    CompanyOut,
    CompanyUpdate,
    DepartmentCreate,
    DepartmentOut,
    DepartmentUpdate,
    HandoverIn,
    HandoverOut,
    LockRequest,
    PermissionOut,
    PermissionOverride,
    RoleCreate,
    RoleOut,
    RoleRef,
    RoleUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
)

router = api_router(tags=["organisation"])
Session = Annotated[AsyncSession, Depends(get_session)]
Page_ = Annotated[PageParams, Depends(page_params)]
Id = Annotated[uuid.UUID, Path()]
Out = TypeVar("Out", bound=BaseModel)
M = TypeVar("M")


# --- permissions catalogue -------------------------------------------------------------------------

@router.get("/permissions", response_model=list[PermissionOut], operation_id="list_permissions")
async def list_permissions(_: Requires(P.ROLE_READ)) -> list[PermissionOut]:
    zh = current_language.get() == "zh-CN"
    return [PermissionOut(code=p.code, area=p.area, name=p.zh if zh else p.en) for p in sorted(CATALOGUE.values(),
                                                                                              key=lambda p: p.code)]


def _shaped(out: type[Out], obj: Any, response: Response) -> Out:
    """The response body, with the ETag of the version it shows."""
    set_etag(response, obj.version)
    return out.model_validate(obj)


async def _for_change(session: AsyncSession, principal: Principal, model: type[M], id_: uuid.UUID,
                      request: Request, *, code: str) -> M:
    """The object, row-locked for a change, once the client's If-Match holds."""
    obj = await get_readable(session, principal, model, id_, for_update=True, code=code)
    check_if_match(request, obj.version)  # type: ignore[attr-defined]
    return obj


# --- companies ---------------------------------------------------------------------------------------

COMPANY_SORTS = {"code": SortKey("code", Company.code), "name": SortKey("name", Company.name),
                 "created_at": SortKey("created_at", Company.created_at)}


@router.get("/companies", response_model=Page[CompanyOut], operation_id="list_companies")
async def list_companies(session: Session, principal: Requires(P.COMPANY_READ), page: Page_,
                         sort: Annotated[SortKey, Depends(sort_param(COMPANY_SORTS, "code"))]) -> Page[CompanyOut]:
    rows, cursor = await paginate(session, readable(principal, Company), page, sort, Company.id)
    return Page(items=[CompanyOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post("/companies", response_model=CompanyOut, status_code=201, operation_id="create_company",
             dependencies=[Idempotent])
async def create_company(session: Session, principal: Requires(P.COMPANY_MANAGE), body: CompanyCreate,
                         response: Response) -> CompanyOut:
    company = await service.create_company(session, principal, body)
    set_etag(response, company.version)
    response.headers["Location"] = f"/api/v1/companies/{company.id}"
    return CompanyOut.model_validate(company)


@router.get("/companies/{company_id}", response_model=CompanyOut, operation_id="get_company")
async def get_company(session: Session, principal: Requires(P.COMPANY_READ), company_id: Id,
                      response: Response) -> CompanyOut:
    company = await get_readable(session, principal, Company, company_id, code=CompanyNotFound.code)
    return _shaped(CompanyOut, company, response)


@router.patch("/companies/{company_id}", response_model=CompanyOut, operation_id="update_company")
async def update_company(session: Session, principal: Requires(P.COMPANY_MANAGE), company_id: Id,
                         body: CompanyUpdate, request: Request, response: Response) -> CompanyOut:
    company = await _for_change(session, principal, Company, company_id, request, code=CompanyNotFound.code)
    company = await service.update_company(session, principal, company, body)
    return _shaped(CompanyOut, company, response)


# --- departments -------------------------------------------------------------------------------------

DEPT_SORTS = {"name": SortKey("name", Department.name), "created_at": SortKey("created_at", Department.created_at)}


@router.get("/departments", response_model=Page[DepartmentOut], operation_id="list_departments")
async def list_departments(session: Session, principal: Requires(P.DEPARTMENT_READ), page: Page_,
                           sort: Annotated[SortKey, Depends(sort_param(DEPT_SORTS, "name"))],
                           company_id: uuid.UUID | None = None,
                           parent_id: uuid.UUID | None = None) -> Page[DepartmentOut]:
    stmt = readable(principal, Department)
    if company_id:
        stmt = stmt.where(Department.company_id == company_id)
    if parent_id:
        stmt = stmt.where(Department.parent_id == parent_id)
    rows, cursor = await paginate(session, stmt, page, sort, Department.id)
    return Page(items=[DepartmentOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post("/departments", response_model=DepartmentOut, status_code=201, operation_id="create_department",
             dependencies=[Idempotent])
async def create_department(session: Session, principal: Requires(P.DEPARTMENT_MANAGE), body: DepartmentCreate,
                            response: Response) -> DepartmentOut:
    dept = await service.create_department(session, principal, body)
    return _shaped(DepartmentOut, dept, response)


@router.get("/departments/{department_id}", response_model=DepartmentOut, operation_id="get_department")
async def get_department(session: Session, principal: Requires(P.DEPARTMENT_READ), department_id: Id,
                         response: Response) -> DepartmentOut:
    dept = await get_readable(session, principal, Department, department_id, code=DepartmentNotFound.code)
    return _shaped(DepartmentOut, dept, response)


@router.patch("/departments/{department_id}", response_model=DepartmentOut, operation_id="update_department")
async def update_department(session: Session, principal: Requires(P.DEPARTMENT_MANAGE), department_id: Id,
                            body: DepartmentUpdate, request: Request, response: Response) -> DepartmentOut:
    dept = await _for_change(session, principal, Department, department_id, request, code=DepartmentNotFound.code)
    dept = await service.update_department(session, principal, dept, body)
    return _shaped(DepartmentOut, dept, response)


# --- roles -------------------------------------------------------------------------------------------

ROLE_SORTS = {"code": SortKey("code", Role.code), "rank": SortKey("rank", Role.rank)}


@router.get("/roles", response_model=Page[RoleOut], operation_id="list_roles")
async def list_roles(session: Session, principal: Requires(P.ROLE_READ), page: Page_,
                     sort: Annotated[SortKey, Depends(sort_param(ROLE_SORTS, "code"))]) -> Page[RoleOut]:
    rows, cursor = await paginate(session, readable(principal, Role), page, sort, Role.id)
    return Page(items=[RoleOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post("/roles", response_model=RoleOut, status_code=201, operation_id="create_role", dependencies=[Idempotent])
async def create_role(session: Session, principal: Requires(P.ROLE_MANAGE), body: RoleCreate,
                      response: Response) -> RoleOut:
    role = await service.create_role(session, principal, body)
    return _shaped(RoleOut, role, response)


@router.get("/roles/{role_id}", response_model=RoleOut, operation_id="get_role")
async def get_role(session: Session, principal: Requires(P.ROLE_READ), role_id: Id, response: Response) -> RoleOut:
    role = await get_readable(session, principal, Role, role_id, code=RoleNotFound.code)
    return _shaped(RoleOut, role, response)


@router.patch("/roles/{role_id}", response_model=RoleOut, operation_id="update_role")
async def update_role(session: Session, principal: Requires(P.ROLE_MANAGE), role_id: Id, body: RoleUpdate,
                      request: Request, response: Response) -> RoleOut:
    role = await _for_change(session, principal, Role, role_id, request, code=RoleNotFound.code)
    role = await service.update_role(session, principal, role, body)
    return _shaped(RoleOut, role, response)


# --- users -------------------------------------------------------------------------------------------

USER_SORTS = {"username": SortKey("username", User.username), "created_at": SortKey("created_at", User.created_at)}


async def _users_out(session: AsyncSession, users: list[User]) -> list[UserOut]:
    roles = await repo.roles_of(session, [u.id for u in users])
    return [
        UserOut.model_validate({
            **{k: getattr(u, k) for k in ("id", "username", "display_name", "company_id", "department_id",
                                          "manager_id", "phone", "email", "is_active", "lock_reason",
                                          "created_at")},
            "locked": u.locked_at is not None,
            "roles": [RoleRef.model_validate(r) for r in roles[u.id]],
        })
        for u in users
    ]


@router.get("/users", response_model=Page[UserOut], operation_id="list_users")
async def list_users(session: Session, principal: Requires(P.USER_READ), page: Page_,
                     sort: Annotated[SortKey, Depends(sort_param(USER_SORTS, "username"))],
                     company_id: uuid.UUID | None = None, department_id: uuid.UUID | None = None,
                     is_active: bool | None = None,
                     q: Annotated[Text(64) | None,
                                  Query(max_length=64, description="Username or name contains")] = None,
                     ) -> Page[UserOut]:
    stmt = readable(principal, User)
    if company_id:
        stmt = stmt.where(User.company_id == company_id)
    if department_id:
        stmt = stmt.where(User.department_id == department_id)
    if is_active is not None:
        stmt = stmt.where(User.is_active == is_active)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(User.username.ilike(pattern), User.display_name.ilike(pattern)))
    rows, cursor = await paginate(session, stmt, page, sort, User.id)
    return Page(items=await _users_out(session, list(rows)), next_cursor=cursor)


@router.post("/users", response_model=UserOut, status_code=201, operation_id="create_user", dependencies=[Idempotent])
async def create_user(session: Session, principal: Requires(P.USER_MANAGE), body: UserCreate,
                      response: Response) -> UserOut:
    user = await service.create_user(session, principal, body)
    set_etag(response, user.version)
    return (await _users_out(session, [user]))[0]


@router.get("/users/{user_id}", response_model=UserOut, operation_id="get_user")
async def get_user(session: Session, principal: Requires(P.USER_READ), user_id: Id, response: Response) -> UserOut:
    user = await get_readable(session, principal, User, user_id, code=UserNotFound.code)
    set_etag(response, user.version)
    return (await _users_out(session, [user]))[0]


@router.patch("/users/{user_id}", response_model=UserOut, operation_id="update_user")
async def update_user(session: Session, principal: Requires(P.USER_MANAGE), user_id: Id, body: UserUpdate,
                      request: Request, response: Response) -> UserOut:
    user = await service.get_user_for_change(session, principal, user_id)
    check_if_match(request, user.version)
    user = await service.update_user(session, principal, user, body)
    set_etag(response, user.version)
    return (await _users_out(session, [user]))[0]


@router.post("/users/{user_id}/lock", response_model=UserOut, operation_id="lock_user")
async def lock_user(session: Session, principal: Requires(P.USER_MANAGE), user_id: Id, request: Request,
                    response: Response, body: LockRequest | None = None) -> UserOut:
    user = await service.get_user_for_change(session, principal, user_id)
    check_if_match(request, user.version)
    user = await service.lock_user(session, principal, user, (body or LockRequest()).reason)
    set_etag(response, user.version)
    return (await _users_out(session, [user]))[0]


@router.post("/users/{user_id}/unlock", response_model=UserOut, operation_id="unlock_user")
async def unlock_user(session: Session, principal: Requires(P.USER_MANAGE), user_id: Id, request: Request,
                      response: Response) -> UserOut:
    user = await service.get_user_for_change(session, principal, user_id)
    check_if_match(request, user.version)
    user = await service.unlock_user(session, principal, user)
    set_etag(response, user.version)
    return (await _users_out(session, [user]))[0]


@router.put("/users/{user_id}/permissions/{permission}", status_code=204, operation_id="set_user_permission")
async def set_user_permission(session: Session, principal: Requires(P.USER_MANAGE), user_id: Id,
                              permission: Annotated[Text(80), Path(max_length=80)], body: PermissionOverride) -> None:
    user = await service.get_user_for_change(session, principal, user_id)
    await service.set_permission_override(session, principal, user, permission, body.granted)


@router.delete("/users/{user_id}/permissions/{permission}", status_code=204, operation_id="clear_user_permission")
async def clear_user_permission(session: Session, principal: Requires(P.USER_MANAGE), user_id: Id,
                                permission: Annotated[Text(80), Path(max_length=80)]) -> None:
    user = await service.get_user_for_change(session, principal, user_id)
    await service.set_permission_override(session, principal, user, permission, None)


# --- handovers -------------------------------------------------------------------------------------

@router.post("/handovers", response_model=HandoverOut, status_code=201, operation_id="create_handover",
             dependencies=[Idempotent],
             summary="Move everything a (leaving) user owns to another user; optionally lock the leaver")
async def create_handover(session: Session, principal: Requires(P.HANDOVER_CREATE), body: HandoverIn) -> HandoverOut:
    result = await hand_over(session, principal, body.from_user_id, body.to_user_id, lock=body.lock_from_user,
                             reason=body.reason)
    return HandoverOut(from_user_id=body.from_user_id, to_user_id=body.to_user_id, moved=result.moved,
                       locked=result.locked)
