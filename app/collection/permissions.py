"""Function permissions of collections: reading cases, dispatching them, collecting (holding cases
and logging on them), and voiding others' logs."""

from app.core.permissions import define

CASE_READ = define("case.read", "查看催收案件", "View collection cases, their timelines and logs")
CASE_DISPATCH = define("case.dispatch", "催收派工", "Assign, unassign and auto-assign collection cases")
CASE_COLLECT = define("case.collect", "催收", "Hold collection cases and log contacts on them (collectors)")
LOG_VOID = define("log.void", "作废催收日志", "Void any collection log in scope (dispatchers)")
