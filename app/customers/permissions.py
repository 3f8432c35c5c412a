"""Function permissions of the CRM area (customers, contacts, the public pool, handovers)."""

from app.core.permissions import define

CUSTOMER_READ = define("customer.read", "查看客户", "View customers")
CUSTOMER_CREATE = define("customer.create", "新建客户", "Create customers")
CUSTOMER_UPDATE = define("customer.update", "修改客户", "Edit customers")
CUSTOMER_DELETE = define("customer.delete", "删除客户", "Delete customers")
CUSTOMER_CLAIM = define("customer.claim", "公海领取与释放客户", "Claim and release pool customers")
CUSTOMER_ASSIGN = define("customer.assign", "分配客户给下属", "Assign customers to subordinates")
CUSTOMER_IMPORT = define("customer.import", "导入客户", "Import customers")
CUSTOMER_EXPORT = define("customer.export", "导出客户", "Export customers")
CONTACT_READ = define("contact.read", "查看联系人", "View contacts")
CONTACT_CREATE = define("contact.create", "新建联系人", "Create contacts")
CONTACT_UPDATE = define("contact.update", "修改联系人及关联客户", "Edit contacts and link them to customers")
POOL_RULE_READ = define("pool_rule.read", "查看公海规则", "View public pool rules")
POOL_RULE_MANAGE = define("pool_rule.manage", "设置公海规则", "Configure public pool rules")
