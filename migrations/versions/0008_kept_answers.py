"""kept answers: a processed message id keeps its turn's answer (encrypted) for clients that retry

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 18:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('processed_messages') as b:
        b.add_column(sa.Column('replies', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('processed_messages') as b:
        b.drop_column('replies')
