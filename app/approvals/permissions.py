from app.core.permissions import define

APPROVAL_READ = define("approval.read", "查看审批", "View approvals")
APPROVAL_SUBMIT = define("approval.submit", "提交/撤回/催办审批", "Submit, withdraw and urge approvals")
APPROVAL_APPROVE = define("approval.approve", "审批(同意/拒绝/转交)", "Approve, reject and transfer approvals")
APPROVAL_FLOW_READ = define("approval_flow.read", "查看审批设置", "View approval flows")
APPROVAL_FLOW_MANAGE = define("approval_flow.manage", "审批设置", "Configure approval flows")
