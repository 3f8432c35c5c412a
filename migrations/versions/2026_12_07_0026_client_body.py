"""client_body: a record created with a client_ref keeps the digest of the body it was created from,
so a retry of the reference with another body is refused (409 request.conflicting_retry) instead of
answered with a record the client did not describe (issue 25, item 7; app/core/client_ids.py).

Rows stored before carry no digest and keep answering any retry of their reference.

Revision ID: client_body
Revises: device_safety
Create Date: 2026-12-07 21:10:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'client_body'
down_revision: str | Sequence[str] | None = 'device_safety'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table with a client_ref (the request kit's RequestMixin).
TABLES = ('contract', 'shipment_request', 'expense_request', 'interest_waiver', 'settlement_request',
          'gps_fee_request', 'tow_request', 'lock_request', 'unlock_request')


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column('client_body', sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, 'client_body')
