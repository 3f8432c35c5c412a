"""expense requests: the client's own id as a per-requester reference (app/core/client_ids.py)

Revision ID: expense_client_ref
Revises: 0003
Create Date: 2026-11-24 04:10:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "expense_client_ref"
down_revision: str | Sequence[str] | None = "audit_keyed_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("expense_request", sa.Column("client_ref", sa.Uuid(), nullable=True))
    # Requests created so far with a client-chosen id keep it as their reference.
    op.execute("UPDATE expense_request SET client_ref = id")
    op.create_unique_constraint(op.f("uq_expense_request_requester_id_client_ref"), "expense_request",
                                ["requester_id", "client_ref"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_expense_request_requester_id_client_ref"), "expense_request", type_="unique")
    op.drop_column("expense_request", "client_ref")
