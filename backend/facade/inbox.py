"""The durable inbox of messages acknowledged before their turn ran."""

from __future__ import annotations


class InboxFacade:
    pass
