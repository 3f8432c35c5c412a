from app.core.permissions import define

EXPENSE_READ = define("expense.read", "查看费用申请", "View expense requests")
EXPENSE_CREATE = define("expense.create", "填写并提交费用申请", "Create, edit and submit own expense requests")
