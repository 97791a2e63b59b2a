"""What both WeChat callbacks share at the HTTP level."""

from __future__ import annotations

import time

from aiohttp import web


def fresh(timestamp: str, skew: float = 300.0) -> bool:
    """The platform signs the query's timestamp: one far from now is a replay of a captured request."""
    try:
        return abs(time.time() - int(timestamp)) <= skew
    except ValueError:
        return False


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The whole body, or None when it is larger than ``limit`` (refused unread: a declared length over
    it is not read at all). ``content.read(n)`` returns what has arrived so far, not the body."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
