"""Conversation state in SQL (the same database as the backend, its own tables)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

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
)
MAX_EVENTS = 60  # events kept per conversation; slots carry the state that matters


def new_state() -> dict[str, Any]:
    return {"slots": {}, "events": [], "active_loop": None, "latest_message": {}, "latest_action_name": None,
            "paused": False}


class TrackerStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_tables(self) -> None:
        metadata.create_all(self.engine)

    def load(self, key: str) -> dict[str, Any]:
        with self.engine.connect() as c:
            row = c.execute(select(conversations.c.state).where(conversations.c.sender_key == key)).first()
        return _decode(row[0]) if row else new_state()

    def save(self, key: str, state: dict[str, Any]) -> None:
        state = {**state, "events": state["events"][-MAX_EVENTS:]}
        now = datetime.now(UTC)
        with self.engine.begin() as c:
            done = c.execute(update(conversations).where(conversations.c.sender_key == key)
                             .values(state=_encode(state), updated_at=now)).rowcount
            if not done:
                c.execute(insert(conversations).values(sender_key=key, state=_encode(state), updated_at=now))

    def first_time(self, channel: str, sender_id: str, message_id: str) -> bool:
        """True the first time a platform message id is seen; duplicates are dropped by the caller."""
        try:
            with self.engine.begin() as c:
                c.execute(insert(processed_messages).values(channel=channel, sender_id=sender_id,
                                                            message_id=message_id, at=datetime.now(UTC)))
            return True
        except IntegrityError:
            return False


def _encode(state: dict[str, Any]) -> str:
    from backend.orm import EncryptedJSON

    return EncryptedJSON().process_bind_param(state, None) or ""


def _decode(raw: str) -> dict[str, Any]:
    from backend.orm import EncryptedJSON

    return dict(EncryptedJSON().process_result_value(raw, None) or new_state())
