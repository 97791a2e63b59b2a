"""repeat visits (booking series), the service area (city on bookings and housekeepers), holiday
surcharges on bookings, housekeepers' leave and hours requests, job applications

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:10:00
"""
import sqlalchemy as sa
from alembic import op

import backend.orm

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TS = backend.orm.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('booking_series',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('service', sa.String(length=32), nullable=False),
                    sa.Column('interval_weeks', sa.Integer(), nullable=False, server_default='1'),
                    sa.Column('weekday', sa.Integer(), nullable=False),
                    sa.Column('start_minute', sa.Integer(), nullable=False),
                    sa.Column('hours', sa.Float(), nullable=True),
                    sa.Column('area', sa.Float(), nullable=True),
                    sa.Column('address', sa.Text(), nullable=True),
                    sa.Column('city', sa.String(length=64), nullable=True),
                    sa.Column('district', sa.String(length=64), nullable=True),
                    sa.Column('notes', sa.Text(), nullable=True),
                    sa.Column('first_date', sa.Date(), nullable=False),
                    sa.Column('until_date', sa.Date(), nullable=True),
                    sa.Column('count', sa.Integer(), nullable=True),
                    sa.Column('holiday_rule', sa.String(length=16), nullable=False, server_default='ask'),
                    sa.Column('housekeeper_id', sa.Integer(), nullable=True),
                    sa.Column('status', sa.String(length=16), nullable=False, server_default='active'),
                    sa.Column('planned_until', sa.Date(), nullable=True),
                    sa.Column('created_at', TS, nullable=False),
                    sa.Column('ended_at', TS, nullable=True),
                    sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_booking_series_client_id', 'booking_series', ['client_id'])
    with op.batch_alter_table('bookings') as b:
        b.add_column(sa.Column('series_id', sa.Integer(), nullable=True))
        b.add_column(sa.Column('city', sa.String(length=64), nullable=True))
        b.add_column(sa.Column('surcharge_cents', sa.Integer(), nullable=True))
        b.create_index('ix_bookings_series_id', ['series_id'])
    with op.batch_alter_table('booking_changes') as b:
        b.add_column(sa.Column('city', sa.String(length=64), nullable=True))
    with op.batch_alter_table('housekeepers') as b:
        b.add_column(sa.Column('city', sa.String(length=64), nullable=True))
    op.create_table('staff_requests',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('housekeeper_id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=16), nullable=False),
                    sa.Column('starts_at', TS, nullable=True),
                    sa.Column('ends_at', TS, nullable=True),
                    sa.Column('hours', sa.JSON(), nullable=True),
                    sa.Column('text', sa.Text(), nullable=True),
                    sa.Column('status', sa.String(length=16), nullable=False, server_default='pending'),
                    sa.Column('manager_id', sa.Integer(), nullable=True),
                    sa.Column('created_at', TS, nullable=False),
                    sa.Column('decided_at', TS, nullable=True),
                    sa.ForeignKeyConstraint(['housekeeper_id'], ['housekeepers.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_staff_requests_housekeeper_id', 'staff_requests', ['housekeeper_id'])
    op.create_table('job_applications',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('client_id', sa.Integer(), nullable=True),
                    sa.Column('name', sa.Text(), nullable=True),
                    sa.Column('phone', sa.Text(), nullable=True),
                    sa.Column('services', sa.JSON(), nullable=True),
                    sa.Column('experience', sa.Text(), nullable=True),
                    sa.Column('certificates', sa.Text(), nullable=True),
                    sa.Column('lang', sa.String(length=8), nullable=False, server_default='zh'),
                    sa.Column('status', sa.String(length=16), nullable=False, server_default='new'),
                    sa.Column('manager_id', sa.Integer(), nullable=True),
                    sa.Column('created_at', TS, nullable=False),
                    sa.Column('decided_at', TS, nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_job_applications_client_id', 'job_applications', ['client_id'])


def downgrade() -> None:
    op.drop_table('job_applications')
    op.drop_table('staff_requests')
    with op.batch_alter_table('housekeepers') as b:
        b.drop_column('city')
    with op.batch_alter_table('booking_changes') as b:
        b.drop_column('city')
    with op.batch_alter_table('bookings') as b:
        b.drop_index('ix_bookings_series_id')
        b.drop_column('surcharge_cents')
        b.drop_column('city')
        b.drop_column('series_id')
    op.drop_table('booking_series')
