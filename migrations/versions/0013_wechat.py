"""WeChat: the customer-service window per openid

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wechat_windows',
                    sa.Column('openid', sa.String(length=128), nullable=False),
                    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('quota_left', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('openid'))


def downgrade() -> None:
    op.drop_table('wechat_windows')
