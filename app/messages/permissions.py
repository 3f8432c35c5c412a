from app.core.permissions import define

MESSAGE_READ = define("message.read", "查看客户短信与邮件记录", "View messages sent to customers")
MESSAGE_SEND = define("message.send", "从催收案件向客户发送短信或邮件", "Send a message to a case's customer")
MESSAGE_TEMPLATE_MANAGE = define("message.template.manage", "管理短信/邮件模板", "Manage message templates")
MESSAGE_OPT_OUT = define("message.opt_out", "登记客户拒收短信/邮件", "Record or withdraw a customer's opt-out")
