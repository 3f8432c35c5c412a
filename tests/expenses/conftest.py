"""Expenses are requests on the approval engine: their tests use the engine's fixtures."""

from tests.approvals.conftest import act, make_flow, submit_expense  # noqa: F401 - fixtures by name
