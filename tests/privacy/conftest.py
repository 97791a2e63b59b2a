"""Driving the front desk as a Telegram client, a housekeeper and a manager would, through
``app.desk.handle`` (the channels' single entry point), with Telegram-style button references."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.orm import Manager, Offer
from bot.telegram.common import CallbackRefs
from dialogs.messages import IncomingMessage
from tests.conftest import make_app

_ids = itertools.count(1)


class Desk:
    def __init__(self, app: Any) -> None:
        self.app, self.be = app, app.backend
        self.refs = CallbackRefs(app.backend.db.engine)

    async def say(self, sender: str, text: str, channel: str = "telegram") -> list[dict[str, Any]]:
        out = await self.app.desk.handle(IncomingMessage(channel, sender, text, message_id=str(next(_ids)),
                                                         answer_duplicates=channel == "rest"))
        for r in out:  # what the Telegram channel does with every button it shows
            for b in r.get("buttons") or []:
                self.refs.ref(b["payload"])
        return out

    def bind(self, kind: str, person_id: int, sender: str) -> None:
        self.be.bind(kind, person_id, "telegram", sender)

    def first_manager(self) -> int:
        with self.be.db.uow() as s:
            return s.scalar(select(Manager.id).order_by(Manager.id))

    def pending_offer(self, booking_id: int) -> tuple[int, int]:
        with self.be.db.uow() as s:
            o = s.scalar(select(Offer).where(Offer.booking_id == booking_id, Offer.status == "pending"))
            assert o is not None, "no pending offer"
            return o.id, o.housekeeper_id

    def client_id(self, sender: str, channel: str = "telegram") -> int:
        person = self.be.identify(channel, sender)
        assert person is not None and person.kind == "client"
        return person.id


def text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def payloads(replies: list[dict[str, Any]]) -> dict[str, str]:
    return {b["title"]: b["payload"] for r in replies for b in r.get("buttons") or []}


def booking_id_in(replies: list[dict[str, Any]]) -> int:
    import re

    m = re.search(r"#(\d+)", text(replies))
    assert m, text(replies)
    return int(m.group(1))


def payload(name: str, **args: Any) -> str:
    return f"/{name}{json.dumps(args)}" if args else f"/{name}"


@pytest.fixture
def desk(tmp_path: Path, db_url: str, trained_model: Path):
    app = make_app(tmp_path, db_url, model=trained_model)
    yield Desk(app)
    app.backend.db.dispose()


async def book(d: Desk, sender: str, address: str, phone: str, notes: str) -> int:
    """A cleaning tomorrow at 10:00 booked in Chinese, confirmed with the summary's button."""
    for m in ("我想约明天上午10点的保洁", "3个小时", address, phone):
        await d.say(sender, m)
    summary = await d.say(sender, notes)
    assert address in text(summary), text(summary)
    return booking_id_in(await d.say(sender, payloads(summary)["确认"]))
