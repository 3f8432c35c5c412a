"""Investigations (调查): created by a contract's approval when it needs one; a dispatcher assigns an
investigator of the contract's company; the investigator fills in and submits the questionnaire;
the scoring model (scoring.py) gives the shipment recommendation and its factors. Submitting
returns the contract from `investigating` to `approved`, ready for its shipment request."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts import repository as repo
from app.contracts import scoring
from app.contracts.errors import (
    InvestigationIllegalTransition,
    InvestigationInvalidInvestigator,
    InvestigationNotInvestigator,
    InvestigationScoringThresholds,
)
from app.contracts.models import Investigation, InvestigationScoring
from app.contracts.permissions import INVESTIGATION_FILL
from app.contracts.schemas import DispatchIn, InvestigationSubmit, ScoringModelIn, ScoringModelOut
from app.contracts.service import transition
from app.core import audit
from app.core.db import utcnow
from app.core.principal import Principal
from app.core.sql import advisory_xact_lock
from app.core.transitions import next_state
from app.org import repository as org_repo

# (state, action) → next state
TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending_dispatch", "dispatch"): "dispatched",
    ("dispatched", "dispatch"): "dispatched",  # reassignment before submission
    ("dispatched", "submit"): "submitted",
}


def _move(investigation: Investigation, action: str) -> None:
    investigation.state = next_state(TRANSITIONS, investigation.state, action, what="an investigation",
                                     error=InvestigationIllegalTransition)


async def dispatch(session: AsyncSession, principal: Principal, investigation: Investigation,
                   data: DispatchIn) -> Investigation:
    """Assign an investigator: an active user of the contract's company who may fill investigations."""
    before = audit.snapshot(investigation, "state", "investigator_id")
    _move(investigation, "dispatch")
    candidates = await org_repo.users_holding_permission(session, principal.group_id, INVESTIGATION_FILL,
                                                         company_ids=[investigation.company_id])
    if data.investigator_id not in candidates:
        raise InvestigationInvalidInvestigator(
                "The investigator must be an active investigator of the contract's company.",
                errors=[{"pointer": "/body/investigator_id", "message": "not an investigator here"}])
    investigation.investigator_id = data.investigator_id
    investigation.dispatched_by_id, investigation.dispatched_at = principal.user_id, utcnow()
    await session.flush()
    audit.record(session, principal, "investigation.dispatched", "investigation", investigation.id,
                 company_id=investigation.company_id, before=before,
                 after=audit.snapshot(investigation, "state", "investigator_id"))
    return investigation


def score_of(data: InvestigationSubmit, contract: Any, model: scoring.ScoringModel) -> scoring.Score:
    answers = data.answers
    return scoring.score(model=model, answers=scoring.Answers(
        total_assets=answers.assets_liabilities.total_assets,
        total_liabilities=answers.assets_liabilities.total_liabilities,
        overdue_count_24m=answers.financial.overdue_count_24m,
        years_in_business=answers.business.years_in_business,
        down_payment=contract.down_payment, price=contract.price, financed=contract.financed,
        guarantor_net_assets=sum((g.net_assets for g in answers.guarantors), start=type(contract.price)("0"))))


def factors_json(result: scoring.Score) -> list[dict[str, Any]]:
    return [{"name": f.name, "value": None if f.value is None else format(f.value.normalize(), "f"),
             "share": str(f.share),
             "weight": str(f.weight), "contribution": str(f.contribution)} for f in result.factors]


async def submit(session: AsyncSession, principal: Principal, investigation: Investigation,
                 data: InvestigationSubmit) -> Investigation:
    """The assigned investigator submits the questionnaire; the system scores it."""
    if investigation.state == "dispatched" and investigation.investigator_id != principal.user_id:
        raise InvestigationNotInvestigator("Only the assigned investigator submits this investigation.")
    _move(investigation, "submit")
    contract = await repo.lock_contract(session, investigation.contract_id)
    assert contract is not None  # the investigation cascades with its contract
    result = score_of(data, contract, await scoring_model(session, investigation.group_id))
    investigation.answers = data.answers.model_dump(mode="json")
    investigation.investigator_recommendation, investigation.investigator_comment = data.recommendation, data.comment
    investigation.score, investigation.recommendation = result.score, result.recommendation
    investigation.factors = factors_json(result)
    investigation.submitted_at = utcnow()
    transition(contract, "complete_investigation")
    await session.flush()
    audit.record(session, principal, "investigation.submitted", "investigation", investigation.id,
                 company_id=investigation.company_id,
                 after=audit.snapshot(investigation, "state", "score", "recommendation", "factors",
                                      "investigator_recommendation"))
    audit.record(session, principal, "contract.complete_investigation", "contract", contract.id,
                 company_id=contract.company_id, after={"state": contract.state})
    return investigation


# --- the group's scoring model ---------------------------------------------------------------------

async def scoring_model(session: AsyncSession, group_id: uuid.UUID) -> scoring.ScoringModel:
    data = await repo.scoring_model_of(session, group_id)
    return scoring.DEFAULT_MODEL if data is None else scoring.model_from_json(data)


def scoring_out(row: InvestigationScoring | None) -> ScoringModelOut:
    model = scoring.model_to_json(scoring.DEFAULT_MODEL if row is None else scoring.model_from_json(row.model))
    return ScoringModelOut.model_validate({**model, "is_default": row is None})


async def lock_scoring(session: AsyncSession, principal: Principal) -> InvestigationScoring | None:
    """The group's row, locked; the named lock first, so two first-time writers do not both insert."""
    await advisory_xact_lock(session, f"investigation-scoring:{principal.group_id}")
    return await repo.scoring_row(session, principal, for_update=True)


async def set_scoring_model(session: AsyncSession, principal: Principal, row: InvestigationScoring | None,
                            data: ScoringModelIn) -> InvestigationScoring:
    if data.conditions_at > data.ship_at:
        raise InvestigationScoringThresholds(
            "ship_with_conditions cannot start above ship.",
            errors=[{"pointer": "/body/conditions_at", "message": "must be at most ship_at"}])
    model = scoring.model_to_json(scoring.ScoringModel(
        factors={name: scoring.FactorRule(rule.weight, tuple(scoring.Band(b.op, b.bound, b.share)
                                                                  for b in rule.bands), rule.otherwise)
                 for name, rule in data.factors if rule is not None},
        ship_at=data.ship_at, conditions_at=data.conditions_at))
    before = None if row is None else row.model
    if row is None:
        row = InvestigationScoring(group_id=principal.group_id, model=model, updated_by_id=principal.user_id)
        session.add(row)
    else:
        row.model, row.updated_by_id = model, principal.user_id
    await session.flush()
    audit.record(session, principal, "investigation.scoring_set", "investigation_scoring", principal.group_id,
                 before=before, after=model)
    return row
