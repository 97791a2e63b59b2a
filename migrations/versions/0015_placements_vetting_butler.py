"""placements (shortlist candidates, interviews), vetting records, certificate numbers, birth year and
experience on the roster, butler requests

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 20:30:00
"""
import sqlalchemy as sa
from alembic import op

import backend.orm

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TS = backend.orm.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('housekeepers') as b:
        b.add_column(sa.Column('birth_year', sa.Integer(), nullable=True))
        b.add_column(sa.Column('experience_years', sa.Integer(), nullable=True))
    op.create_index('ix_bookings_busy', 'bookings', ['status', 'ends_at', 'starts_at', 'housekeeper_id'])
    with op.batch_alter_table('certificates') as b:
        b.add_column(sa.Column('number', sa.Text(), nullable=True))
    op.create_table('vetting_records',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('housekeeper_id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=24), nullable=False),
                    sa.Column('subkind', sa.String(length=32), nullable=True),
                    sa.Column('on', sa.Date(), nullable=False),
                    sa.Column('expires_on', sa.Date(), nullable=True),
                    sa.Column('result', sa.String(length=16), nullable=True),
                    sa.Column('number', sa.Text(), nullable=True),
                    sa.Column('by', sa.Text(), nullable=True),
                    sa.Column('hours', sa.Float(), nullable=True),
                    sa.Column('notes', sa.Text(), nullable=True),
                    sa.Column('recorded_by', sa.String(length=64), nullable=False, server_default='roster'),
                    sa.Column('created_at', TS, nullable=False),
                    sa.ForeignKeyConstraint(['housekeeper_id'], ['housekeepers.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_vetting_records_housekeeper_id', 'vetting_records', ['housekeeper_id'])
    op.create_table('placements',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('service', sa.String(length=32), nullable=False),
                    sa.Column('status', sa.String(length=16), nullable=False, server_default='shortlisting'),
                    sa.Column('lang', sa.String(length=8), nullable=False, server_default='zh'),
                    sa.Column('due_date', sa.Date(), nullable=True),
                    sa.Column('start_date', sa.Date(), nullable=False),
                    sa.Column('end_date', sa.Date(), nullable=False),
                    sa.Column('term_days', sa.Integer(), nullable=False),
                    sa.Column('live_in', sa.Boolean(), nullable=False, server_default=sa.false()),
                    sa.Column('days_per_week', sa.Integer(), nullable=False, server_default='6'),
                    sa.Column('daily_hours', sa.Float(), nullable=False, server_default='8'),
                    sa.Column('requirements', sa.Text(), nullable=False),
                    sa.Column('household', sa.Text(), nullable=True),
                    sa.Column('address', sa.Text(), nullable=True),
                    sa.Column('city', sa.String(length=64), nullable=True),
                    sa.Column('district', sa.String(length=64), nullable=True),
                    sa.Column('unit', sa.String(length=8), nullable=False, server_default='month'),
                    sa.Column('unit_price', sa.Integer(), nullable=False, server_default='0'),
                    sa.Column('price_estimate', sa.Integer(), nullable=False, server_default='0'),
                    sa.Column('deposit_cents', sa.BigInteger(), nullable=False, server_default='0'),
                    sa.Column('settlement', sa.String(length=16), nullable=False, server_default='monthly'),
                    sa.Column('round', sa.Integer(), nullable=False, server_default='1'),
                    sa.Column('housekeeper_id', sa.Integer(), nullable=True),
                    sa.Column('booking_id', sa.Integer(), nullable=True),
                    sa.Column('trial_days', sa.Integer(), nullable=False, server_default='0'),
                    sa.Column('trial_ends_on', sa.Date(), nullable=True),
                    sa.Column('request_key', sa.String(length=64), nullable=True),
                    sa.Column('replaces_id', sa.Integer(), nullable=True),
                    sa.Column('created_at', TS, nullable=False),
                    sa.Column('chosen_at', TS, nullable=True),
                    sa.Column('ended_at', TS, nullable=True),
                    sa.Column('end_reason', sa.String(length=32), nullable=True),
                    sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
                    sa.ForeignKeyConstraint(['housekeeper_id'], ['housekeepers.id']),
                    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id']),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('request_key'))
    for col in ('client_id', 'status', 'housekeeper_id', 'booking_id'):
        op.create_index(f'ix_placements_{col}', 'placements', [col])
    op.create_table('placement_candidates',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('placement_id', sa.Integer(), nullable=False),
                    sa.Column('housekeeper_id', sa.Integer(), nullable=False),
                    sa.Column('round', sa.Integer(), nullable=False, server_default='1'),
                    sa.Column('rank', sa.Integer(), nullable=False),
                    sa.Column('score', sa.Float(), nullable=False),
                    sa.Column('reasons', sa.JSON(), nullable=False),
                    sa.Column('state', sa.String(length=16), nullable=False, server_default='ranked'),
                    sa.Column('asked_at', TS, nullable=True),
                    sa.Column('ask_expires_at', TS, nullable=True),
                    sa.Column('responded_at', TS, nullable=True),
                    sa.Column('hold_expires_at', TS, nullable=True),
                    sa.ForeignKeyConstraint(['placement_id'], ['placements.id']),
                    sa.ForeignKeyConstraint(['housekeeper_id'], ['housekeepers.id']),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('placement_id', 'housekeeper_id'))
    for col in ('placement_id', 'housekeeper_id', 'state', 'hold_expires_at'):
        op.create_index(f'ix_placement_candidates_{col}', 'placement_candidates', [col])
    op.create_table('interviews',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('placement_id', sa.Integer(), nullable=False),
                    sa.Column('housekeeper_id', sa.Integer(), nullable=False),
                    sa.Column('at', TS, nullable=False),
                    sa.Column('mode', sa.String(length=16), nullable=False, server_default='video'),
                    sa.Column('status', sa.String(length=16), nullable=False, server_default='scheduled'),
                    sa.Column('created_at', TS, nullable=False),
                    sa.ForeignKeyConstraint(['placement_id'], ['placements.id']),
                    sa.ForeignKeyConstraint(['housekeeper_id'], ['housekeepers.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_interviews_placement_id', 'interviews', ['placement_id'])
    op.create_index('ix_interviews_housekeeper_id', 'interviews', ['housekeeper_id'])
    op.create_table('butler_requests',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('placement_id', sa.Integer(), nullable=True),
                    sa.Column('booking_id', sa.Integer(), nullable=True),
                    sa.Column('butler_id', sa.Integer(), nullable=True),
                    sa.Column('text', sa.Text(), nullable=False),
                    sa.Column('lang', sa.String(length=8), nullable=False, server_default='zh'),
                    sa.Column('status', sa.String(length=16), nullable=False, server_default='open'),
                    sa.Column('created_at', TS, nullable=False),
                    sa.Column('onsite_due_at', TS, nullable=False),
                    sa.Column('onsite_at', TS, nullable=True),
                    sa.Column('plan_due_at', TS, nullable=False),
                    sa.Column('plan_at', TS, nullable=True),
                    sa.Column('plan', sa.Text(), nullable=True),
                    sa.Column('case_id', sa.Integer(), nullable=True),
                    sa.Column('closed_at', TS, nullable=True),
                    sa.Column('plan_prompted_at', TS, nullable=True),
                    sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
                    sa.ForeignKeyConstraint(['butler_id'], ['housekeepers.id']),
                    sa.PrimaryKeyConstraint('id'))
    for col in ('client_id', 'placement_id', 'butler_id', 'status'):
        op.create_index(f'ix_butler_requests_{col}', 'butler_requests', [col])


def downgrade() -> None:
    for t in ('butler_requests', 'interviews', 'placement_candidates', 'placements', 'vetting_records'):
        op.drop_table(t)
    op.drop_index('ix_bookings_busy', 'bookings')
    with op.batch_alter_table('certificates') as b:
        b.drop_column('number')
    with op.batch_alter_table('housekeepers') as b:
        b.drop_column('experience_years')
        b.drop_column('birth_year')
