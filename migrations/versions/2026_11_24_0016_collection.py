"""Collections: cases, their assignment history, collectors' logs, promises to pay, per-company policy (issue 12)

Revision ID: collection
Revises: cob_runs
Create Date: 2026-11-24 09:45:33.364706+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision: str = 'collection'
down_revision: str | Sequence[str] | None = 'cob_runs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('collection_policy',
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('open_at_dpd', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_collection_policy_company_id_company')),
    sa.PrimaryKeyConstraint('company_id', name=op.f('pk_collection_policy'))
    )
    op.create_table('collection_case',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('previous_case_id', sa.Uuid(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('collector_id', sa.Uuid(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_contact_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_action_date', sa.Date(), nullable=True),
    sa.Column('active_promise_id', sa.Uuid(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("(state = 'closed') = (outcome IS NOT NULL)", name=op.f('ck_collection_case_closed_with_outcome')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('cured', 'settled', 'written_off', 'repossessed')", name=op.f('ck_collection_case_outcome_valid')),
    sa.CheckConstraint("state IN ('open', 'closed')", name=op.f('ck_collection_case_state_valid')),
    sa.ForeignKeyConstraint(['collector_id'], ['app_user.id'], name=op.f('fk_collection_case_collector_id_app_user')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_collection_case_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_collection_case_contract_id_contract')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_collection_case_customer_id_customer')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_collection_case_group_id_org_group')),
    sa.ForeignKeyConstraint(['previous_case_id'], ['collection_case.id'], name=op.f('fk_collection_case_previous_case_id_collection_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_case'))
    )
    op.create_index('ix_collection_case_collector_priority', 'collection_case', ['collector_id', 'priority', 'id'], unique=False, postgresql_where=sa.text("state = 'open'"))
    op.create_index('ix_collection_case_company_id_priority', 'collection_case', ['company_id', 'priority', 'id'], unique=False)
    op.create_index('ix_collection_case_contract_id', 'collection_case', ['contract_id'], unique=False)
    op.create_index('ix_collection_case_group_id_priority', 'collection_case', ['group_id', 'priority', 'id'], unique=False)
    op.create_index('ux_collection_case_contract_open', 'collection_case', ['contract_id'], unique=True, postgresql_where=sa.text("state = 'open'"))
    op.create_table('case_assignment',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('from_collector_id', sa.Uuid(), nullable=True),
    sa.Column('to_collector_id', sa.Uuid(), nullable=True),
    sa.Column('by_id', sa.Uuid(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['app_user.id'], name=op.f('fk_case_assignment_by_id_app_user')),
    sa.ForeignKeyConstraint(['case_id'], ['collection_case.id'], name=op.f('fk_case_assignment_case_id_collection_case')),
    sa.ForeignKeyConstraint(['from_collector_id'], ['app_user.id'], name=op.f('fk_case_assignment_from_collector_id_app_user')),
    sa.ForeignKeyConstraint(['to_collector_id'], ['app_user.id'], name=op.f('fk_case_assignment_to_collector_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_assignment'))
    )
    op.create_index('ix_case_assignment_case_id_at', 'case_assignment', ['case_id', 'at'], unique=False)
    op.create_table('collection_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=False),
    sa.Column('contact_id', sa.Uuid(), nullable=True),
    sa.Column('person_name', sa.String(length=100), nullable=True),
    sa.Column('person_relation', sa.String(length=50), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('result', sa.String(length=30), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('latitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('longitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('accuracy_m', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attachment_ids', postgresql.ARRAY(sa.Uuid()), nullable=False),
    sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('evidence_mismatch', sa.Boolean(), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_by_id', sa.Uuid(), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("action IN ('call', 'visit', 'sms', 'wechat', 'letter', 'legal_notice', 'other')", name=op.f('ck_collection_log_action_valid')),
    sa.CheckConstraint("result IN ('no_answer', 'refused', 'promised', 'partial_payment_reported', 'paid_reported', 'dispute', 'unreachable', 'wrong_number', 'other')", name=op.f('ck_collection_log_result_valid')),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_collection_log_author_id_app_user')),
    sa.ForeignKeyConstraint(['case_id'], ['collection_case.id'], name=op.f('fk_collection_log_case_id_collection_case')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_collection_log_company_id_company')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_collection_log_contact_id_contact')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_collection_log_contract_id_contract')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_collection_log_group_id_org_group')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['app_user.id'], name=op.f('fk_collection_log_voided_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_log'))
    )
    op.create_index('ix_collection_log_author_id_occurred_at', 'collection_log', ['author_id', 'occurred_at', 'id'], unique=False)
    op.create_index('ix_collection_log_case_id_occurred_at', 'collection_log', ['case_id', 'occurred_at', 'id'], unique=False)
    op.create_index('ix_collection_log_company_id_occurred_at', 'collection_log', ['company_id', 'occurred_at', 'id'], unique=False)
    op.create_index('ix_collection_log_group_id_occurred_at', 'collection_log', ['group_id', 'occurred_at', 'id'], unique=False)
    op.create_table('promise_to_pay',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('log_id', sa.Uuid(), nullable=False),
    sa.Column('collector_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('promised_date', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('judged_on', sa.Date(), nullable=True),
    sa.Column('amount_paid', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'kept', 'broken', 'superseded')", name=op.f('ck_promise_to_pay_state_valid')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_promise_to_pay_amount_positive')),
    sa.ForeignKeyConstraint(['case_id'], ['collection_case.id'], name=op.f('fk_promise_to_pay_case_id_collection_case')),
    sa.ForeignKeyConstraint(['collector_id'], ['app_user.id'], name=op.f('fk_promise_to_pay_collector_id_app_user')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_promise_to_pay_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_promise_to_pay_contract_id_contract')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_promise_to_pay_group_id_org_group')),
    sa.ForeignKeyConstraint(['log_id'], ['collection_log.id'], name=op.f('fk_promise_to_pay_log_id_collection_log')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promise_to_pay'))
    )
    # The case and its active promise point at each other: this key comes once both tables exist.
    op.create_foreign_key('fk_collection_case_active_promise_id_promise_to_pay', 'collection_case', 'promise_to_pay',
                          ['active_promise_id'], ['id'])
    op.create_index('ix_promise_to_pay_case_id', 'promise_to_pay', ['case_id'], unique=False)
    op.create_index('ix_promise_to_pay_contract_pending', 'promise_to_pay', ['contract_id'], unique=False, postgresql_where=sa.text("state = 'pending'"))
    op.create_index('ix_promise_to_pay_pending_date', 'promise_to_pay', ['promised_date'], unique=False, postgresql_where=sa.text("state = 'pending'"))


def downgrade() -> None:
    op.drop_constraint('fk_collection_case_active_promise_id_promise_to_pay', 'collection_case', type_='foreignkey')
    op.drop_index('ix_promise_to_pay_pending_date', table_name='promise_to_pay', postgresql_where=sa.text("state = 'pending'"))
    op.drop_index('ix_promise_to_pay_contract_pending', table_name='promise_to_pay', postgresql_where=sa.text("state = 'pending'"))
    op.drop_index('ix_promise_to_pay_case_id', table_name='promise_to_pay')
    op.drop_table('promise_to_pay')
    op.drop_index('ix_collection_log_group_id_occurred_at', table_name='collection_log')
    op.drop_index('ix_collection_log_company_id_occurred_at', table_name='collection_log')
    op.drop_index('ix_collection_log_case_id_occurred_at', table_name='collection_log')
    op.drop_index('ix_collection_log_author_id_occurred_at', table_name='collection_log')
    op.drop_table('collection_log')
    op.drop_index('ix_case_assignment_case_id_at', table_name='case_assignment')
    op.drop_table('case_assignment')
    op.drop_index('ux_collection_case_contract_open', table_name='collection_case', postgresql_where=sa.text("state = 'open'"))
    op.drop_index('ix_collection_case_group_id_priority', table_name='collection_case')
    op.drop_index('ix_collection_case_contract_id', table_name='collection_case')
    op.drop_index('ix_collection_case_company_id_priority', table_name='collection_case')
    op.drop_index('ix_collection_case_collector_priority', table_name='collection_case', postgresql_where=sa.text("state = 'open'"))
    op.drop_table('collection_case')
    op.drop_table('collection_policy')
