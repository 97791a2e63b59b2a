"""matching at scale: bookings indexed by housekeeper and start (her jobs of the week before, for the
fairness score), working hours by weekday and certificates by kind (who works then, who holds a valid
one: a visit's matching reads them off the indexes instead of scanning the tables), and no foreign-key
checks on match_candidates (a booking's ranking writes hundreds of rows; on PostgreSQL their two checks
per row cost more than the rows — bookings and housekeepers are never deleted, and the ids come from
the ranking's own reads)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 21:00:00
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# SQLite's foreign keys have no names: batch mode names them by this convention to drop them.
FK_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
INDEXES = (('ix_bookings_housekeeper_start', 'bookings', ['housekeeper_id', 'starts_at', 'status']),
           ('ix_working_hours_day', 'working_hours', ['weekday', 'start_minute', 'end_minute', 'housekeeper_id']),
           ('ix_certificates_kind', 'certificates', ['kind', 'expires_on', 'housekeeper_id']))
REFS = (('booking_id', 'bookings'), ('housekeeper_id', 'housekeepers'))


def _fk(col: str, ref: str) -> str:
    if op.get_bind().dialect.name == 'sqlite':
        return f'fk_match_candidates_{col}_{ref}'
    return f'match_candidates_{col}_fkey'  # PostgreSQL's default name, as 0001 created them


def upgrade() -> None:
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols)
    with op.batch_alter_table('match_candidates', naming_convention=FK_NAMES) as b:
        for col, ref in REFS:
            b.drop_constraint(_fk(col, ref), type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('match_candidates', naming_convention=FK_NAMES) as b:
        for col, ref in REFS:
            b.create_foreign_key(_fk(col, ref), ref, [col], ['id'])
    for name, table, _ in INDEXES:
        op.drop_index(name, table)
