"""customer: an ordered index for each branch a list's scope is walked along (issue 16)

Lists page each scope branch along its own index (core.pagination): a company and an owner each
need (column, sort column, id) for both sorts. The owner index supersedes ix_customer_owner_id.

Revision ID: customer_scope_indexes
Revises: authz_stamp
Create Date: 2026-11-24 07:00:00+00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = "customer_scope_indexes"
down_revision: str | Sequence[str] | None = "authz_stamp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_customer_company_id_name_id", "customer", ["company_id", "name", "id"])
    op.create_index("ix_customer_owner_id_created_at_id", "customer", ["owner_id", "created_at", "id"])
    op.create_index("ix_customer_owner_id_name_id", "customer", ["owner_id", "name", "id"])
    op.drop_index("ix_customer_owner_id", table_name="customer")


def downgrade() -> None:
    op.create_index("ix_customer_owner_id", "customer", ["owner_id"])
    op.drop_index("ix_customer_owner_id_name_id", table_name="customer")
    op.drop_index("ix_customer_owner_id_created_at_id", table_name="customer")
    op.drop_index("ix_customer_company_id_name_id", table_name="customer")
