from app.core.permissions import define

COMPANY_READ = define("company.read", "查看公司", "View companies")
COMPANY_MANAGE = define("company.manage", "管理公司", "Manage companies")
DEPARTMENT_READ = define("department.read", "查看部门", "View departments")
DEPARTMENT_MANAGE = define("department.manage", "管理部门", "Manage departments")
USER_READ = define("user.read", "查看用户", "View users")
USER_MANAGE = define("user.manage", "管理用户", "Manage users")
ROLE_READ = define("role.read", "查看岗位", "View roles")
ROLE_MANAGE = define("role.manage", "管理岗位与数据权限", "Manage roles and data scopes")
AUDIT_READ = define("audit.read", "查看操作日志", "View the audit trail")
HANDOVER_CREATE = define("handover.create", "离职交接", "Hand over a leaving employee's records")
