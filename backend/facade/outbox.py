"""The outbox seen from channels: pull with acknowledgement, push claims, delivery results."""

from __future__ import annotations


class OutboxFacade:
    pass
