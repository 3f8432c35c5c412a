"""Function permissions of the sales area: machines, contracts, investigations, shipments."""

from app.core.permissions import define

MACHINE_READ = define("machine.read", "查看设备", "View machines")
MACHINE_MANAGE = define("machine.manage", "登记与修改设备", "Register and edit machines")
CONTRACT_READ = define("contract.read", "查看销售合同", "View sales contracts")
CONTRACT_CREATE = define("contract.create", "新建销售申请", "Create draft contracts (sales application)")
CONTRACT_UPDATE = define("contract.update", "完善并提交销售合同", "Complete, submit and cancel contracts")
CONTRACT_MIGRATE_HISTORY = define("contract.migrate_history", "迁移历史合同 (首期还款日早于本月)",
                                  "Migrate historical contracts (a first due date before the business date's month)")
INVESTIGATION_READ = define("investigation.read", "查看调查", "View investigations")
INVESTIGATION_DISPATCH = define("investigation.dispatch", "调查派工", "Assign investigations to investigators")
INVESTIGATION_CONFIGURE = define("investigation.configure", "设置调查评分模型",
                                 "Configure the investigation scoring model of the group")
INVESTIGATION_FILL = define("investigation.fill", "填写调查回执", "Fill in and submit assigned investigations")
SHIPMENT_READ = define("shipment.read", "查看出库发车", "View shipments (outbound list)")
SHIPMENT_REQUEST = define("shipment.request", "申请出库发车", "Request the shipment of a contract")
