"""Approver rule kinds: who a step's rule names, checked in one place per kind.

Each kind answers three questions, and the engine asks them without knowing the kinds:

- `saved`: which users the rule can find when a flow is saved (None: resolved per submitter, with
  fallbacks, so it is not checked then), or the problems that make the rule invalid;
- `candidates`: which users it names for a request, from data loaded once for all of a round's
  rules (`Prefetch`), so a round costs a fixed number of queries however many steps it has;
- `still_holds`: whether an approver it put on a step still qualifies when they act.

A new kind is one `register_rule_kind(RuleKind(...))` call (and its schema in schemas.py).
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals.models import ApprovalInstance
from app.approvals.permissions import APPROVAL_APPROVE
from app.core.principal import Principal
from app.org import repository as org_repo


class RequestLike(Protocol):
    """What resolving approvers needs of a request: an instance, or a submission not stored yet."""

    group_id: uuid.UUID
    company_id: uuid.UUID
    submitter_id: uuid.UUID


@dataclass(frozen=True)
class Prefetch:
    """Everything the rules of one resolution need, loaded once."""

    request: RequestLike
    holders: dict[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID | None]]]
    department_head: uuid.UUID | None
    manager_id: uuid.UUID | None
    active: set[uuid.UUID]
    admins: list[uuid.UUID]


@dataclass(frozen=True)
class Acting:
    """An approver acting on a step the rule put them on."""

    session: AsyncSession
    actor: Principal
    instance: ApprovalInstance
    submitter_department_id: uuid.UUID | None
    submitter_manager_id: uuid.UUID | None


@dataclass(frozen=True)
class SavedCheck:
    """A rule checked when its flow is saved: the users it finds, or what is wrong with it."""

    candidates: list[uuid.UUID] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (pointer suffix, message)


Rule = dict[str, Any]  # a step's rule as stored (JSON): {"kind": ..., ...}


@dataclass(frozen=True)
class RuleKind:
    name: str
    candidates: Callable[[Prefetch, Rule], list[uuid.UUID]]
    still_holds: Callable[[Acting, Rule], Awaitable[bool]]
    saved: Callable[[AsyncSession, uuid.UUID, uuid.UUID | None, Rule], Awaitable[SavedCheck | None]]


_KINDS: dict[str, RuleKind] = {}


def register_rule_kind(kind: RuleKind) -> RuleKind:
    _KINDS[kind.name] = kind
    return kind


def kind_of(rule: Rule) -> RuleKind | None:
    return _KINDS.get(str(rule.get("kind")))


async def prefetch(session: AsyncSession, request: RequestLike, rules: list[Rule],
                   department_id: uuid.UUID | None, manager_id: uuid.UUID | None) -> Prefetch:
    """Load what `rules` need in a fixed number of queries (one per kind of data, not per rule)."""
    kinds = {rule.get("kind") for rule in rules}
    role_ids = [uuid.UUID(r["role_id"]) for r in rules if "role_id" in r]
    holders = await org_repo.role_holders_by_role(session, request.group_id, role_ids)
    head = await org_repo.department_head(session, department_id) if "department_head" in kinds else None
    admins = await org_repo.system_admins(session, request.group_id)
    named = [uuid.UUID(u) for r in rules if r.get("kind") == "users" for u in r["user_ids"]]
    named += [u for u in (head, manager_id if "manager" in kinds else None) if u is not None]
    active = set(await org_repo.active_users(session, request.group_id, named))
    return Prefetch(request, holders, head, manager_id, active, admins)


def candidates(data: Prefetch, rule: Rule) -> list[uuid.UUID]:
    kind = kind_of(rule)
    return kind.candidates(data, rule) if kind else []


async def still_holds(acting: Acting, rule: Rule) -> bool:
    kind = kind_of(rule)
    return await kind.still_holds(acting, rule) if kind else False


async def check_saved(session: AsyncSession, group_id: uuid.UUID, company_id: uuid.UUID | None,
                      rule: Rule) -> SavedCheck | None:
    kind = kind_of(rule)
    return await kind.saved(session, group_id, company_id, rule) if kind else None


# --- the kinds -------------------------------------------------------------------------------------


async def _role_saved(session: AsyncSession, group_id: uuid.UUID, company_id: uuid.UUID | None,
                      rule: Rule) -> SavedCheck:
    role = await org_repo.role_in_group(session, group_id, uuid.UUID(str(rule["role_id"])))
    if role is None:
        return SavedCheck(problems=[("/role_id", "unknown role")])
    if APPROVAL_APPROVE not in role.permissions:
        return SavedCheck(problems=[("/role_id", f"role {role.code} does not grant {APPROVAL_APPROVE}")])
    in_company = company_id if rule["kind"] == "role_in_company" else None
    return SavedCheck(candidates=await org_repo.role_holders(session, group_id, role.id, in_company))


async def _users_saved(session: AsyncSession, group_id: uuid.UUID, _company_id: uuid.UUID | None,
                       rule: Rule) -> SavedCheck:
    wanted = list(dict.fromkeys(uuid.UUID(str(u)) for u in rule["user_ids"]))
    found = await org_repo.active_users(session, group_id, wanted)
    if len(found) != len(wanted):
        return SavedCheck(problems=[("/user_ids", "unknown or inactive users")])
    return SavedCheck(candidates=found)


async def _admins_saved(session: AsyncSession, group_id: uuid.UUID, _company_id: uuid.UUID | None,
                        _rule: Rule) -> SavedCheck:
    return SavedCheck(candidates=await org_repo.system_admins(session, group_id))


async def _per_submitter(_session: AsyncSession, _group_id: uuid.UUID, _company_id: uuid.UUID | None,
                         _rule: Rule) -> None:
    return None  # resolved per submitter at run time, with fallbacks


async def _holds_role(acting: Acting, rule: Rule) -> bool:
    if uuid.UUID(rule["role_id"]) not in acting.actor.role_ids:
        return False
    return rule["kind"] == "role_any_company" or acting.actor.company_id == acting.instance.company_id


async def _holds_named(acting: Acting, rule: Rule) -> bool:
    return str(acting.actor.user_id) in rule["user_ids"]


async def _holds_head(acting: Acting, _rule: Rule) -> bool:
    return await org_repo.department_head(acting.session, acting.submitter_department_id) == acting.actor.user_id


async def _holds_manager(acting: Acting, _rule: Rule) -> bool:
    return acting.submitter_manager_id == acting.actor.user_id


async def _holds_admin(acting: Acting, _rule: Rule) -> bool:
    return acting.actor.is_system_admin


def _active(data: Prefetch, user: uuid.UUID | None) -> list[uuid.UUID]:
    return [user] if user is not None and user in data.active else []


register_rule_kind(RuleKind(
    "role_in_company", still_holds=_holds_role, saved=_role_saved,
    candidates=lambda d, r: [u for u, company in d.holders[uuid.UUID(r["role_id"])]
                             if company == d.request.company_id]))
register_rule_kind(RuleKind(
    "role_any_company", still_holds=_holds_role, saved=_role_saved,
    candidates=lambda d, r: [u for u, _ in d.holders[uuid.UUID(r["role_id"])]]))
register_rule_kind(RuleKind(
    "users", still_holds=_holds_named, saved=_users_saved,
    candidates=lambda d, r: [u for u in (uuid.UUID(x) for x in r["user_ids"]) if u in d.active]))
register_rule_kind(RuleKind(
    "department_head", still_holds=_holds_head, saved=_per_submitter,
    candidates=lambda d, _r: _active(d, d.department_head)))
register_rule_kind(RuleKind(
    "manager", still_holds=_holds_manager, saved=_per_submitter,
    candidates=lambda d, _r: _active(d, d.manager_id)))
register_rule_kind(RuleKind(
    "administrators", still_holds=_holds_admin, saved=_admins_saved,
    candidates=lambda d, _r: list(d.admins)))
