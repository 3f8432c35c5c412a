"""device_safety: a GPS device belongs to one machine in the whole installation, commands carry a
sequence per machine, a sent command can be superseded, and every position report is kept (issue 24).

The device id was unique only within a group, while the gateway (one account for the installation)
knows a device by that id alone: another group binding the same id received its positions and could
send it commands. The id is now unique across groups. Existing clashes cannot be resolved by a
migration (which machine really carries the box is a fact of the field): the upgrade lists them and
stops until an operator has corrected the machines' `gps_device_id`.

Revision ID: device_safety
Revises: field_sync
Create Date: 2026-12-07 20:30:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'device_safety'
down_revision: str | Sequence[str] | None = 'field_sync'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = "state IN ('queued', 'waiting_safe', 'sent', 'acknowledged', 'failed', 'expired', 'cancelled')"
NEW_STATES = ("state IN ('queued', 'waiting_safe', 'sent', 'acknowledged', 'failed', 'expired', 'cancelled', "
              "'superseded')")

CLASHES = sa.text("""
SELECT m.gps_device_id, string_agg(g.code || '/' || m.serial_number || ' (' || m.id || ')', ', ' ORDER BY g.code)
  FROM machine m JOIN org_group g ON g.id = m.group_id
 WHERE m.gps_device_id IS NOT NULL
 GROUP BY m.gps_device_id HAVING count(*) > 1
 ORDER BY m.gps_device_id""")


def upgrade() -> None:
    clashes = op.get_bind().execute(CLASHES).all()
    if clashes:
        lines = "\n".join(f"  {device}: {machines}" for device, machines in clashes)
        raise RuntimeError(
            "GPS device ids bound to more than one machine (group/serial number (machine id)). A device "
            "belongs to one machine: correct each machine's gps_device_id, then migrate again.\n" + lines)
    op.drop_constraint('uq_machine_group_id_gps_device_id', 'machine', type_='unique')
    op.create_unique_constraint(op.f('uq_machine_gps_device_id'), 'machine', ['gps_device_id'])
    op.add_column('machine', sa.Column('command_seq', sa.Integer(), server_default='0', nullable=False))
    op.add_column('machine', sa.Column('lock_state_seq', sa.Integer(), nullable=True))

    op.add_column('device_command', sa.Column('seq', sa.Integer(), nullable=True))
    op.execute("""
        UPDATE device_command d SET seq = n.seq
          FROM (SELECT id, row_number() OVER (PARTITION BY machine_id ORDER BY created_at, id) AS seq
                  FROM device_command) n
         WHERE n.id = d.id""")
    op.execute("""
        UPDATE machine m SET command_seq = c.top
          FROM (SELECT machine_id, max(seq) AS top FROM device_command GROUP BY machine_id) c
         WHERE c.machine_id = m.id""")
    op.alter_column('device_command', 'seq', nullable=False)
    op.create_unique_constraint(op.f('uq_device_command_machine_id_seq'), 'device_command', ['machine_id', 'seq'])
    op.drop_constraint(op.f('ck_device_command_state_valid'), 'device_command', type_='check')
    op.create_check_constraint(op.f('ck_device_command_state_valid'), 'device_command', sa.text(NEW_STATES))

    op.create_table('device_position',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('machine_id', sa.Uuid(), nullable=False),
    sa.Column('device_id', sa.String(length=60), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('latitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('longitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('speed_kmh', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('blocked', sa.Boolean(), nullable=True),
    sa.Column('future_clock', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_device_position_company_id_company')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_device_position_group_id_org_group')),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_device_position_machine_id_machine'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_position'))
    )
    op.create_index('ix_device_position_machine_id_at_id', 'device_position', ['machine_id', 'at', 'id'],
                    unique=False)
    op.create_index('ix_device_position_group_id_received_at_id', 'device_position',
                    ['group_id', 'received_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_device_position_group_id_received_at_id', table_name='device_position')
    op.drop_index('ix_device_position_machine_id_at_id', table_name='device_position')
    op.drop_table('device_position')
    op.execute("UPDATE device_command SET state = 'cancelled' WHERE state = 'superseded'")
    op.drop_constraint(op.f('ck_device_command_state_valid'), 'device_command', type_='check')
    op.create_check_constraint(op.f('ck_device_command_state_valid'), 'device_command', sa.text(OLD_STATES))
    op.drop_constraint(op.f('uq_device_command_machine_id_seq'), 'device_command', type_='unique')
    op.drop_column('device_command', 'seq')
    op.drop_column('machine', 'lock_state_seq')
    op.drop_column('machine', 'command_seq')
    op.drop_constraint(op.f('uq_machine_gps_device_id'), 'machine', type_='unique')
    op.create_unique_constraint('uq_machine_group_id_gps_device_id', 'machine', ['group_id', 'gps_device_id'])
