"""Function permissions of the ledger: reading receivables, recording money, reversing, the business
date and the close of business."""

from app.core.permissions import define

LEDGER_READ = define("ledger.read", "查看应收台账", "View contracts' ledgers, balances, payoff and statements")
PAYMENT_RECORD = define("payment.record", "登记还款", "Record payments")
PAYMENT_REVERSE = define("payment.reverse", "冲正还款", "Reverse payments recorded in error")
PAYMENT_REFUND = define("payment.refund", "退款", "Refund unapplied credit to the customer")
CHARGE_POST = define("charge.post", "登记费用", "Post charges (GPS fee, tow cost, freight, rent, other)")
CHARGE_REVERSE = define("charge.reverse", "冲正费用", "Reverse charges posted in error")
BUSINESS_DATE_SET = define("system.business_date", "设置营业日", "Set the group's business date (not in production)")
CLOSE_OF_BUSINESS_RUN = define("cob.run", "执行日终", "Run the close of business and read its runs")
