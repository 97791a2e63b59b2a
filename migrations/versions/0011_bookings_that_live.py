"""bookings that live: check-in time and announced lateness on bookings, offers that are a change of
time for the housekeeper already on the job, and booking changes held until the new slot is secured

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:40:00
"""
import sqlalchemy as sa
from alembic import op

import backend.orm

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

TS = backend.orm.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('bookings') as b:
        b.add_column(sa.Column('arrived_at', TS, nullable=True))
        b.add_column(sa.Column('late_minutes', sa.Integer(), nullable=True))
    with op.batch_alter_table('offers') as b:
        b.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='job'))
        b.add_column(sa.Column('change_id', sa.Integer(), nullable=True))
    op.create_table('booking_changes',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('booking_id', sa.Integer(), nullable=False),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('status', sa.String(length=16), nullable=False),
                    sa.Column('starts_at', TS, nullable=True),
                    sa.Column('ends_at', TS, nullable=True),
                    sa.Column('hours', sa.Float(), nullable=True),
                    sa.Column('area', sa.Float(), nullable=True),
                    sa.Column('address', sa.Text(), nullable=True),
                    sa.Column('district', sa.String(length=64), nullable=True),
                    sa.Column('notes', sa.Text(), nullable=True),
                    sa.Column('price_estimate', sa.Integer(), nullable=True),
                    sa.Column('housekeeper_id', sa.Integer(), nullable=True),
                    sa.Column('created_at', TS, nullable=False),
                    sa.Column('decided_at', TS, nullable=True),
                    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_booking_changes_booking_id', 'booking_changes', ['booking_id'])


def downgrade() -> None:
    op.drop_table('booking_changes')
    with op.batch_alter_table('offers') as b:
        b.drop_column('change_id')
        b.drop_column('kind')
    with op.batch_alter_table('bookings') as b:
        b.drop_column('late_minutes')
        b.drop_column('arrived_at')
