"""surveys and profiles: call-back surveys per visit, the client file (profile items, preferred
housekeepers, how to address the client), running housekeeper ratings with the roster's as prior,
housekeeper attributes for profile constraints, standing notes and finish times on bookings, and
proposals answering custom requests

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 22:30:00

Existing housekeepers keep their rating as both the running figure and the roster prior.
"""
import sqlalchemy as sa
from alembic import op

import backend.orm

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

TS = backend.orm.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('clients') as b:
        b.add_column(sa.Column('preferred', sa.JSON(), nullable=False, server_default='[]'))
        b.add_column(sa.Column('address_as', sa.Text(), nullable=True))
    with op.batch_alter_table('housekeepers') as b:
        b.add_column(sa.Column('roster_rating', sa.Float(), nullable=False, server_default='4.5'))
        b.add_column(sa.Column('survey_count', sa.Integer(), nullable=False, server_default='0'))
        b.add_column(sa.Column('pets_ok', sa.Boolean(), nullable=False, server_default=sa.true()))
        b.add_column(sa.Column('attributes', sa.JSON(), nullable=False, server_default='[]'))
    op.execute("UPDATE housekeepers SET roster_rating = rating")
    with op.batch_alter_table('bookings') as b:
        b.add_column(sa.Column('standing_notes', sa.Text(), nullable=True))
        b.add_column(sa.Column('finished_at', TS, nullable=True))
        b.add_column(sa.Column('finished_by', sa.String(length=16), nullable=True))
    op.create_table('profile_items',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=16), nullable=False),
                    sa.Column('code', sa.String(length=32), nullable=True),
                    sa.Column('text', sa.Text(), nullable=True),
                    sa.Column('source', sa.String(length=16), nullable=False),
                    sa.Column('created_at', TS, nullable=False),
                    sa.Column('removed_at', TS, nullable=True),
                    sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_profile_items_client_id', 'profile_items', ['client_id'])
    op.create_table('surveys',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('booking_id', sa.Integer(), nullable=False),
                    sa.Column('occurrence', sa.Integer(), nullable=False),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('housekeeper_id', sa.Integer(), nullable=True),
                    sa.Column('status', sa.String(length=16), nullable=False),
                    sa.Column('source', sa.String(length=16), nullable=False),
                    sa.Column('step', sa.String(length=16), nullable=True),
                    sa.Column('send_at', TS, nullable=False),
                    sa.Column('sent_at', TS, nullable=True),
                    sa.Column('reminded_at', TS, nullable=True),
                    sa.Column('closes_at', TS, nullable=True),
                    sa.Column('answered_at', TS, nullable=True),
                    sa.Column('attitude', sa.Integer(), nullable=True),
                    sa.Column('skill', sa.Integer(), nullable=True),
                    sa.Column('result', sa.Integer(), nullable=True),
                    sa.Column('comment', sa.Text(), nullable=True),
                    sa.Column('followup_case_id', sa.Integer(), nullable=True),
                    sa.Column('created_at', TS, nullable=False),
                    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id']),
                    sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('booking_id', 'occurrence'))
    op.create_index('ix_surveys_booking_id', 'surveys', ['booking_id'])
    op.create_index('ix_surveys_client_id', 'surveys', ['client_id'])
    op.create_index('ix_surveys_housekeeper_id', 'surveys', ['housekeeper_id'])
    op.create_index('ix_surveys_status', 'surveys', ['status'])
    op.create_table('proposals',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('case_id', sa.Integer(), nullable=False),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('manager_id', sa.Integer(), nullable=True),
                    sa.Column('description', sa.Text(), nullable=False),
                    sa.Column('service', sa.String(length=32), nullable=True),
                    sa.Column('starts_at', TS, nullable=True),
                    sa.Column('hours', sa.Float(), nullable=True),
                    sa.Column('area', sa.Float(), nullable=True),
                    sa.Column('schedule', sa.Text(), nullable=True),
                    sa.Column('price_cents', sa.Integer(), nullable=False),
                    sa.Column('status', sa.String(length=16), nullable=False),
                    sa.Column('booking_id', sa.Integer(), nullable=True),
                    sa.Column('created_at', TS, nullable=False),
                    sa.Column('expires_at', TS, nullable=True),
                    sa.Column('answered_at', TS, nullable=True),
                    sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_proposals_case_id', 'proposals', ['case_id'])
    op.create_index('ix_proposals_client_id', 'proposals', ['client_id'])


def downgrade() -> None:
    op.drop_table('proposals')
    op.drop_table('surveys')
    op.drop_table('profile_items')
    with op.batch_alter_table('bookings') as b:
        b.drop_column('finished_by')
        b.drop_column('finished_at')
        b.drop_column('standing_notes')
    with op.batch_alter_table('housekeepers') as b:
        b.drop_column('attributes')
        b.drop_column('pets_ok')
        b.drop_column('survey_count')
        b.drop_column('roster_rating')
    with op.batch_alter_table('clients') as b:
        b.drop_column('address_as')
        b.drop_column('preferred')
