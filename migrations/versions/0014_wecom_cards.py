"""WeCom: the latest response_code per template card

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wecom_cards',
                    sa.Column('task_id', sa.String(length=128), nullable=False),
                    sa.Column('userid', sa.String(length=64), nullable=False),
                    sa.Column('response_code', sa.String(length=512), nullable=True),
                    sa.Column('code_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('task_id'))


def downgrade() -> None:
    op.drop_table('wecom_cards')
