"""What the kill-and-restart tests read and do: rows in storage, the booking dialogue, Telegram binds."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from backend.orm import AuditLog, Booking, Identity, Notification, Offer, Timer
from dialogs.tracker_store import TrackerStore
from tests.crash.conftest import Scenario
from tests.crash.harness import (
    STAFF_TOKEN,
    booking_number,
    buttons,
    text,
)

CLIENT_CHAT = 7001  # a client on the Telegram client bot
HK_CHAT = 7101  # the housekeeper who gets the offer, on the staff bot
BOOKING_STEPS = (("我想约明天上午10点的保洁", "几个小时"), ("3个小时", "地址"), ("朝阳区建国路88号3号楼501", "手机号"),
                 ("13812345678", "注意"), ("没有", "确认下单吗"))


# --- reading what happened ----------------------------------------------------------------------
def processed(sc: Scenario, channel: str, sender: str, message_id: str) -> int:
    return sc.scalar("SELECT count(*) FROM processed_messages WHERE channel = :c AND sender_id = :s "
                     "AND message_id = :m", c=channel, s=sender, m=message_id)


def user_turns(sc: Scenario, key: str, message_id: str) -> int:
    """How many times the conversation recorded this platform message (the tracker advanced by it)."""
    state = TrackerStore(sc.backend.db.engine).load(key)
    return sum(1 for e in state["events"] if e.get("event") == "user" and e.get("message_id") == message_id)


def client_of(sc: Scenario, channel: str, sender: str) -> int:
    with sc.backend.db.uow() as s:
        ident = s.scalar(select(Identity).where(Identity.channel == channel, Identity.external_id == sender,
                                                Identity.person_kind == "client"))
        assert ident is not None, f"no client for {channel}:{sender}"
        return ident.person_id


def bookings_of(sc: Scenario, client_id: int) -> list[int]:
    with sc.backend.db.uow() as s:
        return list(s.scalars(select(Booking.id).where(Booking.client_id == client_id).order_by(Booking.id)))


def offers_of(sc: Scenario, booking_id: int) -> list[dict[str, Any]]:
    with sc.backend.db.uow() as s:
        return [{"id": o.id, "housekeeper_id": o.housekeeper_id, "status": o.status}
                for o in s.scalars(select(Offer).where(Offer.booking_id == booking_id).order_by(Offer.id))]


def notifications(sc: Scenario, **where: Any) -> list[dict[str, Any]]:
    """Outbox rows (params decrypted) matching the given columns, oldest first."""
    with sc.backend.db.uow() as s:
        q = select(Notification).order_by(Notification.id)
        for k, v in where.items():
            q = q.where(getattr(Notification, k) == v)
        return [{"id": n.id, "key": n.key, "template": n.template, "params": n.params, "status": n.status,
                 "person_kind": n.person_kind, "person_id": n.person_id, "subject": n.subject,
                 "attempts": n.attempts, "channel": n.channel} for n in s.scalars(q)]


def of_booking(rows: list[dict[str, Any]], booking_id: int) -> list[dict[str, Any]]:
    return [r for r in rows if (r["params"] or {}).get("booking_id") == booking_id]


def timer(sc: Scenario, key: str) -> dict[str, Any] | None:
    with sc.backend.db.uow() as s:
        t = s.scalar(select(Timer).where(Timer.key == key))
        return None if t is None else {"status": t.status, "attempts": t.attempts}


def audit(sc: Scenario, entity: str, entity_id: int, new: str) -> int:
    with sc.backend.db.uow() as s:
        return len(list(s.scalars(select(AuditLog.id).where(AuditLog.entity == entity, AuditLog.entity_id == entity_id,
                                                              AuditLog.new == new))))


def staff_code(sc: Scenario, housekeeper_id: int) -> str:
    return sc.scalar("SELECT code FROM housekeepers WHERE id = :i", i=housekeeper_id)


# --- driving ------------------------------------------------------------------------------------
async def until_summary(sc: Scenario, sender: str, prefix: str) -> list[dict[str, Any]]:
    """A client's booking conversation over REST up to the summary with 确认 / 修改 / 取消."""
    replies: list[dict[str, Any]] = []
    for i, (message, expect) in enumerate(BOOKING_STEPS, 1):
        replies = await sc.rest.say(sender, message, f"{prefix}-{i}")
        assert expect in text(replies), (message, text(replies))
    return replies


def confirm_payload(summary: list[dict[str, Any]]) -> str:
    found = [b["payload"] for b in buttons(summary) if b["title"] == "确认"]
    assert found, f"no 确认 button in {summary}"
    return found[0]


async def book(sc: Scenario, sender: str, prefix: str) -> int:
    done = await sc.rest.say(sender, confirm_payload(await until_summary(sc, sender, prefix)), f"{prefix}-confirm")
    assert "正在为您安排阿姨" in text(done), text(done)
    return booking_number(done)


def pending_offer(sc: Scenario, booking_id: int) -> dict[str, Any]:
    pending = [o for o in offers_of(sc, booking_id) if o["status"] == "pending"]
    assert len(pending) == 1, offers_of(sc, booking_id)
    return pending[0]


async def bind_on_telegram(sc: Scenario, housekeeper_id: int, chat: int) -> None:
    """The housekeeper opens her one-time invite link in the staff bot."""
    invite = sc.backend.create_invite("housekeeper", housekeeper_id)
    await sc.fake.send_text(STAFF_TOKEN, chat, f"/start {invite}")
    await sc.fake.wait_for(STAFF_TOKEN, chat, "欢迎", timeout=30)


def sent_to(sc: Scenario, token: str, chat: int, needle: str) -> list[int]:
    """Positions, among the texts sent to the chat, of those containing needle."""
    return [i for i, t in enumerate(sc.fake.texts(token, chat)) if needle in t]


# --- a. mid-turn ------------------------------------------------------------------------------------


def due_timers(sc: Scenario, minutes: float = 0) -> list[str]:
    """Keys of the timers that are due now, or will be in ``minutes``."""
    with sc.backend.db.uow() as s:
        return list(s.scalars(select(Timer.key).where(
            Timer.status.in_(("pending", "running")),
            Timer.due_at <= sc.backend.now + timedelta(minutes=minutes))))


def staff_token_from(output: str) -> str:
    m = re.search(r"fds_[A-Za-z0-9_\-]+", output)
    assert m, f"`frontdesk staff token --rotate` printed no fds_ token:\n{output}"
    return m.group(0)
