import uuid
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.etag import check_if_match, declares, set_etag
from app.core.i18n import current_language
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, sort_param
from app.core.permissions import CATALOGUE
from app.core.principal import Principal, Requires
from app.core.routers import api_router
from app.core.routing import Session, query_object
from app.core.scoping import get_readable
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


def _created(out: type[Out], obj: Any, request: Request, response: Response) -> Out:
    """A 201's body, with its ETag and the new record's address (`Location`)."""
    response.headers["Location"] = f"{request.url.path}/{obj.id}"
    return _shaped(out, obj, response)


async def _for_change(session: AsyncSession, principal: Principal, model: type[M], id_: uuid.UUID,
                      request: Request, *, code: str) -> M:
    """The object, row-locked for a change, once the client's If-Match holds."""
    obj = await get_readable(session, principal, model, id_, for_update=True, code=code)
    check_if_match(request, obj.version)  # type: ignore[attr-defined]
    return obj


def _read_and_update_routes(path: str, model: type[Any], out: type[Any], update: type[Any], *,
                            read: str, manage: str, not_found: str, change: Any, name: str) -> None:
    """`GET` and `PATCH {path}/{id}` of an organisation record: scoped read (404 as missing, with
    the resource's own not-found code), If-Match on change, the service's update, ETag."""
    id_name = f"{name}_id"
    Item = Annotated[uuid.UUID, Path(alias=id_name)]  # noqa: N806 - a type in the signatures below

    @router.get(f"{path}/{{{id_name}}}", response_model=out, operation_id=f"get_{name}", summary=f"Get {name.title()}")
    @declares(etag=True)
    async def read_one(session: Session, principal: Requires(read), item_id: Item, response: Response) -> Any:
        return _shaped(out, await get_readable(session, principal, model, item_id, code=not_found), response)

    @router.patch(f"{path}/{{{id_name}}}", response_model=out, operation_id=f"update_{name}",
                  summary=f"Update {name.title()}")
    @declares(etag=True, if_match=True)
    async def update_one(session: Session, principal: Requires(manage), item_id: Item,
                         body: update, request: Request, response: Response) -> Any:  # type: ignore[valid-type]
        obj = await _for_change(session, principal, model, item_id, request, code=not_found)
        return _shaped(out, await change(session, principal, obj, body), response)


def _list_and_create_routes(path: str, model: type[Any], out: type[Any], create: type[Any], *,
                            sorts: dict[str, SortKey], default_sort: str, filters: type[Any], read: str,
                            manage: str, make: Any, name: str, plural: str) -> None:
    """`GET {path}` (scoped, keyset-paginated, filtered by `filters`' query parameters) and
    `POST {path}` (idempotent, 201 with Location and ETag) of an organisation record."""
    Sort = Annotated[SortKey, Depends(sort_param(sorts, default_sort))]  # noqa: N806 - a type below
    Where = Annotated[filters, Depends(query_object(filters))]  # noqa: N806

    @router.get(path, response_model=Page[out], operation_id=f"list_{plural}", summary=f"List {plural.title()}")
    async def list_all(session: Session, principal: Requires(read), page: PageQuery, sort: Sort,
                       where: Where) -> Any:  # type: ignore[valid-type]
        rows, cursor = await repo.page_of(session, principal, model, page, sort, where)
        return Page(items=[out.model_validate(r) for r in rows], next_cursor=cursor)

    @router.post(path, response_model=out, status_code=201, operation_id=f"create_{name}",
                 summary=f"Create {name.title()}", dependencies=[Idempotent])
    @declares(etag=True, location=True)
    async def create_one(session: Session, principal: Requires(manage), body: create,  # type: ignore[valid-type]
                         request: Request, response: Response) -> Any:
        return _created(out, await make(session, principal, body), request, response)


# --- companies, departments, roles --------------------------------------------------------------------

_list_and_create_routes(
    "/companies", Company, CompanyOut, CompanyCreate, filters=repo.NoFilter, name="company", plural="companies",
    sorts={"code": SortKey("code", Company.code), "name": SortKey("name", Company.name),
           "created_at": SortKey("created_at", Company.created_at)}, default_sort="code",
    read=P.COMPANY_READ, manage=P.COMPANY_MANAGE, make=service.create_company)
_list_and_create_routes(
    "/departments", Department, DepartmentOut, DepartmentCreate, filters=repo.DepartmentFilter,
    name="department", plural="departments", default_sort="name",
    sorts={"name": SortKey("name", Department.name), "created_at": SortKey("created_at", Department.created_at)},
    read=P.DEPARTMENT_READ, manage=P.DEPARTMENT_MANAGE, make=service.create_department)
_list_and_create_routes(
    "/roles", Role, RoleOut, RoleCreate, filters=repo.NoFilter, name="role", plural="roles", default_sort="code",
    sorts={"code": SortKey("code", Role.code), "rank": SortKey("rank", Role.rank)},
    read=P.ROLE_READ, manage=P.ROLE_MANAGE, make=service.create_role)



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
async def list_users(session: Session, principal: Requires(P.USER_READ), page: PageQuery,
                     sort: Annotated[SortKey, Depends(sort_param(USER_SORTS, "username"))],
                     company_id: uuid.UUID | None = None, department_id: uuid.UUID | None = None,
                     is_active: bool | None = None,
                     q: Annotated[Text(64) | None,
                                  Query(max_length=64, description="Username or name contains")] = None,
                     ) -> Page[UserOut]:
    where = repo.UserFilter(company_id=company_id, department_id=department_id, is_active=is_active, q=q)
    rows, cursor = await repo.page_of(session, principal, User, page, sort, where)
    return Page(items=await _users_out(session, list(rows)), next_cursor=cursor)


@router.post("/users", response_model=UserOut, status_code=201, operation_id="create_user", dependencies=[Idempotent])
@declares(etag=True)
async def create_user(session: Session, principal: Requires(P.USER_MANAGE), body: UserCreate,
                      response: Response) -> UserOut:
    user = await service.create_user(session, principal, body)
    set_etag(response, user.version)
    return (await _users_out(session, [user]))[0]


@router.get("/users/{user_id}", response_model=UserOut, operation_id="get_user")
@declares(etag=True)
async def get_user(session: Session, principal: Requires(P.USER_READ), user_id: Id, response: Response) -> UserOut:
    user = await get_readable(session, principal, User, user_id, code=UserNotFound.code)
    set_etag(response, user.version)
    return (await _users_out(session, [user]))[0]


@router.patch("/users/{user_id}", response_model=UserOut, operation_id="update_user")
@declares(etag=True, if_match=True)
async def update_user(session: Session, principal: Requires(P.USER_MANAGE), user_id: Id, body: UserUpdate,
                      request: Request, response: Response) -> UserOut:
    user = await service.get_user_for_change(session, principal, user_id)
    check_if_match(request, user.version)
    user = await service.update_user(session, principal, user, body)
    set_etag(response, user.version)
    return (await _users_out(session, [user]))[0]


@router.post("/users/{user_id}/lock", response_model=UserOut, operation_id="lock_user")
@declares(etag=True, if_match=True)
async def lock_user(session: Session, principal: Requires(P.USER_MANAGE), user_id: Id, request: Request,
                    response: Response, body: LockRequest | None = None) -> UserOut:
    user = await service.get_user_for_change(session, principal, user_id)
    check_if_match(request, user.version)
    user = await service.lock_user(session, principal, user, (body or LockRequest()).reason)
    set_etag(response, user.version)
    return (await _users_out(session, [user]))[0]


@router.post("/users/{user_id}/unlock", response_model=UserOut, operation_id="unlock_user")
@declares(etag=True, if_match=True)
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


_read_and_update_routes("/companies", Company, CompanyOut, CompanyUpdate, read=P.COMPANY_READ,
                        manage=P.COMPANY_MANAGE, not_found=CompanyNotFound.code, change=service.update_company,
                        name="company")
_read_and_update_routes("/departments", Department, DepartmentOut, DepartmentUpdate, read=P.DEPARTMENT_READ,
                        manage=P.DEPARTMENT_MANAGE, not_found=DepartmentNotFound.code,
                        change=service.update_department, name="department")
_read_and_update_routes("/roles", Role, RoleOut, RoleUpdate, read=P.ROLE_READ, manage=P.ROLE_MANAGE,
                        not_found=RoleNotFound.code, change=service.update_role, name="role")
