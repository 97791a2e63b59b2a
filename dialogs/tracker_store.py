"""Conversation state in SQL (the same database as the backend, its own tables)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, DateTime, MetaData, String, Table, Text, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from backend.db import ambient, before_commit
from backend.once import insert_once

metadata = MetaData()
conversations = Table(
    "conversations", metadata,
    Column("sender_key", String(200), primary_key=True),
    Column("state", Text, nullable=False),  # encrypted JSON: the conversation holds client text
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
processed_messages = Table(
    "processed_messages", metadata,
    Column("channel", String(16), primary_key=True),
    Column("sender_id", String(128), primary_key=True),  # platform ids are unique per sender, not globally
    Column("message_id", String(128), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    # The turn's answer, encrypted: a request/response client that lost it and retries gets it again.
    Column("replies", Text, nullable=True),
)
MAX_EVENTS = 60  # events kept per conversation; slots carry the state that matters
STATE = "frontdesk_conversation"  # turn session info: (key, raw state, written since read?, written at)
ANSWER = "frontdesk_answer"  # turn session info: the turn's answer to keep with its message id

# PostgreSQL, inside a turn: the conversation's state is read with the message's mark, and written with
# the turn's answer at the commit (the turn's last statement), one round trip each.
# The INSERT runs once whatever the SELECT reads; ``fresh`` is NULL when the id was marked before.
_mark = (pg_insert(processed_messages)
         .values(channel=bindparam("channel"), sender_id=bindparam("sender_id"), message_id=bindparam("message_id"),
                 at=bindparam("at"))
         .on_conflict_do_nothing().returning(processed_messages.c.message_id).cte("mark"))
MARK_AND_LOAD = select(select(_mark.c.message_id).scalar_subquery().label("fresh"),
                       select(conversations.c.state).where(conversations.c.sender_key == bindparam("key"))
                       .scalar_subquery().label("state"))
_upsert = pg_insert(conversations).values(sender_key=bindparam("key"), state=bindparam("state"),
                                          updated_at=bindparam("state_at"))
WRITE_STATE = _upsert.on_conflict_do_update(index_elements=[conversations.c.sender_key],
                                            set_={"state": _upsert.excluded.state,
                                                  "updated_at": _upsert.excluded.updated_at})
KEEP_ANSWER = (update(processed_messages)
               .where(processed_messages.c.channel == bindparam("a_channel"),
                      processed_messages.c.sender_id == bindparam("a_sender"),
                      processed_messages.c.message_id == bindparam("a_message"))
               .values(replies=bindparam("replies")))
WRITE_STATE_AND_ANSWER = WRITE_STATE.add_cte(KEEP_ANSWER.cte("answer"))


def new_state() -> dict[str, Any]:
    return {"slots": {}, "events": [], "active_loop": None, "latest_message": {}, "latest_action_name": None,
            "paused": False}


class TrackerStore:
    """Load/save conversations and mark message ids. Inside a turn (``Database.turn``) all of it runs
    on the turn's session, so the tracker, the processed id and the turn's effects commit together.

    On PostgreSQL a turn's conversation costs two round trips, not four: its state is read with the
    message's mark (``first_time``), and the saved state is written with the kept answer when the turn
    commits (``save``, ``remember``, ``_write``). Meanwhile ``load`` returns what the turn last saw.
    The deferred write is the turn's, not a savepoint's: call ``save`` outside a ``uow()`` that may roll
    back (the engine does). With the per-conversation lock two turns of one conversation never overlap;
    without it, the last upsert of a new conversation wins where SQLite's INSERT would fail one turn."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        # The backend's clock, so retention (backend/services/retention.py) ages conversations on it.
        self.now = now or (lambda: datetime.now(UTC))

    def create_tables(self) -> None:
        metadata.create_all(self.engine)

    @contextmanager
    def _conn(self) -> Iterator[Session | Connection]:
        turn = ambient(self.engine)
        if turn is not None:
            yield turn
            return
        with self.engine.begin() as c:
            yield c

    def _turn(self, c: Session | Connection) -> Session | None:
        """The turn's session on PostgreSQL, where reads and writes of the conversation are gathered."""
        return c if isinstance(c, Session) and self.engine.dialect.name == "postgresql" else None

    def load(self, key: str) -> dict[str, Any]:
        with self._conn() as c:
            turn = self._turn(c)  # the conversation as this turn knows it (PostgreSQL)
            known = turn.info.get(STATE) if turn is not None else None
            if known is not None and known[0] == key:
                raw = known[1]
            else:
                row = c.execute(select(conversations.c.state).where(conversations.c.sender_key == key)).first()
                raw = row[0] if row else None
        return _decode(raw) if raw is not None else new_state()

    def save(self, key: str, state: dict[str, Any]) -> None:
        raw, now = _encode({**state, "events": state["events"][-MAX_EVENTS:]}), self.now()
        with self._conn() as c:
            turn = self._turn(c)
            known = turn.info.get(STATE) if turn is not None else None
            if turn is not None and (known is None or known[0] == key):
                turn.info[STATE] = (key, raw, True, now)
                before_commit(turn, "conversation", self._write)
                return
            done = c.execute(update(conversations).where(conversations.c.sender_key == key)
                             .values(state=raw, updated_at=now)).rowcount
            if not done:
                c.execute(insert(conversations).values(sender_key=key, state=raw, updated_at=now))

    def _write(self, session: Session) -> None:
        """The turn's conversation state and kept answer, in one statement, just before the commit."""
        key, raw, written, at = session.info.pop(STATE, (None, None, False, None))
        answer = session.info.pop(ANSWER, None)
        if not written and answer is None:
            return
        params = {"key": key, "state": raw, "state_at": at} if written else {}
        if answer is not None:
            params.update(zip(("a_channel", "a_sender", "a_message", "replies"), answer, strict=True))
        stmt = (WRITE_STATE_AND_ANSWER if answer is not None else WRITE_STATE) if written else KEEP_ANSWER
        session.execute(stmt, params)

    def first_time(self, channel: str, sender_id: str, message_id: str, key: str | None = None) -> bool:
        """Mark a platform message id processed; False when it already was (the caller drops it).

        Inside a turn the mark commits with the turn's effects: a turn that fails or dies leaves the id
        unmarked, so the platform's retry runs. On PostgreSQL a concurrent holder of the same id makes
        this wait for its commit (then False) or rollback (then True).

        ``key``: the conversation the message belongs to. Inside a turn on PostgreSQL its state is read
        in the same round trip and kept for this turn's ``load``."""
        values = {"channel": channel, "sender_id": sender_id, "message_id": message_id, "at": self.now()}
        with self._conn() as c:
            turn = self._turn(c)
            if turn is not None and key is not None and STATE not in turn.info:
                fresh, raw = turn.execute(MARK_AND_LOAD, {**values, "key": key}).one()
                if fresh is not None:
                    turn.info[STATE] = (key, raw, False, None)
                return fresh is not None
            return insert_once(c, processed_messages, ("channel", "sender_id", "message_id"), **values)

    def remember(self, channel: str, sender_id: str, message_id: str, replies: list[dict[str, Any]]) -> None:
        """Keep the turn's answer with its message id (in the turn's transaction; on PostgreSQL written
        with the conversation's state, at the commit)."""
        with self._conn() as c:
            turn = self._turn(c)
            if turn is not None and ANSWER not in turn.info:  # one answer a turn; another is written now
                turn.info[ANSWER] = (channel, sender_id, message_id, _encode_any(replies))
                before_commit(turn, "conversation", self._write)
                return
            c.execute(KEEP_ANSWER, {"a_channel": channel, "a_sender": sender_id, "a_message": message_id,
                                    "replies": _encode_any(replies)})

    def answer_of(self, channel: str, sender_id: str, message_id: str) -> list[dict[str, Any]]:
        """The answer a processed message got ([] when none was kept)."""
        with self._conn() as c:
            row = c.execute(select(processed_messages.c.replies).where(
                processed_messages.c.channel == channel, processed_messages.c.sender_id == sender_id,
                processed_messages.c.message_id == message_id)).first()
        if row is None or row[0] is None:
            return []
        from backend.orm import EncryptedJSON

        return list(EncryptedJSON().process_result_value(row[0], None) or [])


def _encode_any(value: Any) -> str:
    from backend.orm import EncryptedJSON

    return EncryptedJSON().process_bind_param(value, None) or ""


def _encode(state: dict[str, Any]) -> str:
    from backend.orm import EncryptedJSON

    return EncryptedJSON().process_bind_param(state, None) or ""


def _decode(raw: str) -> dict[str, Any]:
    from backend.orm import EncryptedJSON

    return dict(EncryptedJSON().process_result_value(raw, None) or new_state())
