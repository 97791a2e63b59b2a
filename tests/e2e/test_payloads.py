"""Button payloads (`/intent{"entity": value}`) through the REST channel: a payload fills only the slot
the form is asking for, nothing when no form asks, and odd payloads are bounded and answered.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from backend.orm import Booking, Client
from dialogs.engine import PAYLOAD_MAX_CHARS, parse_payload
from tests.conftest import make_app as make_frontdesk
from tests.e2e import conftest as e2e
from tests.e2e.conftest import Chat, text

TOMORROW_10 = "2026-11-19T10:00:00+08:00"


@pytest.fixture
async def chat(tmp_path: Path, trained_model: Path, db_url: str):
    """The e2e `chat` fixture on SQLite and on PostgreSQL: payload rules end in booking rows."""
    app = make_frontdesk(tmp_path, db_url, model=trained_model)
    app = e2e.secure(app) if hasattr(e2e, "secure") else app
    if hasattr(e2e, "serve"):
        server = await e2e.serve(app)
    else:  # the fixture before REST authentication
        from aiohttp.test_utils import TestServer

        from bot.server import make_app

        server = TestServer(make_app(app, workers=False), host="127.0.0.1")
        await server.start_server()
    async with ClientSession() as session:
        yield Chat(app, session, str(server.make_url("")).rstrip("/"))
    await server.close()
    app.backend.db.dispose()


def slots(chat: Chat, sender: str) -> dict[str, Any]:
    return chat.app.desk.engine.store.load(f"rest:{sender}")["slots"]


def bookings(chat: Chat) -> list[Booking]:
    with chat.app.backend.db.uow() as s:
        rows = list(s.scalars(select(Booking).order_by(Booking.id)))
        s.expunge_all()
    return rows


def client_phone(chat: Chat, client_id: int) -> str | None:
    with chat.app.backend.db.uow() as s:
        return s.get(Client, client_id).phone


def payload(intent: str, **values: Any) -> str:
    return f"/{intent}{json.dumps(values, ensure_ascii=False)}"


async def test_a_payload_cannot_fill_a_slot_the_form_does_not_ask(chat: Chat) -> None:
    assert "什么时间" in text(await chat.say("约个保洁", "p-1"))
    before = slots(chat, "p-1")
    assert before["requested_slot"] == "time"
    r = await chat.say(payload("inform", phone="13900000000", address="朝阳区建国路88号", duration=3, area=90,
                               service_type="butler"), "p-1")
    assert "什么时间" in text(r)  # ignored: the form asks its question again
    after = slots(chat, "p-1")
    for name in ("phone", "address", "duration", "area"):
        assert after.get(name) is None, name
    assert after["service_type"] == "cleaning" and after["requested_slot"] == "time"


async def test_a_payload_cannot_touch_internal_slots(chat: Chat) -> None:
    await chat.say("约个保洁", "p-2")
    client_id = slots(chat, "p-2")["client_id"]
    r = await chat.say(payload("inform", client_id=1, language="en", requested_slot="phone", awaiting_confirmation=True,
                               fallback_count=99, time=TOMORROW_10), "p-2")
    s = slots(chat, "p-2")
    assert s["client_id"] == client_id and s["language"] == "zh" and not s.get("awaiting_confirmation")
    assert s["time"] == TOMORROW_10 and s["requested_slot"] == "duration"  # time was asked: that one counts
    assert "几个小时" in text(r)


async def test_no_slot_from_a_payload_when_no_form_asks(chat: Chat) -> None:
    await chat.say("你好", "p-3")
    await chat.say(payload("inform", service_type="cleaning", time=TOMORROW_10, phone="13900000000"), "p-3")
    s = slots(chat, "p-3")
    assert s.get("service_type") is None and s.get("time") is None and s.get("phone") is None
    assert bookings(chat) == []


async def test_a_payload_that_opens_the_form_answers_only_its_first_question(chat: Chat) -> None:
    # Telegram's deep link t.me/<bot>?start=book_cleaning arrives as this payload.
    r = await chat.say(payload("book_service", service_type="cleaning", time=TOMORROW_10, phone="13900000000",
                               duration=3), "p-7")
    assert "什么时间" in text(r)
    s = slots(chat, "p-7")
    assert s["service_type"] == "cleaning" and s["requested_slot"] == "time"
    assert s.get("time") is None and s.get("phone") is None and s.get("duration") is None


async def test_the_bots_own_buttons_book_and_a_smuggled_value_is_dropped(chat: Chat) -> None:
    r = await chat.say("我想约个家政服务", "p-4")
    service_buttons = [b["payload"] for r_ in r for b in r_.get("buttons") or []]
    assert payload("inform", service_type="cleaning").replace(" ", "") in [p.replace(" ", "") for p in service_buttons]
    await chat.say('/inform{"service_type": "cleaning"}', "p-4")
    await chat.say("明天上午10点", "p-4")
    assert "地址" in text(await chat.say('/inform{"duration": 3}', "p-4"))
    # Asked for the address: the address counts, the phone riding along does not.
    r = await chat.say(payload("inform", address="朝阳区建国路88号3号楼501", phone="13900000000"), "p-4")
    assert "手机号" in text(r)
    assert slots(chat, "p-4").get("phone") is None
    await chat.say("13812345678", "p-4")
    summary = text(await chat.say('/inform{"notes": "-"}', "p-4"))
    assert "朝阳区建国路88号3号楼501" in summary and "13812345678" in summary
    await chat.say("/affirm", "p-4")
    (b,) = bookings(chat)
    assert (b.service, b.hours, b.address, b.notes) == ("cleaning", 3, "朝阳区建国路88号3号楼501", None)
    assert client_phone(chat, b.client_id) == "13812345678"


async def test_nlu_entities_still_fill_several_slots_at_once(chat: Chat) -> None:
    r = await chat.say("明天上午10点保洁3小时", "p-5")
    assert "地址" in text(r)
    s = slots(chat, "p-5")
    assert (s["service_type"], s["time"], s["duration"], s["requested_slot"]) == (
        "cleaning", TOMORROW_10, 3, "address")


@pytest.mark.parametrize("bad", [
    "/inform{" + '"notes": "' + "x" * PAYLOAD_MAX_CHARS + '"}',  # too big
    '/inform{"time": {"date": "2026-11-19"}}',  # not a scalar
    '/inform{"time": ' + "[" * 450 + "]" * 450 + "}",  # deep, within the size bound
    '/inform{"time": ' + "[" * 1900 + "]" * 1900 + "}",  # deeper (the channel refuses over 4,096 characters)
    '/inform{"duration": NaN}',
    '/inform{"duration": 1e999}',
    "/inform{not json}",
    '/inform{"time": "2026-11-19T10:00:00+08:00"',  # unbalanced
    '/inform{"\\ud800": 1}',
    '/inform{"unknown_entity": 1, "__proto__": {}}',
])
async def test_odd_payloads_are_answered_and_change_nothing(chat: Chat, bad: str) -> None:
    await chat.say("约个保洁", "p-6")
    before = slots(chat, "p-6")
    r = await chat.say(bad, "p-6")  # Chat.say asserts a 200 with a JSON body
    assert r
    if len(bad) <= 2000:  # longer: "message too long", before any parsing
        assert "什么时间" in text(r)
    after = slots(chat, "p-6")
    keys = ("time", "notes", "duration", "requested_slot")
    assert {k: after.get(k) for k in keys} == {k: before.get(k) for k in keys}


# --- the parser on its own (staff buttons use it too) --------------------------------------------
def test_parse_payload_keeps_its_format_for_staff_buttons() -> None:
    p = parse_payload('/accept_offer{"offer_id": 12}')
    assert p is not None and p["intent"] == {"name": "accept_offer", "confidence": 1.0}
    assert p["entities"] == [{"entity": "offer_id", "value": 12, "extractor": "payload"}]
    assert parse_payload("/affirm")["entities"] == []
    assert parse_payload("hello") is None


def test_parse_payload_bounds() -> None:
    assert parse_payload('/inform{"time": "x", "client_id": 3}', entities={"time"})["entities"] == [
        {"entity": "time", "value": "x", "extractor": "payload"}]
    for bad in ['/inform{"a": [1]}', '/inform{"a": {"b": 1}}', '/inform{"a": NaN}', '/inform{"a": Infinity}',
                '/inform{"a": 1e999}', "/inform{" + "[" * 5000 + "}", '/inform{"a": "' + "x" * 600 + '"}',
                "/inform" + "{}" * 600, '/inform{"a": 1}' + " " * 2000 + "x", '/cancel_booking{"booking_id": 1e300}',
                '/cancel_booking{"booking_id": 99999999999999999999}']:
        assert parse_payload(bad) is None, bad[:40]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=30)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(st.text(st.characters(exclude_categories=()), max_size=300),
                      JSON.map(json.dumps)))
def test_parse_payload_never_raises_and_returns_only_small_scalars(body: str) -> None:
    for typed in ("/inform" + body, "/inform{" + body, "/inform{" + body + "}"):
        p = parse_payload(typed, entities={"time", "notes"})
        if p is not None:
            assert p["intent"]["name"].startswith("inform")
            for e in p["entities"]:
                assert e["entity"] in ("time", "notes") and e["extractor"] == "payload"
                assert e["value"] is None or isinstance(e["value"], str | int | float | bool)
