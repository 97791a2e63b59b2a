"""staff: REST identities "staff:CODE" replace the old secret "staff-<hex>" sender ids

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 17:30:00

Staff now prove who they are on REST with a hashed, revocable token (`frontdesk staff token CODE
--rotate`); the sender id is just "staff:CODE". The old sender ids were secrets and are removed, so
each staff member needs a token after this upgrade.
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM identities WHERE channel = 'rest' AND person_kind IN ('housekeeper', 'manager') "
               "AND external_id LIKE 'staff-%'")
    for kind, table in (('housekeeper', 'housekeepers'), ('manager', 'managers')):
        op.execute(sa.text(
            f"INSERT INTO identities (person_kind, person_id, channel, external_id, unreachable) "
            f"SELECT :kind, t.id, 'rest', 'staff:' || t.code, :no FROM {table} t "
            f"WHERE t.status != 'deactivated' AND NOT EXISTS (SELECT 1 FROM identities i "
            f"WHERE i.channel = 'rest' AND i.external_id = 'staff:' || t.code)").bindparams(kind=kind, no=False))


def downgrade() -> None:
    # The old secret sender ids cannot come back: staff need `frontdesk staff import` again.
    op.execute("DELETE FROM identities WHERE channel = 'rest' AND person_kind IN ('housekeeper', 'manager') "
               "AND external_id LIKE 'staff:%'")
