"""The error codes of org and their titles, in one place. Codes are part of the contract:
clients rely on these exact strings."""

from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound


class HandoverSameUser(InvalidInput):
    code = "handover.same_user"


class HandoverReceiverInactive(Conflict):
    code = "handover.receiver_inactive"
    titles = {"zh-CN": "接收人已停用或锁定", "en": "Receiver inactive"}


class UserLockSelf(Conflict):
    code = "user.lock_self"


class OrgHierarchy(Forbidden):
    code = "org.hierarchy"
    titles = {"zh-CN": "不能管理同级或上级用户", "en": "Outside your authority"}


class OrgScopeEscalation(Forbidden):
    code = "org.scope_escalation"
    titles = {"zh-CN": "不能授予超出自身范围的数据权限", "en": "Wider than your data scope"}


class RoleUnknownPermission(InvalidInput):
    code = "role.unknown_permission"


class OrgGroupScopeRequired(Forbidden):
    code = "org.group_scope_required"


class CompanyCodeTaken(Conflict):
    code = "company.code_taken"


class RoleScopeCompaniesRequired(InvalidInput):
    code = "role.scope_companies_required"


class RoleUnknownCompany(InvalidInput):
    code = "role.unknown_company"


class UserUnknownRole(InvalidInput):
    code = "user.unknown_role"


class UserUsernameTaken(Conflict):
    code = "user.username_taken"


class PermissionUnknown(NotFound):
    code = "permission.unknown"


class DepartmentParentMismatch(InvalidInput):
    code = "department.parent_mismatch"


class DepartmentNameTaken(Conflict):
    code = "department.name_taken"


class UserDepartmentMismatch(InvalidInput):
    code = "user.department_mismatch"


class UserSelfManager(InvalidInput):
    code = "user.self_manager"


class CompanyNotFound(NotFound):
    code = "company.not_found"


class DepartmentNotFound(NotFound):
    code = "department.not_found"


class RoleNotFound(NotFound):
    code = "role.not_found"


class UserNotFound(NotFound):
    code = "user.not_found"
