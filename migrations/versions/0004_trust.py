"""trust: personal data encrypted everywhere, staff tokens and status, inbox, privacy requests,
outbox ordering, idempotent bookings, processed ids per sender

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:00:00

Existing plaintext (names, escalation details, outbox parameters, audit details, conversations,
button payloads) is encrypted in place with the process's data key.
"""
import json

import sqlalchemy as sa
from alembic import op

import backend.orm

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _cipher():
    c = backend.orm.Encrypted.cipher
    if c is None:
        raise RuntimeError("migration 0004 encrypts existing rows: run it through `frontdesk db upgrade`, "
                           "which loads the data key")
    return c


def _encrypt_rows(table: str, key: str, column: str, as_json: bool) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL")).all()
    for k, v in rows:
        if isinstance(v, str) and v.startswith("gAAAA"):
            continue  # already a Fernet token
        if as_json and not isinstance(v, str):
            v = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"),
                     {"v": _cipher().encrypt(v), "k": k})


def _to_text(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE TEXT USING {column}::text")
    else:
        with op.batch_alter_table(table) as b:
            b.alter_column(column, type_=sa.Text())


def upgrade() -> None:
    # --- new tables ---------------------------------------------------------------------------
    op.create_table('staff_tokens',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('token_hash', sa.String(length=64), nullable=False),
                    sa.Column('person_kind', sa.String(length=16), nullable=False),
                    sa.Column('person_id', sa.Integer(), nullable=False),
                    sa.Column('created_at', backend.orm.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('revoked_at', backend.orm.UTCDateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('id'), sa.UniqueConstraint('token_hash'))
    with op.batch_alter_table('staff_tokens') as b:
        b.create_index(b.f('ix_staff_tokens_person_id'), ['person_id'], unique=False)
    op.create_table('inbox',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('channel', sa.String(length=16), nullable=False),
                    sa.Column('sender_id', sa.String(length=128), nullable=False),
                    sa.Column('message_id', sa.String(length=128), nullable=False),
                    sa.Column('payload', backend.orm.EncryptedJSON(), nullable=False),
                    sa.Column('status', sa.String(length=16), nullable=False),
                    sa.Column('attempts', sa.Integer(), nullable=False),
                    sa.Column('next_attempt_at', backend.orm.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('received_at', backend.orm.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id'), sa.UniqueConstraint('channel', 'sender_id', 'message_id'))
    with op.batch_alter_table('inbox') as b:
        b.create_index(b.f('ix_inbox_status'), ['status'], unique=False)
    op.create_table('privacy_requests',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('client_id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=16), nullable=False),
                    sa.Column('status', sa.String(length=16), nullable=False),
                    sa.Column('created_at', backend.orm.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('decided_at', backend.orm.UTCDateTime(timezone=True), nullable=True),
                    sa.Column('manager_id', sa.Integer(), nullable=True),
                    sa.ForeignKeyConstraint(['client_id'], ['clients.id']),
                    sa.ForeignKeyConstraint(['manager_id'], ['managers.id']),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('privacy_requests') as b:
        b.create_index(b.f('ix_privacy_requests_client_id'), ['client_id'], unique=False)

    # --- new columns --------------------------------------------------------------------------
    with op.batch_alter_table('clients') as b:
        b.add_column(sa.Column('erased_at', backend.orm.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('identities') as b:
        b.add_column(sa.Column('last_seen_at', backend.orm.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('housekeepers') as b:
        b.add_column(sa.Column('status', sa.String(length=32), nullable=False, server_default='active'))
        b.add_column(sa.Column('hold_reasons', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('managers') as b:
        b.add_column(sa.Column('status', sa.String(length=32), nullable=False, server_default='active'))
    with op.batch_alter_table('bookings') as b:
        b.add_column(sa.Column('request_key', sa.String(length=64), nullable=True))
        b.create_unique_constraint('uq_bookings_request_key', ['request_key'])
    with op.batch_alter_table('notifications') as b:
        b.add_column(sa.Column('subject', sa.String(length=64), nullable=False, server_default=''))
        b.add_column(sa.Column('urgent', sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column('channel', sa.String(length=16), nullable=True))
    op.execute("UPDATE housekeepers SET status = 'deactivated' WHERE active = false")

    # --- plaintext → encrypted ----------------------------------------------------------------
    for table in ('housekeepers', 'managers'):
        _to_text(table, 'name')
        _encrypt_rows(table, 'id', 'name', as_json=False)
    for table, column in (('escalations', 'detail'), ('notifications', 'params'), ('audit_log', 'detail')):
        _to_text(table, column)
        _encrypt_rows(table, 'id', column, as_json=True)
    _to_text('conversations', 'state')
    _encrypt_rows('conversations', 'sender_key', 'state', as_json=True)

    # Processed ids are unique per sender, not per channel: the key gains the sender. Old ids (without
    # a sender) only guard against duplicates minutes old, so they are dropped.
    op.drop_table('processed_messages')
    op.create_table('processed_messages',
                    sa.Column('channel', sa.String(length=16), nullable=False),
                    sa.Column('sender_id', sa.String(length=128), nullable=False),
                    sa.Column('message_id', sa.String(length=128), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('channel', 'sender_id', 'message_id'))

    # Button payloads: looked up by keyed hash, stored encrypted.
    conn = op.get_bind()
    refs = conn.execute(sa.text("SELECT ref, payload FROM callback_refs")).all()
    op.drop_table('callback_refs')
    op.create_table('callback_refs',
                    sa.Column('ref', sa.String(length=16), nullable=False),
                    sa.Column('payload_hash', sa.String(length=64), nullable=False),
                    sa.Column('payload', sa.Text(), nullable=False),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('ref'), sa.UniqueConstraint('payload_hash'))
    if refs:
        from datetime import UTC, datetime
        now = datetime.now(UTC)
        for ref, payload in refs:
            conn.execute(sa.text("INSERT INTO callback_refs (ref, payload_hash, payload, created_at) "
                                 "VALUES (:r, :h, :p, :t)"),
                         {"r": ref, "h": _cipher().digest(payload), "p": _cipher().encrypt(payload), "t": now})


def downgrade() -> None:
    raise NotImplementedError("0004 encrypts data in place; restore a backup to go back")
