"""customer.owner_department_id: the owner's current department, kept by triggers (issue 16)

A department scope admits the rows whose owner is in one of the departments. Customers have no
department of their own, so that scope was "owner IN (members of the departments)", paged one
pass per member: a page cost about a page per member. Storing the owner's department on the row
lets a department scope walk `(owner_department_id, sort column, id)`, one ordered pass per
department, like a company.

The column is derived, never written by the application; triggers keep it equal to the owner's
current department (NULL without an owner or for an owner placed at company level), in the same
transaction as the change, whatever writes it (services, handover, imports, demo data, raw SQL):

- `owner_department_fill()`, BEFORE INSERT / UPDATE of the owner (or of the column itself) on the
  owned table: reads the owner's department. FOR SHARE on the owner's row, so an insert racing a
  move of the owner either waits for the move to commit and reads the new department, or makes
  the move wait and is then found by it.
- `owner_department_follow('<table>')`, AFTER UPDATE OF department_id on app_user, one trigger
  per owned table: moves the column of all the user's rows in one UPDATE.

The functions are generic: a later owned table (contracts, collection cases) with `owner_id` and
`owner_department_id` adds its two triggers and the app_user one, nothing else.

Revision ID: customer_owner_department
Revises: contracts
Create Date: 2026-11-24 07:45:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "customer_owner_department"
down_revision: str | Sequence[str] | None = "contracts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILL = """
CREATE FUNCTION owner_department_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.owner_id IS NULL THEN
        NEW.owner_department_id := NULL;
    ELSE
        SELECT department_id INTO NEW.owner_department_id FROM app_user WHERE id = NEW.owner_id FOR SHARE;
    END IF;
    RETURN NEW;
END
$$
"""

# TG_ARGV[0]: the owned table (its owner column is owner_id).
FOLLOW = """
CREATE FUNCTION owner_department_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE %I SET owner_department_id = $1 WHERE owner_id = $2 '
                   'AND owner_department_id IS DISTINCT FROM $1', TG_ARGV[0])
    USING NEW.department_id, NEW.id;
    RETURN NULL;
END
$$
"""

TABLE = "customer"


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("owner_department_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_customer_owner_department_id_department"), TABLE, "department",
                          ["owner_department_id"], ["id"])
    op.execute(FILL)
    op.execute(FOLLOW)
    # Triggers before the backfill: creating the app_user trigger locks app_user against moves
    # until this migration commits, so no move can slip between the backfill and the triggers.
    op.execute(f"CREATE TRIGGER owner_department_fill_insert BEFORE INSERT ON {TABLE} "
               "FOR EACH ROW EXECUTE FUNCTION owner_department_fill()")
    op.execute(f"CREATE TRIGGER owner_department_fill_update BEFORE UPDATE OF owner_id, owner_department_id "
               f"ON {TABLE} FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id "
               "OR OLD.owner_department_id IS DISTINCT FROM NEW.owner_department_id) "
               "EXECUTE FUNCTION owner_department_fill()")
    op.execute(f"CREATE TRIGGER owner_department_follow_{TABLE} AFTER UPDATE OF department_id ON app_user "
               "FOR EACH ROW WHEN (OLD.department_id IS DISTINCT FROM NEW.department_id) "
               f"EXECUTE FUNCTION owner_department_follow('{TABLE}')")
    op.execute(f"UPDATE {TABLE} c SET owner_department_id = u.department_id FROM app_user u "
               "WHERE u.id = c.owner_id AND u.department_id IS NOT NULL")
    op.create_index("ix_customer_owner_department_id_created_at_id", TABLE,
                    ["owner_department_id", "created_at", "id"])
    op.create_index("ix_customer_owner_department_id_name_id", TABLE, ["owner_department_id", "name", "id"])


def downgrade() -> None:
    op.drop_index("ix_customer_owner_department_id_name_id", table_name=TABLE)
    op.drop_index("ix_customer_owner_department_id_created_at_id", table_name=TABLE)
    op.execute(f"DROP TRIGGER owner_department_follow_{TABLE} ON app_user")
    op.execute(f"DROP TRIGGER owner_department_fill_update ON {TABLE}")
    op.execute(f"DROP TRIGGER owner_department_fill_insert ON {TABLE}")
    op.execute("DROP FUNCTION owner_department_follow()")
    op.execute("DROP FUNCTION owner_department_fill()")
    op.drop_constraint(op.f("fk_customer_owner_department_id_department"), TABLE, type_="foreignkey")
    op.drop_column(TABLE, "owner_department_id")
