"""The approval engine (审批设置): one configurable engine for every request type.

- Flows (`/approval-flows`): per request type, optionally per company, ordered steps with an
  approver rule, a mode (any / all) and an optional condition (conditions.py, never eval'd).
  Editing steps adds an immutable version; running instances keep theirs.
- Request types plug in through registry.py (name, condition fields, loader, effects); the first
  consumer is app/expenses.
- Instances (`/approvals`): service.py holds the state machine and the rules; repository.py the
  queries; the inbox is the partial index of pending rows in `approval_assignment`.
"""
