"""Who files which request in the demo organisation is who files it in `domain.md` (issue 25, items 8
and 9), and the flows that approve them are one truth.

The table, from ../shared/docs/domain.md:
- line 20, collector (催收人员): "visits/calls debtors, writes collection logs ... files requests"; what
  the phone files is api.md line 44: `POST /requests/{kind}` (interest-waiver, tow, lock, unlock,
  settlement). So the collector files waivers, tow, lock, unlock and settlement (结清申请).
- line 18, clerk (内勤): "records payments and fees": the GPS service fee (line 85, "a purchase or
  renewal is recorded and posted to the customer's account"), the unlock that "usually follows a
  payment" (lines 80-81), and the settlement once "the customer has paid everything" (line 82). The
  waiver from the office (the seed's) stands where the brief is silent (lines 6-7: "build what the
  people below would expect"); tow and lock are decisions of the field, not the clerk's.
- lines 16-24: the salesperson, dispatcher, investigator, approvers and the leader file none of these
  (the dispatcher assigns, approvers and the leader approve: "The submitter never approves their own
  request"); the administrator holds every permission.
"""

from sqlalchemy import select

from app.approvals.models import ApprovalFlow, ApprovalFlowVersion
from app.core.permissions import CATALOGUE
from app.demo.seed import ROLES
from app.devices.demo import default_flows
from app.field.demo import seed_field
from app.org.repository import load_principal

REQUESTS = ("waiver.request", "tow.request", "settlement.request", "gps_fee.request", "lock.request",
            "unlock.request")
FILES = {
    "collector": {"waiver.request", "tow.request", "settlement.request", "lock.request", "unlock.request"},
    "clerk": {"waiver.request", "settlement.request", "gps_fee.request", "unlock.request"},
    "salesperson": set(), "dispatcher": set(), "investigator": set(), "approver_l1": set(), "approver_l2": set(),
    "leader": set(), "sysadmin": set(REQUESTS),
}


def test_each_demo_role_files_the_requests_domain_md_gives_it():
    assert set(REQUESTS) <= set(CATALOGUE) and set(FILES) == set(ROLES)
    held = {code: {p for p in permissions() if p in REQUESTS} for code, (_, _, _, permissions) in ROLES.items()}
    assert held == FILES


async def test_the_phones_requests_are_approved_by_the_one_set_of_default_flows(db, org):
    await seed_field(db, org)
    assert (await db.scalars(select(ApprovalFlow.id).where(ApprovalFlow.group_id == org.group.id))).all() == []
    await default_flows(db, org, await load_principal(db, org.users["admin"].id))
    rows = (await db.execute(select(ApprovalFlow.request_type, ApprovalFlowVersion.steps)
                             .join(ApprovalFlowVersion, ApprovalFlowVersion.flow_id == ApprovalFlow.id)
                             .where(ApprovalFlow.group_id == org.group.id))).all()
    steps = {request_type: len(steps) for request_type, steps in rows}
    # The README's two walkthroughs cite these: tow and settlement L1 → L2, lock and unlock L1.
    assert (steps["tow"], steps["settlement_request"], steps["lock"], steps["unlock"]) == (2, 2, 1, 1)
    db.info.pop("audit_pending", None)
