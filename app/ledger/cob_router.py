"""The business date and the close of business (/api/v1). Thin: parse, call `cob`, shape."""

from typing import Annotated

from fastapi import Depends

from app.core.errors import problem_responses
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageParams, SortKey, page_params, paginate
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.ledger import cob
from app.ledger import cob_repository as repo
from app.ledger import permissions as P
from app.ledger.cob_models import CobRun
from app.ledger.cob_schemas import BusinessDateIn, BusinessDateOut, CobRunOut

router = api_router(tags=["close-of-business"])
NEWEST_FIRST = SortKey("-started_at", CobRun.started_at, True)


@router.get("/business-date", response_model=BusinessDateOut, operation_id="get_business_date",
            summary="The caller's business date")
async def get_business_date(session: Session, principal: Requires()) -> BusinessDateOut:
    return BusinessDateOut.model_validate(await cob.business_date_of(session, principal))


@router.put("/business-date", response_model=BusinessDateOut, operation_id="set_business_date",
            summary="Set the group's business date by hand (not in production)",
            description="For demos and black-box tests. Production answers 403 `business_date.fixed`; a date "
                        "before a day already closed answers 409 `business_date.before_closed`.",
            responses=problem_responses(409))
async def set_business_date(session: Session, principal: Requires(P.BUSINESS_DATE_SET),
                            body: BusinessDateIn) -> BusinessDateOut:
    return BusinessDateOut.model_validate(await cob.set_business_date(session, principal, body.business_date))


@router.post("/close-of-business", response_model=CobRunOut, operation_id="run_close_of_business",
             dependencies=[Idempotent], summary="Run the close of business now, up to the business date",
             description="Closes every day not yet closed of the caller's group, in order, and answers the run's "
                         "record. Idempotent: a day already closed is not closed again.")
async def run_close_of_business(session: Session, principal: Requires(P.CLOSE_OF_BUSINESS_RUN)) -> CobRunOut:
    (run,) = await cob.close_of_business(session, principal.group_id, actor=principal)
    return CobRunOut.model_validate(run)


@router.get("/close-of-business/runs", response_model=Page[CobRunOut], operation_id="list_close_of_business_runs",
            summary="The close of business's runs, newest first")
async def list_runs(session: Session, principal: Requires(P.CLOSE_OF_BUSINESS_RUN),
                    page: Annotated[PageParams, Depends(page_params)]) -> Page[CobRunOut]:
    rows, cursor = await paginate(session, repo.runs(principal), page, NEWEST_FIRST, CobRun.id)
    return Page(items=[CobRunOut.model_validate(r) for r in rows], next_cursor=cursor)
