"""The error codes of expenses, in one place. Codes are part of the contract: clients rely on
these exact strings.

The request kit (app/approvals/requests.py) raises an expense's errors under the request type's
name, `expense`; they are listed here so the area's codes can be read in one module.
"""

from app.expenses.approval import EXPENSE

NOT_FOUND = f"{EXPENSE.name}.not_found"  # 404: missing or out of scope
NOT_REQUESTER = f"{EXPENSE.name}.not_requester"  # 403: only the requester changes or submits
NOT_EDITABLE = f"{EXPENSE.name}.not_editable"  # 409: only a draft or a returned request is edited
NOT_DELETABLE = f"{EXPENSE.name}.not_deletable"  # 409: only a draft is deleted
ILLEGAL_TRANSITION = f"{EXPENSE.name}.illegal_transition"  # 409: not allowed in the current state
