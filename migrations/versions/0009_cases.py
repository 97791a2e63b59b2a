"""cases: the escalation table grows into the case machinery (policy deadlines, owner, level, outcome),
with a timeline, attachments, payments, refunds, an access log, manager roles and duty windows, and
outbox cards that edit their earlier message

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 19:45:00

Existing escalations keep their rows: acknowledged ones become claimed, resolved ones closed.
"""
import sqlalchemy as sa
from alembic import op

import backend.orm

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TS = backend.orm.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('escalations') as b:
        b.add_column(sa.Column('case_key', sa.String(length=96), nullable=True))
        b.add_column(sa.Column('category', sa.String(length=32), nullable=True))
        b.add_column(sa.Column('severity', sa.String(length=16), nullable=False, server_default='normal'))
        b.add_column(sa.Column('remedy', sa.String(length=32), nullable=True))
        b.add_column(sa.Column('level', sa.Integer(), nullable=False, server_default='0'))
        b.add_column(sa.Column('lang', sa.String(length=8), nullable=False, server_default='zh'))
        for col in ('claimed_at', 'first_response_due_at', 'first_response_at', 'breached_at',
                    'breach_acknowledged_at', 'acknowledged_at', 'closed_at'):
            b.add_column(sa.Column(col, TS, nullable=True))
        b.add_column(sa.Column('outcome', sa.String(length=32), nullable=True))
        b.add_column(sa.Column('satisfied', sa.Boolean(), nullable=True))
        b.create_index('ix_escalations_case_key', ['case_key'])
        b.create_index('ix_escalations_first_response_due_at', ['first_response_due_at'])
    op.execute("UPDATE escalations SET status = 'claimed' WHERE status = 'acknowledged'")
    op.execute("UPDATE escalations SET status = 'closed' WHERE status = 'resolved'")

    op.create_table('case_events',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('case_id', sa.Integer(), nullable=False),
                    sa.Column('at', TS, nullable=False),
                    sa.Column('actor', sa.String(length=64), nullable=False),
                    sa.Column('kind', sa.String(length=32), nullable=False),
                    sa.Column('detail', sa.Text(), nullable=False),
                    sa.ForeignKeyConstraint(['case_id'], ['escalations.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_case_events_case_id', 'case_events', ['case_id'])
    op.create_table('attachments',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('case_id', sa.Integer(), nullable=True),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('content_type', sa.String(length=64), nullable=False),
                    sa.Column('size', sa.Integer(), nullable=False),
                    sa.Column('sha256', sa.String(length=64), nullable=False),
                    sa.Column('filename', sa.Text(), nullable=True),
                    sa.Column('data', sa.LargeBinary(), nullable=False),
                    sa.Column('created_at', TS, nullable=False),
                    sa.ForeignKeyConstraint(['case_id'], ['escalations.id']),
                    sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_attachments_case_id', 'attachments', ['case_id'])
    op.create_index('ix_attachments_client_id', 'attachments', ['client_id'])
    op.create_table('payments',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('booking_id', sa.Integer(), nullable=False),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=24), nullable=False),
                    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
                    sa.Column('method', sa.String(length=16), nullable=False),
                    sa.Column('paid_on', sa.Date(), nullable=False),
                    sa.Column('reference', sa.Text(), nullable=True),
                    sa.Column('recorded_by', sa.String(length=64), nullable=False),
                    sa.Column('created_at', TS, nullable=False),
                    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id']),
                    sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_payments_booking_id', 'payments', ['booking_id'])
    op.create_index('ix_payments_client_id', 'payments', ['client_id'])
    op.create_table('refunds',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=16), nullable=False),
                    sa.Column('case_id', sa.Integer(), nullable=True),
                    sa.Column('booking_id', sa.Integer(), nullable=True),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
                    sa.Column('reason', sa.Text(), nullable=True),
                    sa.Column('status', sa.String(length=16), nullable=False),
                    sa.Column('requested_at', TS, nullable=False),
                    sa.Column('requested_by', sa.String(length=64), nullable=False),
                    sa.Column('approve_due_at', TS, nullable=False),
                    sa.Column('due_at', TS, nullable=False),
                    sa.Column('approved_at', TS, nullable=True),
                    sa.Column('approved_by', sa.String(length=64), nullable=True),
                    sa.Column('paid_at', TS, nullable=True),
                    sa.Column('reference', sa.Text(), nullable=True),
                    sa.Column('rejected_at', TS, nullable=True),
                    sa.Column('rejected_reason', sa.Text(), nullable=True),
                    sa.Column('breached_at', TS, nullable=True),
                    sa.ForeignKeyConstraint(['case_id'], ['escalations.id']),
                    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id']),
                    sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_refunds_case_id', 'refunds', ['case_id'])
    op.create_index('ix_refunds_booking_id', 'refunds', ['booking_id'])
    op.create_index('ix_refunds_client_id', 'refunds', ['client_id'])
    op.create_index('ix_refunds_status', 'refunds', ['status'])
    op.create_table('access_log',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('at', TS, nullable=False),
                    sa.Column('actor', sa.String(length=64), nullable=False),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('what', sa.String(length=32), nullable=False),
                    sa.Column('ref', sa.String(length=64), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_access_log_client_id', 'access_log', ['client_id'])
    with op.batch_alter_table('managers') as b:
        b.add_column(sa.Column('role', sa.String(length=16), nullable=False, server_default='manager'))
        b.add_column(sa.Column('duty_days', sa.JSON(), nullable=False, server_default='[0, 1, 2, 3, 4, 5, 6]'))
        b.add_column(sa.Column('duty_start_minute', sa.Integer(), nullable=False, server_default='0'))
        b.add_column(sa.Column('duty_end_minute', sa.Integer(), nullable=False, server_default='1440'))
    with op.batch_alter_table('bookings') as b:
        b.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        b.add_column(sa.Column('rework_of', sa.Integer(), nullable=True))
        b.create_index('ix_bookings_case_id', ['case_id'])
    with op.batch_alter_table('notifications') as b:
        b.add_column(sa.Column('platform_ref', sa.String(length=64), nullable=True))
        b.add_column(sa.Column('replaces_key', sa.String(length=128), nullable=True))
    op.create_index('ix_notifications_subject', 'notifications', ['subject'])


def downgrade() -> None:
    op.drop_index('ix_notifications_subject', table_name='notifications')
    with op.batch_alter_table('notifications') as b:
        b.drop_column('replaces_key')
        b.drop_column('platform_ref')
    with op.batch_alter_table('bookings') as b:
        b.drop_index('ix_bookings_case_id')
        b.drop_column('rework_of')
        b.drop_column('case_id')
    with op.batch_alter_table('managers') as b:
        for col in ('duty_end_minute', 'duty_start_minute', 'duty_days', 'role'):
            b.drop_column(col)
    for t in ('access_log', 'refunds', 'payments', 'attachments', 'case_events'):
        op.drop_table(t)
    op.execute("UPDATE escalations SET status = 'acknowledged' WHERE status IN ('claimed', 'answered')")
    op.execute("UPDATE escalations SET status = 'resolved' WHERE status = 'closed'")
    with op.batch_alter_table('escalations') as b:
        b.drop_index('ix_escalations_first_response_due_at')
        b.drop_index('ix_escalations_case_key')
        for col in ('satisfied', 'outcome', 'closed_at', 'acknowledged_at', 'breach_acknowledged_at',
                    'breached_at', 'first_response_at', 'first_response_due_at', 'claimed_at', 'lang', 'level',
                    'remedy', 'severity', 'category', 'case_key'):
            b.drop_column(col)
