"""Customers, contacts, the public pool, pool rules and handovers (/api/v1). Thin: parse, call
the service, shape the response."""

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, File, Path, Query, Request, Response, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.etag import check_if_match, declares, set_etag, set_location
from app.core.hotsql import json_response
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, paginate, paginate_hot, sort_param
from app.core.principal import Principal, Requires
from app.core.routers import api_router
from app.core.routing import Session, query_object, writes_on_read
from app.core.types import Search, Text, Timestamp
from app.customers import (
    contacts,
    duplicates,
    handover,  # noqa: F401 - registers the CRM handover hooks
    importexport,
    pool,
    service,
    views,
)
from app.customers import permissions as P
from app.customers import repository as repo
from app.customers.errors import CustomerDuplicateCheckEmpty
from app.customers.models import Contact, Customer
from app.customers.schemas import (
    AssignIn,
    AssignOut,
    ContactCreate,
    ContactOut,
    ContactSaved,
    ContactUpdate,
    ContactWarning,
    CustomerCreate,
    CustomerCreated,
    CustomerDetail,
    CustomerOut,
    CustomerUpdate,
    DuplicateList,
    ExtendIn,
    ImportResult,
    LinkedContactOut,
    LinkIn,
    LinkOut,
    PoolCustomerOut,
    PoolRuleIn,
    PoolRuleOut,
    ShareIn,
    ShareOut,
)

CustomerId = Annotated[uuid.UUID, Path()]
IF_MATCH_DOC = "Send the ETag as If-Match; a stale one answers 412."
router = api_router(tags=["customers"])

# Each sort is backed by an index ending in (column, id): see Customer.__table_args__.
CUSTOMER_SORTS = {"created_at": SortKey("created_at", Customer.created_at), "name": SortKey("name", Customer.name)}
POOL_SORTS = {"name": SortKey("name", Customer.name), "created_at": SortKey("created_at", Customer.created_at)}
CONTACT_SORTS = {"created_at": SortKey("created_at", Contact.created_at), "name": SortKey("name", Contact.name)}

Category = Literal["intended", "signed", "partner", "supplier", "media", "personal_network"]
Q = Annotated[Search | None, Query(min_length=1, max_length=100, description="Name contains (normalised)")]


@dataclass(frozen=True)
class CustomerFilters:
    """The filters the customer list and the export share, so an export holds what the list shows."""

    owner_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    category: Category | None = None
    grade: Literal["A", "B", "C"] | None = None
    status: Literal["private", "pool"] | None = None
    protection_expiring_before: Timestamp | None = None
    q: Q = None


Filters = Annotated[CustomerFilters, Depends(query_object(CustomerFilters))]


# --- customers: collection-level routes first (before /customers/{id}) ----------------------------

@router.get("/customers", response_model=Page[CustomerOut], operation_id="list_customers",
            summary="Customers the caller may see; identity numbers and phones masked unless allowed")
async def list_customers(
    session: Session, principal: Requires(P.CUSTOMER_READ), page: PageQuery,
    sort: Annotated[SortKey, Depends(sort_param(CUSTOMER_SORTS, "-created_at"))], filters: Filters,
) -> Response:
    # Every sales screen opens on this list: the hot path (core/hotsql.py), compiled once per caller,
    # filters and sort, rows shaped without models.
    rows, cursor = await paginate_hot(
        session, ("customers", principal, filters),
        lambda: repo.filter_customers(repo.readable_customers(principal), filters).with_only_columns(
            *views.CUSTOMER_COLUMNS), page, sort, Customer.id)
    return json_response({"items": await views.customer_dicts(session, principal, rows), "next_cursor": cursor})


@router.post("/customers", response_model=CustomerCreated, status_code=201, operation_id="create_customer",
             dependencies=[Idempotent],
             summary="Create a customer (duplicate check: identical names need confirm_duplicate)")
@declares(etag=True, location=True)
async def create_customer(session: Session, principal: Requires(P.CUSTOMER_CREATE), body: CustomerCreate,
                          response: Response) -> CustomerCreated:
    customer, warnings = await service.create_customer(session, principal, body)
    set_location(response, f"/api/v1/customers/{customer.id}", customer.version)
    view = (await views.customer_views(session, principal, [customer]))[0]
    return CustomerCreated(**view.model_dump(), warnings=warnings)


@router.get("/customers/duplicates", response_model=DuplicateList, operation_id="check_customer_duplicates",
            summary="Duplicate check across the whole group: name, follow status and claimability only",
            description="A bounded list (not paginated): at most twice `limit` hits, best matches first, "
                        "under `items`.")
async def check_duplicates(
    session: Session, principal: Requires(P.CUSTOMER_READ),
    name: Annotated[Text(200) | None, Query(max_length=200, description="Company name (fuzzy, normalised)")] = None,
    contact_name: Annotated[Text(100) | None, Query(max_length=100)] = None,
    phone: Annotated[Text(40) | None, Query(max_length=40, description="Any format; normalised (CN)")] = None,
    email: Annotated[Text(254) | None, Query(max_length=254)] = None,
    credit_code: Annotated[Text(18) | None, Query(max_length=18)] = None,
    id_number: Annotated[Text(18) | None, Query(max_length=18)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> DuplicateList:
    if not any(v and v.strip() for v in (name, contact_name, phone, email, credit_code, id_number)):
        raise CustomerDuplicateCheckEmpty(
            "Give at least one of name, contact_name, phone, email, credit_code, id_number.",
            errors=[{"pointer": "/query/name", "message": "at least one search field"}])
    return DuplicateList(items=await duplicates.duplicate_check(
        session, principal, name=name, contact_name=contact_name, phone=phone, email=email, credit_code=credit_code,
        id_number=id_number, limit=limit))


@router.get("/customers/pool", response_model=Page[PoolCustomerOut], operation_id="list_pool_customers",
            summary="The public pool of the caller's companies: names only until claimed")
async def list_pool(session: Session, principal: Requires(P.CUSTOMER_READ), page: PageQuery,
                    sort: Annotated[SortKey, Depends(sort_param(POOL_SORTS, "name"))],
                    company_id: uuid.UUID | None = None, q: Q = None) -> Page[PoolCustomerOut]:
    stmt = repo.filtered_pool(principal, company_id=company_id, q=q)
    rows, cursor = await paginate(session, stmt, page, sort, Customer.id, scalars=False)
    rules = await repo.pool_rules(session, principal.group_id)
    now = utcnow()
    return Page(items=[PoolCustomerOut(id=r.id, name=r.name, company_id=r.company_id, pooled_at=r.pooled_at,
                                       claimable=duplicates.may_claim(principal, r, rules, now)) for r in rows],
                next_cursor=cursor)


EXPORT_CONTENT = {importexport.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                  "text/csv": {"schema": {"type": "string"}}}


@router.get("/customers/export", operation_id="export_customers", response_class=Response,
            responses={200: {"content": EXPORT_CONTENT, "description": "The customers as .xlsx or CSV"}},
            summary=f"Export what the caller may see (max {importexport.MAX_EXPORT_ROWS} rows), masked as in the API")
@writes_on_read  # the export is audited
async def export_customers(
    session: Session, principal: Requires(P.CUSTOMER_EXPORT),
    filters: Filters, format: Literal["xlsx", "csv"] = "xlsx",  # noqa: A002 - the query parameter's name
) -> Response:
    content, media_type, filename = await importexport.export(session, principal, filters, format)
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/customers/import-template", operation_id="get_customer_import_template", response_class=Response,
            responses={200: {"content": {importexport.XLSX_MEDIA_TYPE: {"schema": {"type": "string",
                                                                                   "format": "binary"}}},
                             "description": "The import template (.xlsx) with a help sheet"}},
            summary="The .xlsx template for customer import (column layout documented in its help sheet)")
async def import_template(_: Requires(P.CUSTOMER_IMPORT)) -> Response:
    return Response(importexport.template(), media_type=importexport.XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="customer-import-template.xlsx"'})


@router.post("/customers/import", response_model=ImportResult, status_code=201, operation_id="import_customers",
             dependencies=[Idempotent],
             summary="Import customers from .xlsx: all rows or none; errors by row and column")
async def import_customers(
    session: Session, principal: Requires(P.CUSTOMER_IMPORT),
    file: Annotated[UploadFile, File(description="An .xlsx in the template's layout (max 2 MiB, 1000 rows)")],
) -> ImportResult:
    content = await file.read(importexport.MAX_IMPORT_BYTES + 1)
    outcome = await importexport.import_customers(session, principal, content)
    return ImportResult(imported=len(outcome.customers), customer_ids=[c.id for c in outcome.customers],
                        warnings=outcome.warnings)


@router.post("/customers/assign", response_model=AssignOut, operation_id="assign_customers",
             summary="A manager assigns customers to a subordinate in their scope")
async def assign_customers(session: Session, principal: Requires(P.CUSTOMER_ASSIGN), body: AssignIn) -> AssignOut:
    customers = await service.assign(session, principal, body)
    return AssignOut(assigned=[c.id for c in customers], to_user_id=body.to_user_id)


# --- one customer ----------------------------------------------------------------------------------

async def _tagged_view(session: AsyncSession, principal: Principal, customer: Customer,
                       response: Response) -> CustomerOut:
    """The customer as the caller may see it, with its ETag."""
    set_etag(response, customer.version)
    return (await views.customer_views(session, principal, [customer]))[0]


@router.get("/customers/{customer_id}", response_model=CustomerDetail, operation_id="get_customer",
            summary="A customer with its contacts, shares and recent activity")
@declares(etag=True)
async def get_customer(session: Session, principal: Requires(P.CUSTOMER_READ), customer_id: CustomerId,
                       response: Response) -> Response:
    # The hot path (core/hotsql.py): statements compiled once, the detail shaped without models.
    record = await repo.customer_record(session, principal, customer_id, views.CUSTOMER_COLUMNS)
    answer = json_response(await views.customer_detail_dict(session, principal, record))
    set_etag(answer, record["version"])
    return answer


@router.patch("/customers/{customer_id}", response_model=CustomerOut, operation_id="update_customer",
              description=IF_MATCH_DOC)
@declares(etag=True, if_match=True)
async def update_customer(session: Session, principal: Requires(P.CUSTOMER_UPDATE), customer_id: CustomerId,
                          body: CustomerUpdate, request: Request, response: Response) -> CustomerOut:
    customer = await repo.get_customer(session, principal, customer_id, write=True)
    check_if_match(request, customer.version)
    customer = await service.update_customer(session, principal, customer, body)
    return await _tagged_view(session, principal, customer, response)


@router.delete("/customers/{customer_id}", status_code=204, operation_id="delete_customer",
               description="Soft deletion, audited. " + IF_MATCH_DOC)
@declares(if_match=True)
async def delete_customer(session: Session, principal: Requires(P.CUSTOMER_DELETE), customer_id: CustomerId,
                          request: Request) -> None:
    customer = await repo.get_customer(session, principal, customer_id, write=True)
    check_if_match(request, customer.version)
    await service.delete_customer(session, principal, customer)


@router.post("/customers/{customer_id}/claim", response_model=CustomerOut, operation_id="claim_customer",
             summary="Claim a pool customer (daily cap; starts protection)")
@declares(etag=True)
async def claim_customer(session: Session, principal: Requires(P.CUSTOMER_CLAIM), customer_id: CustomerId,
                         response: Response) -> CustomerOut:
    customer = await pool.claim(session, principal, customer_id)
    return await _tagged_view(session, principal, customer, response)


@router.post("/customers/{customer_id}/release", response_model=PoolCustomerOut, operation_id="release_customer",
             summary="The owner gives the customer back to the pool", description=IF_MATCH_DOC)
@declares(if_match=True)
async def release_customer(session: Session, principal: Requires(P.CUSTOMER_CLAIM), customer_id: CustomerId,
                           request: Request) -> PoolCustomerOut:
    customer = await repo.get_customer(session, principal, customer_id, write=True)
    check_if_match(request, customer.version)
    customer = await pool.release(session, principal, customer)
    return PoolCustomerOut(id=customer.id, name=customer.name, company_id=customer.company_id,
                           pooled_at=customer.pooled_at, claimable=False)


@router.post("/customers/{customer_id}/extend-protection", response_model=CustomerOut,
             operation_id="extend_customer_protection",
             summary="Extend protection (reason required; monthly quota)", description=IF_MATCH_DOC)
@declares(etag=True, if_match=True)
async def extend_protection(session: Session, principal: Requires(P.CUSTOMER_CLAIM), customer_id: CustomerId,
                            body: ExtendIn, request: Request, response: Response) -> CustomerOut:
    customer = await repo.get_customer(session, principal, customer_id, write=True)
    check_if_match(request, customer.version)
    customer = await pool.extend_protection(session, principal, customer, body.reason)
    return await _tagged_view(session, principal, customer, response)


# --- shares ----------------------------------------------------------------------------------------

async def _shares(session: AsyncSession, customer_id: uuid.UUID) -> list[ShareOut]:
    return [ShareOut(user_id=s.user_id, display_name=s.display_name, can_edit=s.can_edit, created_at=s.created_at)
            for s in await repo.shares_of(session, customer_id)]


@router.get("/customers/{customer_id}/shares", response_model=list[ShareOut], operation_id="list_customer_shares")
async def list_shares(session: Session, principal: Requires(P.CUSTOMER_READ),
                      customer_id: CustomerId) -> list[ShareOut]:
    customer = await repo.get_customer(session, principal, customer_id)
    return await _shares(session, customer.id)


@router.post("/customers/{customer_id}/shares", response_model=list[ShareOut], status_code=201,
             operation_id="share_customer", dependencies=[Idempotent],
             summary="The owner or an administrator shares the customer with users (read or edit)")
async def share_customer(session: Session, principal: Requires(P.CUSTOMER_UPDATE), customer_id: CustomerId,
                         body: ShareIn) -> list[ShareOut]:
    customer = await repo.get_customer(session, principal, customer_id)
    await service.share(session, principal, customer, body)
    return await _shares(session, customer.id)


@router.delete("/customers/{customer_id}/shares/{user_id}", status_code=204, operation_id="unshare_customer")
async def unshare_customer(session: Session, principal: Requires(P.CUSTOMER_UPDATE), customer_id: CustomerId,
                           user_id: Annotated[uuid.UUID, Path()]) -> None:
    customer = await repo.get_customer(session, principal, customer_id)
    await service.unshare(session, principal, customer, user_id)


# --- customer ↔ contact links ----------------------------------------------------------------------

@router.get("/customers/{customer_id}/contacts", response_model=list[LinkedContactOut],
            operation_id="list_customer_contacts")
async def list_customer_contacts(session: Session, principal: Requires(P.CUSTOMER_READ, P.CONTACT_READ),
                                 customer_id: CustomerId) -> list[LinkedContactOut]:
    customer = await repo.get_customer(session, principal, customer_id)
    return (await views.customer_detail(session, principal, customer)).contacts


@router.post("/customers/{customer_id}/contacts", response_model=LinkOut, status_code=201,
             operation_id="link_customer_contact", dependencies=[Idempotent])
async def link_contact(session: Session, principal: Requires(P.CONTACT_UPDATE), customer_id: CustomerId,
                       body: LinkIn) -> LinkOut:
    customer = await repo.get_customer(session, principal, customer_id, write=True)
    relation = await contacts.link_contact(session, principal, customer, body)
    return LinkOut(customer_id=customer.id, contact_id=body.contact_id, relation=relation)  # type: ignore[arg-type]


@router.delete("/customers/{customer_id}/contacts/{contact_id}", status_code=204,
               operation_id="unlink_customer_contact")
async def unlink_contact(session: Session, principal: Requires(P.CONTACT_UPDATE), customer_id: CustomerId,
                         contact_id: Annotated[uuid.UUID, Path()]) -> None:
    customer = await repo.get_customer(session, principal, customer_id, write=True)
    await contacts.unlink_contact(session, principal, customer, contact_id)


# --- contacts --------------------------------------------------------------------------------------

async def _contact_saved(session: AsyncSession, principal: Principal, contact: Contact,
                         warnings: list[ContactWarning]) -> ContactSaved:
    view = (await views.contact_views(session, principal, [contact]))[0]
    return ContactSaved(**view.model_dump(), warnings=warnings)


@router.get("/contacts", response_model=Page[ContactOut], operation_id="list_contacts", tags=["contacts"],
            summary="Contacts the caller may see; phones and e-mail masked unless allowed")
async def list_contacts(session: Session, principal: Requires(P.CONTACT_READ), page: PageQuery,
                        sort: Annotated[SortKey, Depends(sort_param(CONTACT_SORTS, "-created_at"))],
                        owner_id: uuid.UUID | None = None,
                        q: Annotated[Search | None, Query(min_length=1, max_length=100)] = None) -> Page[ContactOut]:
    stmt = repo.filter_contacts(repo.readable_contacts(principal), owner_id=owner_id, q=q)
    rows, cursor = await paginate(session, stmt, page, sort, Contact.id)
    return Page(items=await views.contact_views(session, principal, rows), next_cursor=cursor)


@router.post("/contacts", response_model=ContactSaved, status_code=201, operation_id="create_contact",
             tags=["contacts"], dependencies=[Idempotent],
             summary="Create a contact; duplicate mobile numbers in the group need confirm_duplicate")
@declares(etag=True, location=True)
async def create_contact(session: Session, principal: Requires(P.CONTACT_CREATE), body: ContactCreate,
                         response: Response) -> ContactSaved:
    contact, warnings = await contacts.create_contact(session, principal, body)
    set_location(response, f"/api/v1/contacts/{contact.id}", contact.version)
    return await _contact_saved(session, principal, contact, warnings)


@router.get("/contacts/{contact_id}", response_model=ContactOut, operation_id="get_contact", tags=["contacts"])
@declares(etag=True)
async def get_contact(session: Session, principal: Requires(P.CONTACT_READ),
                      contact_id: Annotated[uuid.UUID, Path()], response: Response) -> ContactOut:
    contact = await repo.get_contact(session, principal, contact_id)
    set_etag(response, contact.version)
    return (await views.contact_views(session, principal, [contact]))[0]


@router.patch("/contacts/{contact_id}", response_model=ContactSaved, operation_id="update_contact",
              tags=["contacts"], description=IF_MATCH_DOC)
@declares(etag=True, if_match=True)
async def update_contact(session: Session, principal: Requires(P.CONTACT_UPDATE),
                         contact_id: Annotated[uuid.UUID, Path()], body: ContactUpdate, request: Request,
                         response: Response) -> ContactSaved:
    contact = await repo.get_contact(session, principal, contact_id, write=True)
    check_if_match(request, contact.version)
    contact, warnings = await contacts.update_contact(session, principal, contact, body)
    set_etag(response, contact.version)
    return await _contact_saved(session, principal, contact, warnings)


# --- pool rules ------------------------------------------------------------------------------------

@router.get("/pool-rules", response_model=list[PoolRuleOut], operation_id="list_pool_rules", tags=["pool"],
            summary="The public pool rules of every company in scope (defaults where none are set)")
async def list_pool_rules(session: Session, principal: Requires(P.POOL_RULE_READ)) -> list[PoolRuleOut]:
    return await pool.rules_in_scope(session, principal)


@router.get("/pool-rules/{company_id}", response_model=PoolRuleOut, operation_id="get_pool_rules", tags=["pool"])
@declares(etag=True)
async def get_pool_rules(session: Session, principal: Requires(P.POOL_RULE_READ),
                         company_id: Annotated[uuid.UUID, Path()], response: Response) -> PoolRuleOut:
    cid, row = await pool.readable_rules(session, principal, company_id)
    set_etag(response, row.version if row else 0)
    return pool.rule_out(cid, row)


@router.put("/pool-rules/{company_id}", response_model=PoolRuleOut, operation_id="set_pool_rules", tags=["pool"],
            summary="Set a company's pool rules (administrators)", description=IF_MATCH_DOC)
@declares(etag=True, if_match=True)
async def set_pool_rules(session: Session, principal: Requires(P.POOL_RULE_MANAGE),
                         company_id: Annotated[uuid.UUID, Path()], body: PoolRuleIn, request: Request,
                         response: Response) -> PoolRuleOut:
    cid, row = await pool.readable_rules(session, principal, company_id, for_update=True)
    check_if_match(request, row.version if row else 0)
    row = await pool.set_rules(session, principal, cid, row, body)
    set_etag(response, row.version)
    return pool.rule_out(cid, row)
