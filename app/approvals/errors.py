"""The error codes of approvals and their titles, in one place. Codes are part of the contract:
clients rely on these exact strings."""

from app.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound


class ApprovalFlowInvalid(InvalidInput):
    code = "approval_flow.invalid"
    titles = {"zh-CN": "审批流程无效", "en": "Invalid approval flow"}


class ApprovalFlowUnknownRequestType(InvalidInput):
    code = "approval_flow.unknown_request_type"


class ApprovalFlowUnknownCompany(InvalidInput):
    code = "approval_flow.unknown_company"


class ApprovalFlowExists(Conflict):
    code = "approval_flow.exists"


class ApprovalUnknownRequestType(NotFound):
    code = "approval.unknown_request_type"


class ApprovalNotFound(NotFound):
    code = "approval.not_found"


class ApprovalFlowNotFound(NotFound):
    code = "approval_flow.not_found"


class ApprovalIllegalTransition(Conflict):
    code = "approval.illegal_transition"
    titles = {"zh-CN": "审批已结束或未在进行中", "en": "The approval is not in progress"}


class ApprovalNoApprover(Conflict):
    code = "approval.no_approver"
    titles = {"zh-CN": "没有可用的审批人", "en": "No approver available"}


class ApprovalEffectAlreadyApplied(Conflict):
    code = "approval.effect_already_applied"


class ApprovalNoFlow(Conflict):
    code = "approval.no_flow"
    titles = {"zh-CN": "未配置审批流程", "en": "No approval flow"}


class ApprovalStepMovedOn(Conflict):
    code = "approval.step_moved_on"
    titles = {"zh-CN": "该审批步骤已处理", "en": "The step has moved on"}


class ApprovalOwnRequest(Forbidden):
    code = "approval.own_request"
    titles = {"zh-CN": "不能审批自己提交的申请", "en": "Own request"}


class ApprovalNotAnApprover(Forbidden):
    code = "approval.not_an_approver"


class ApprovalCompanyOutOfScope(Forbidden):
    code = "approval.company_out_of_scope"


class ApprovalRuleNotHeld(Forbidden):
    code = "approval.rule_not_held"


class ApprovalReasonRequired(InvalidInput):
    code = "approval.reason_required"


class ApprovalNotSubmitter(Forbidden):
    code = "approval.not_submitter"


class ApprovalUrgeTooSoon(DomainError):
    code = "approval.urge_too_soon"
    status = 429
    titles = {"zh-CN": "催办过于频繁", "en": "Urged too recently"}


class ApprovalTransferTargetIneligible(InvalidInput):
    code = "approval.transfer_target_ineligible"


class ApprovalAlreadyAssigned(Conflict):
    code = "approval.already_assigned"


class ApprovalStepWithoutApprover(Conflict):
    code = "approval.step_without_approver"
    titles = {"zh-CN": "审批步骤没有除提交人以外的审批人", "en": "A step has no approver but the submitter"}
