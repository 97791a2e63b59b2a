"""Complaints on Telegram, end to end through both real libraries and the fake Bot API server: a
photo fetched with getFile and stored encrypted on the case, uploaded to the manager from storage,
cards edited in place when another manager claims, oversized or foreign files refused politely,
and an English complaint that leaves the booking alone."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.api import Backend
from backend.orm import Attachment, Notification
from backend.services import outbox, staff
from backend.services.attachments import Limits
from backend.services.bookings import Request
from bot.workers import Dispatcher
from dialogs.domain import Domain
from dialogs.notify import Notifier
from tests.backend.conftest import demo_backend
from tests.backend.test_attachments import JPEG, ZIP, png
from tests.telegram.conftest import CLIENT, CUSTOMER, HK_A, MANAGER, ROSTER, STAFF, Env
from tests.telegram.test_telegram import book_via_telegram

MANAGER_EN = 702
EN_CUSTOMER = 503
PHOTO = png(b"scratched-floor-by-the-sofa")


async def managers(tg: Env) -> None:
    """The roster of the Telegram suite plus an English-speaking second manager, both bound."""
    rows = [*ROSTER, {"code": "MGR02", "role": "manager", "name": "Alex Chen", "phone": "13800000002", "lang": "en"}]
    await asyncio.to_thread(tg.app.backend.import_staff,
                            [staff.parse_row(i, r, tg.app.backend.catalogue) for i, r in enumerate(rows, 1)])
    await tg.bind("MGR01", MANAGER)
    person = await asyncio.to_thread(tg.app.backend.staff_by_code, "MGR02")
    token = await asyncio.to_thread(tg.app.backend.create_invite, person.kind, person.id)
    await tg.staff_says(f"/start {token}", MANAGER_EN)
    await tg.fake.wait_for(STAFF, MANAGER_EN, "Welcome")


async def next_reply(tg: Env, chat: int, after: int, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        texts = tg.fake.texts(CLIENT, chat)
        if len(texts) > after:
            await asyncio.sleep(0.2)  # a turn may answer with several messages: take the last
            return tg.fake.texts(CLIENT, chat)[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no reply to {chat}")


async def tap_where(tg: Env, chat: int, pick: Callable[[str], bool]) -> None:
    titles = [t for t, _ in tg.fake.buttons(CLIENT, chat)]
    title = next((t for t in titles if pick(t)), None)
    assert title is not None, f"no button to pick among {titles}"
    await tg.tap(CLIENT, chat, title)


async def complain(tg: Env, chat: int, words: str, lang: str, remedy: str) -> int:
    """Walk the complaint conversation by its buttons, whatever order it asks in; returns the case id."""
    steps = {"zh": [("哪一次预约", lambda t: t.startswith("#")), ("是关于", lambda t: True),
                    ("怎么处理", lambda t: t == remedy), ("确认提交", lambda t: t == "提交")],
             "en": [("Which booking", lambda t: t.startswith("#")), ("Is it about", lambda t: True),
                    ("What would you like", lambda t: t == remedy), ("Shall I register", lambda t: t == "Register it")]}
    done = "已登记" if lang == "zh" else "is registered"
    n = tg.sent(CLIENT, chat)
    await tg.client_says(words, chat, lang)
    for _ in range(8):
        said = await next_reply(tg, chat, n)
        if done in said:
            return int(re.search(r"#(\d+)", said)[1])
        step = next(((needle, pick) for needle, pick in steps[lang] if needle in said), None)
        assert step is not None, f"unexpected question: {said}"
        n = tg.sent(CLIENT, chat)
        await tap_where(tg, chat, step[1])
    raise AssertionError("the complaint was never registered")


def attachment_rows(be: Backend) -> int:
    with be.db.read() as s:
        return s.scalar(select(func.count()).select_from(Attachment))


def card_messages(tg: Env, chat: int, needle: str) -> list[int]:
    return [m["message_id"] for m in tg.fake.bots[STAFF].sent
            if m["method"] == "sendMessage" and int(m["chat_id"]) == chat and needle in m.get("text", "")]


async def until(check: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await asyncio.to_thread(check)
        if got:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_photo_on_a_complaint_reaches_the_manager_and_cards_are_edited_in_place(tg: Env) -> None:
    f, be = tg.fake, tg.app.backend
    await managers(tg)
    await tg.bind("HKA", HK_A)
    await book_via_telegram(tg)
    await f.wait_for(STAFF, HK_A, "新订单 #")
    await tg.tap(STAFF, HK_A, "接单")
    await f.wait_for(CLIENT, CUSTOMER, "已确认")
    me = await asyncio.to_thread(be.identify, "telegram", str(CUSTOMER))
    booking = (await asyncio.to_thread(be.open_bookings, me.id))[0]

    case_id = await complain(tg, CUSTOMER, "阿姨把我家的花瓶打碎了", "zh", "道歉")
    # the photo comes after: fetched through getFile + the file URL, stored, linked to the open case
    n = tg.sent(CLIENT, CUSTOMER)
    await f.send_photo(CLIENT, CUSTOMER, PHOTO)
    await f.wait_for(CLIENT, CUSTOMER, f"#{case_id}", after=n)
    assert "getFile" in f.bots[CLIENT].calls and f.bots[CLIENT].downloads
    files = await asyncio.to_thread(be.attachments_of_case, case_id)
    assert [(x["content_type"], x["size"], x["sha256"]) for x in files] == [
        ("image/png", len(PHOTO), hashlib.sha256(PHOTO).hexdigest())]
    assert (await asyncio.to_thread(be.booking, booking["id"]))["status"] == booking["status"]  # unchanged

    # both managers have a card; MGR01 opens the case and gets the photo uploaded from storage
    await f.wait_for(STAFF, MANAGER, f"#{case_id}")
    await f.wait_for(STAFF, MANAGER_EN, f"#{case_id}")
    await tg.staff_says(f"/case {case_id}", MANAGER)
    up = await until(lambda: f.uploads(STAFF, MANAGER), what="the photo upload")
    assert up[0]["method"] == "sendPhoto" and up[0]["data"] == PHOTO
    assert not any(m["method"] == "sendPhoto" and "file_id" in str(m.get("photo")) for m in f.bots[STAFF].sent)

    # MGR01 claims: MGR02's card is edited in place, its claim button gone
    await asyncio.sleep(0.5)  # the cards of the complaint and of the photo have gone out
    sent_before = len(card_messages(tg, MANAGER_EN, f"#{case_id}"))
    edits_before = len(f.edits(STAFF, MANAGER_EN))
    await tg.tap(STAFF, MANAGER, "认领")
    edit = (await until(lambda: f.edits(STAFF, MANAGER_EN)[edits_before:], what="an edited card"))[-1]
    await asyncio.sleep(0.5)
    cards_en = card_messages(tg, MANAGER_EN, f"#{case_id}")
    assert int(edit["message_id"]) == cards_en[-1], (edit, cards_en)  # her latest card about the case
    now = f.message(STAFF, MANAGER_EN, int(edit["message_id"]))
    assert f"#{case_id}" in now["text"] and "周经理" in now["text"]
    titles = [b["text"] for row in (now["reply_markup"] or {}).get("inline_keyboard", []) for b in row]
    assert titles and "Claim" not in titles
    assert len(cards_en) == sent_before  # edited, not sent again

    def delivered_refs() -> set[str | None]:  # recorded after Telegram answers the edit: wait, don't race
        with be.db.read() as s:
            return set(s.scalars(select(Notification.platform_ref).where(Notification.template == "case_card",
                                                                         Notification.status == "delivered")))
    await until(lambda: f"{MANAGER_EN}:{edit['message_id']}" in delivered_refs(), what="the edit recorded")


async def test_a_card_telegram_will_not_edit_goes_out_as_a_new_message(tg: Env) -> None:
    f, be = tg.fake, tg.app.backend
    await managers(tg)
    client = (await asyncio.to_thread(be.client_for, "telegram", "555", "zh")).id
    case = await asyncio.to_thread(be.open_case, "complaint", client, category="quality", text="窗户没擦干净")
    await f.wait_for(STAFF, MANAGER_EN, f"#{case['id']}")
    await asyncio.sleep(0.3)
    before = len(card_messages(tg, MANAGER_EN, f"#{case['id']}"))
    f.bots[STAFF].uneditable.add(MANAGER_EN)  # e.g. the message is too old or was deleted
    mgr01 = await asyncio.to_thread(be.staff_by_code, "MGR01")
    await asyncio.to_thread(be.claim, mgr01.id, case["id"])
    await until(lambda: len(card_messages(tg, MANAGER_EN, f"#{case['id']}")) > before, what="a new card")
    assert f.edits(STAFF, MANAGER_EN) == [] and f.edits(STAFF, MANAGER)  # tried, refused; MGR01's edited
    assert [t for t, _ in f.buttons(STAFF, MANAGER_EN)] and "Claim" not in dict(f.buttons(STAFF, MANAGER_EN))


async def test_oversized_and_foreign_files_are_refused_and_nothing_is_stored(tg: Env) -> None:
    f, be = tg.fake, tg.app.backend
    be.attachment_limits = Limits(max_bytes=1000)
    n = tg.sent(CLIENT, CUSTOMER)
    await f.send_photo(CLIENT, CUSTOMER, png(b"x" * 4000))
    said = await f.wait_for(CLIENT, CUSTOMER, "太大", after=n)
    assert "1 MB" in said
    assert "getFile" not in f.bots[CLIENT].calls  # the declared size was enough to refuse it
    n = tg.sent(CLIENT, CUSTOMER)
    await f.send_document(CLIENT, CUSTOMER, ZIP, "photos.zip", "application/zip")
    await f.wait_for(CLIENT, CUSTOMER, "只能保存", after=n)
    n = tg.sent(CLIENT, CUSTOMER)
    # declared as a JPEG, but the bytes are not one
    await f.send_document(CLIENT, CUSTOMER, b"MZ\x90\x00" + b"\x00" * 64, "photo.jpg", "image/jpeg", lang="en")
    await f.wait_for(CLIENT, CUSTOMER, "只能保存", after=n)  # the client's stored language, not the hint
    assert await asyncio.to_thread(attachment_rows, be) == 0
    n = tg.sent(CLIENT, CUSTOMER + 1)
    await f.send_document(CLIENT, CUSTOMER + 1, JPEG, "ok.jpg", "image/jpeg", lang="en")
    await f.wait_for(CLIENT, CUSTOMER + 1, "picture", after=n)  # kept, and the client is asked why
    assert await asyncio.to_thread(attachment_rows, be) == 1


async def test_scratched_wooden_floor_in_english_leaves_the_booking_untouched(tg: Env) -> None:
    f, be = tg.fake, tg.app.backend
    await managers(tg)
    await tg.bind("HKA", HK_A)
    await tg.client_says("/start", EN_CUSTOMER, "en")
    await f.wait_for(CLIENT, EN_CUSTOMER, "")
    cid = (await asyncio.to_thread(be.identify, "telegram", str(EN_CUSTOMER))).id
    await asyncio.to_thread(be.set_client, cid, phone="13812345678", address="朝阳区建国路88号3号楼501")
    start = be.now.astimezone(be.ctx.tz).replace(hour=10, minute=0) + timedelta(days=1)
    b = await asyncio.to_thread(be.book, cid, Request("cleaning", start, hours=3, address="朝阳区建国路88号3号楼501",
                                                      district="朝阳区"))
    await f.wait_for(STAFF, HK_A, f"#{b['id']}")
    await tg.tap(STAFF, HK_A, "接单")
    await f.wait_for(CLIENT, EN_CUSTOMER, "onfirmed")
    before = await asyncio.to_thread(be.booking, b["id"])
    assert before["status"] == "confirmed"

    case_id = await complain(tg, EN_CUSTOMER, "the cleaner scratched my wooden floor", "en", "A free redo")
    assert await asyncio.to_thread(be.booking, b["id"]) == before  # not cancelled, not moved
    n = tg.sent(CLIENT, EN_CUSTOMER)
    await f.send_photo(CLIENT, EN_CUSTOMER, PHOTO, lang="en")
    await f.wait_for(CLIENT, EN_CUSTOMER, f"#{case_id}", after=n)
    assert len(await asyncio.to_thread(be.attachments_of_case, case_id)) == 1
    card = await f.wait_for(STAFF, MANAGER_EN, f"#{case_id}")
    assert "13812345678" in card  # managers are authorised: the full phone
    assert await asyncio.to_thread(be.booking, b["id"]) == before


async def test_a_photo_sent_while_a_manager_holds_the_chat_is_uploaded_to_that_manager(tg: Env) -> None:
    f, be = tg.fake, tg.app.backend
    await managers(tg)
    await tg.client_says("/start", CUSTOMER)
    await f.wait_for(CLIENT, CUSTOMER, "")
    client = (await asyncio.to_thread(be.identify, "telegram", str(CUSTOMER))).id
    case = await asyncio.to_thread(be.open_case, "complaint", client, category="damage", text="花瓶碎了")
    mgr01 = await asyncio.to_thread(be.staff_by_code, "MGR01")
    await asyncio.to_thread(be.take_over, mgr01.id, case["id"])
    await f.send_photo(CLIENT, CUSTOMER, PHOTO)
    relayed = await f.wait_for(STAFF, MANAGER, "客户文件：1")
    assert f"客户 {client}" in relayed
    up = await until(lambda: f.uploads(STAFF, MANAGER), what="the photo upload")
    assert up[-1]["method"] == "sendPhoto" and up[-1]["data"] == PHOTO
    assert await asyncio.to_thread(attachment_rows, be) == 1  # kept (encrypted), not only passed on


# --- the dispatcher edits cards in place; unit level, on SQLite and PostgreSQL ----------------------
@pytest.fixture
def be(db_url: str, tmp_path: Path):
    backend = demo_backend(db_url, tmp_path)
    yield backend
    backend.db.dispose()


def card_row(be: Backend, manager_id: int, key: str, replaces: str | None) -> None:
    with be.db.uow() as s:
        outbox.notify(s, be.now, "manager", manager_id, "staff_stranger", key, subject="case:1")
        s.flush()
        s.scalar(select(Notification).where(Notification.key == key)).replaces_key = replaces


class Pushes:
    """A pusher that records what it was asked and answers like the staff bot."""

    def __init__(self, refuse_edit: bool = False) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.refuse_edit, self.next_id = refuse_edit, 100

    async def __call__(self, external_id: str, msg: dict[str, Any], edit_ref: str | None = None) -> str:
        self.calls.append((external_id, edit_ref))
        if edit_ref and not self.refuse_edit:
            return edit_ref
        self.next_id += 1
        return f"{external_id}:{self.next_id}"


async def test_a_card_replacing_a_delivered_one_is_an_edit_of_that_message(be: Backend) -> None:
    mgr = be.staff_by_code("MGR01").id
    be.bind("manager", mgr, "telegram_staff", "7001")
    push = Pushes()
    d = Dispatcher(be, Notifier(Domain.load(), be.catalogue, be.ctx.tz), {"telegram_staff": push})
    card_row(be, mgr, "case_alert:1:m1", None)
    assert await d.run_once() == 1
    card_row(be, mgr, "case_card:1:m1:a", "case_alert:1:m1")
    assert await d.run_once() == 1
    assert push.calls == [("7001", None), ("7001", "7001:101")]
    with be.db.read() as s:
        refs = dict(s.execute(select(Notification.key, Notification.platform_ref)).all())
    assert refs["case_card:1:m1:a"] == "7001:101"  # the edited message stays the one to edit next
    # the manager moved to another chat: the old message cannot be edited there, a new one goes out
    be.bind("manager", mgr, "telegram_staff", "7002")
    be.seen("telegram_staff", "7002")
    card_row(be, mgr, "case_card:1:m1:b", "case_card:1:m1:a")
    assert await d.run_once() == 1
    assert push.calls[-1] == ("7002", None)


async def test_a_refused_edit_falls_back_to_a_new_message(be: Backend) -> None:
    mgr = be.staff_by_code("MGR01").id
    be.bind("manager", mgr, "telegram_staff", "7001")
    push = Pushes(refuse_edit=True)
    d = Dispatcher(be, Notifier(Domain.load(), be.catalogue, be.ctx.tz), {"telegram_staff": push})
    card_row(be, mgr, "a", None)
    await d.run_once()
    card_row(be, mgr, "b", "a")
    card_row(be, mgr, "never-sent-replacement", "not-a-delivered-row")
    await d.run_once()
    await d.run_once()
    assert push.calls == [("7001", None), ("7001", "7001:101"), ("7001", None)]
    with be.db.read() as s:
        refs = dict(s.execute(select(Notification.key, Notification.platform_ref)).all())
    assert refs["b"] == "7001:102"  # the new message is the one a later card edits


def test_limits_come_from_the_settings(tmp_path: Path) -> None:
    from tests.conftest import make_app

    app = make_app(tmp_path, roster=False)
    try:
        assert app.backend.attachment_limits == Limits(10 * 1024 * 1024, (
            "image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf", "video/mp4"))
    finally:
        app.backend.db.dispose()
