"""outbox: an index on each person's queue (kind, id, status) for head-only claims and polls

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-23 17:20:00

Claims take only the head of every (person, subject) queue, which asks "is an earlier row of this
person still pending?" once per candidate; polls read one person's pending rows. Both look rows up by
person and status.
"""
from alembic import op

revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications') as b:
        b.create_index('ix_notifications_queue', ['person_kind', 'person_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications') as b:
        b.drop_index('ix_notifications_queue')
