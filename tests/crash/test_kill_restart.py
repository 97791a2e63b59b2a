"""kill -9 at each dangerous point, restart, and check that nothing was lost, doubled or reordered.

Each test drives a real `frontdesk serve` subprocess over REST (as a trusted back end with the API
key) and over the fake Telegram server, arms one named crash point (FRONTDESK_TEST_HOOKS__CRASH_AT),
waits for the process to SIGKILL itself there, restarts it without the crash point and checks what the
users saw and the rows in storage. Time is the shared clock file; the outbox lease is 1 s.
Reference time: Wednesday 2026-11-18 10:30 Asia/Shanghai.
"""

from __future__ import annotations

import asyncio
import re
import signal
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientError, ClientSession, ClientTimeout
from sqlalchemy import select

from backend.orm import AuditLog, Booking, Identity, MatchCandidate, Notification, Offer, Timer
from config.settings import ROOT
from dialogs.tracker_store import TrackerStore
from tests.crash.conftest import API_KEY, Scenario, base_env
from tests.crash.harness import (
    CLIENT_TOKEN,
    STAFF_TOKEN,
    Clock,
    booking_number,
    buttons,
    free_port,
    frontdesk_cmd,
    run_cli,
    text,
    wait_until,
)

pytestmark = pytest.mark.crash

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
async def test_mid_turn_crash_leaves_the_message_unconsumed_and_the_retry_runs_once(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start(crash_at="mid_turn")
    assert await sc.rest.try_say("c-a", "我想约明天上午10点的保洁", "a-1") is None  # the client sees the failure
    await sc.server.crashed("mid_turn")
    assert processed(sc, "rest", "c-a", "a-1") == 0, "a turn that died marked its message id processed"
    assert user_turns(sc, "rest:c-a", "a-1") == 0

    await sc.server.start()
    first = await sc.rest.say("c-a", "我想约明天上午10点的保洁", "a-1")  # the platform's retry: same id
    assert "几个小时" in text(first), text(first)
    again = await sc.rest.say("c-a", "我想约明天上午10点的保洁", "a-1")  # delivered once more
    assert again in ([], first), f"a duplicate delivery was processed again: {again}"
    assert processed(sc, "rest", "c-a", "a-1") == 1
    assert user_turns(sc, "rest:c-a", "a-1") == 1
    assert "地址" in text(await sc.rest.say("c-a", "3个小时", "a-2"))  # the form moved one step, not two


async def test_mid_turn_crash_on_telegram_loses_no_update(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start(crash_at="mid_turn")
    update = await sc.fake.send_text(CLIENT_TOKEN, CLIENT_CHAT, "约个保洁")
    await sc.server.crashed("mid_turn")
    assert sent_to(sc, CLIENT_TOKEN, CLIENT_CHAT, "什么时间") == []
    # Telegram forgets an update once getUpdates is called with a later offset: a bot that confirms
    # it before the turn has committed (or been written to the durable inbox) loses it in a crash.
    assert update["update_id"] in [u["update_id"] for u in sc.fake.bots[CLIENT_TOKEN].updates], (
        "the client bot confirmed the update to Telegram (getUpdates offset) before its turn committed")

    await sc.server.start()
    await sc.fake.wait_for(CLIENT_TOKEN, CLIENT_CHAT, "什么时间", timeout=30)
    await asyncio.sleep(1.5)  # a polling round and more: a second copy would have arrived by now
    assert len(sent_to(sc, CLIENT_TOKEN, CLIENT_CHAT, "什么时间")) == 1, sc.fake.texts(CLIENT_TOKEN, CLIENT_CHAT)
    assert len([e for e in TrackerStore(sc.backend.db.engine).load(f"telegram:{CLIENT_CHAT}")["events"]
                if e.get("event") == "user"]) == 1


async def test_mid_turn_crash_on_the_staff_bot_loses_no_tap(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start()
    booking_id = await book(sc, "c-t", "t")
    offer = pending_offer(sc, booking_id)
    await bind_on_telegram(sc, offer["housekeeper_id"], HK_CHAT)
    await sc.fake.wait_for(STAFF_TOKEN, HK_CHAT, f"新订单 #{booking_id}", timeout=30)
    await sc.server.restart(crash_at="mid_turn")
    update = await sc.fake.tap(STAFF_TOKEN, HK_CHAT, dict(sc.fake.buttons(STAFF_TOKEN, HK_CHAT))["接单"])
    await sc.server.crashed("mid_turn")
    assert sc.backend.booking(booking_id)["status"] == "offered"
    assert update["update_id"] in [u["update_id"] for u in sc.fake.bots[STAFF_TOKEN].updates], (
        "the staff bot confirmed the update to Telegram (getUpdates offset) before its turn committed")

    await sc.server.start()
    await sc.fake.wait_for(STAFF_TOKEN, HK_CHAT, "接单成功", timeout=30)
    await asyncio.sleep(1.5)
    assert len(sent_to(sc, STAFF_TOKEN, HK_CHAT, "接单成功")) == 1, sc.fake.texts(STAFF_TOKEN, HK_CHAT)
    assert sc.backend.booking(booking_id)["status"] == "confirmed"
    assert [o["status"] for o in offers_of(sc, booking_id)] == ["accepted"]
    assert audit(sc, "offer", offer["id"], "accepted") == 1


# --- b. after the booking committed ----------------------------------------------------------------
async def test_crash_after_booking_commit_keeps_one_booking_and_confirms_it(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start(crash_at="after_booking_commit")
    confirm = confirm_payload(await until_summary(sc, "c-b", "b"))
    assert await sc.rest.try_say("c-b", confirm, "b-confirm") is None
    await sc.server.crashed("after_booking_commit")
    client = client_of(sc, "rest", "c-b")
    assert len(bookings_of(sc, client)) == 1, "the booking's transaction had committed before the crash"

    await sc.server.start()
    retry = await sc.rest.say("c-b", confirm, "b-confirm")  # the platform retries the same message
    tap = await sc.rest.say("c-b", confirm, "b-confirm-again")  # the client presses 确认 again
    [booking_id] = bookings_of(sc, client)
    assert f"#{booking_id}" in text(tap), f"a second 确认 does not return the existing booking: {text(tap)!r}"
    assert retry == [] or f"#{booking_id}" in text(retry), text(retry)
    assert bookings_of(sc, client) == [booking_id]
    assert len(offers_of(sc, booking_id)) == 1
    assert audit(sc, "booking", booking_id, "requested") == 1
    with sc.backend.db.uow() as s:
        ranked = list(s.scalars(select(MatchCandidate.housekeeper_id).where(MatchCandidate.booking_id == booking_id)))
    assert len(ranked) == len(set(ranked)), "candidates ranked twice"
    rows = of_booking(notifications(sc), booking_id)
    templates = [r["template"] for r in rows]
    assert templates.count("offer_new") == 1 and len(templates) == len(set(templates)), templates
    assert processed(sc, "rest", "c-b", "b-confirm") == 1


# --- c. during an outbox send ----------------------------------------------------------------------
async def test_crash_during_outbox_send_resends_at_most_once_and_keeps_her_order(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start(crash_at="outbox_send")
    booking_id = await book(sc, "c-c", "c")  # a REST client: her messages are pulled, never pushed
    offer = pending_offer(sc, booking_id)
    await bind_on_telegram(sc, offer["housekeeper_id"], HK_CHAT)  # now her offer card can be pushed
    await sc.server.crashed("outbox_send")
    card_text = f"新订单 #{booking_id}"
    assert len(sent_to(sc, STAFF_TOKEN, HK_CHAT, card_text)) == 1  # it reached Telegram …
    [card] = notifications(sc, key=f"offer:{offer['id']}")
    assert card["status"] != "delivered"  # … but the crash came before it was recorded

    # While the server is down, a manager's note about the same booking is queued behind the card.
    with sc.backend.db.uow() as s:
        now = sc.backend.now
        s.add(Notification(key=f"note:{booking_id}", person_kind="housekeeper", person_id=offer["housekeeper_id"],
                           template="manager_message", params={"manager": "周经理", "text": "请尽快回复"},
                           subject=card["subject"], created_at=now, next_attempt_at=now))

    await sc.server.start()
    sc.clock.advance(seconds=5)  # past the 1 s lease, on whichever clock the lease is counted

    def both_delivered() -> bool:
        return all(n["status"] == "delivered" for n in notifications(sc, person_kind="housekeeper",
                                                                      person_id=offer["housekeeper_id"]))

    await wait_until(both_delivered, "the card and the note to be delivered", timeout=30)
    await asyncio.sleep(1.5)  # a few dispatcher passes: nothing more may go out
    cards = sent_to(sc, STAFF_TOKEN, HK_CHAT, card_text)
    notes = sent_to(sc, STAFF_TOKEN, HK_CHAT, "请尽快回复")
    assert 1 <= len(cards) <= 2, sc.fake.texts(STAFF_TOKEN, HK_CHAT)
    assert len(notes) == 1 and max(cards) < notes[0], f"out of order: {sc.fake.texts(STAFF_TOKEN, HK_CHAT)}"
    [card] = notifications(sc, key=f"offer:{offer['id']}")
    assert card["status"] == "delivered"


async def test_a_card_gone_stale_during_the_crash_is_not_sent_again(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start(crash_at="outbox_send")
    booking_id = await book(sc, "c-s", "s")
    offer = pending_offer(sc, booking_id)
    await bind_on_telegram(sc, offer["housekeeper_id"], HK_CHAT)
    await sc.server.crashed("outbox_send")
    await sc.server.start()  # the clock has not moved: the card is still leased to the dead dispatcher
    assert "确认取消" in text(await sc.rest.say("c-s", "取消预约", "s-cancel"))  # asked first, always
    assert "已取消" in text(await sc.rest.say("c-s", "确认", "s-cancel-yes"))
    sc.clock.advance(seconds=5)  # the lease runs out: the card comes back, for a booking that is gone

    def settled() -> bool:
        return notifications(sc, key=f"offer:{offer['id']}")[0]["status"] != "pending"

    await wait_until(settled, "the leased card to be settled after the lease", timeout=30)
    await asyncio.sleep(1.5)
    assert len(sent_to(sc, STAFF_TOKEN, HK_CHAT, f"新订单 #{booking_id}")) == 1, sc.fake.texts(STAFF_TOKEN, HK_CHAT)
    assert notifications(sc, key=f"offer:{offer['id']}")[0]["status"] == "stale"


# --- d. during a timer run -------------------------------------------------------------------------
def due_timers(sc: Scenario, minutes: float = 0) -> list[str]:
    """Keys of the timers that are due now, or will be in ``minutes``."""
    with sc.backend.db.uow() as s:
        return list(s.scalars(select(Timer.key).where(
            Timer.status.in_(("pending", "running")),
            Timer.due_at <= sc.backend.now + timedelta(minutes=minutes))))


async def test_crash_during_a_timer_run_rolls_it_back_and_it_fires_again_once(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start(crash_at="timer_run")  # nothing is due yet: booking goes on normally
    booking_id = await book(sc, "c-d", "d")
    first = pending_offer(sc, booking_id)
    # The armed run must crash in this offer's expiry and nowhere else.
    assert due_timers(sc, minutes=11) == [f"offer_expiry:{first['id']}"], due_timers(sc, minutes=11)
    sc.clock.advance(minutes=11)  # past the 10-minute offer time-out
    await sc.server.crashed("timer_run")
    assert offers_of(sc, booking_id) == [first], "the expiry's transaction was not rolled back"
    assert (timer(sc, f"offer_expiry:{first['id']}") or {}).get("status") == "pending"
    assert notifications(sc, key=f"offer:{first['id']}:expired") == []

    await sc.server.start()

    def moved_on() -> bool:
        return len(offers_of(sc, booking_id)) >= 2

    await wait_until(moved_on, "the expired offer to go to the next housekeeper", timeout=30)
    await asyncio.sleep(2.0)  # two more timer passes: nothing may fire twice
    offers = offers_of(sc, booking_id)
    assert [o["status"] for o in offers] == ["expired", "pending"], offers
    assert offers[1]["housekeeper_id"] != first["housekeeper_id"]
    assert audit(sc, "offer", first["id"], "expired") == 1
    assert len(notifications(sc, key=f"offer:{first['id']}:expired")) == 1
    assert (timer(sc, f"offer_expiry:{first['id']}") or {}).get("status") == "done"
    assert (timer(sc, f"offer_expiry:{offers[1]['id']}") or {}).get("status") == "pending"


# --- e. nothing lost while the server is down ----------------------------------------------------
def staff_token_from(output: str) -> str:
    m = re.search(r"fds_[A-Za-z0-9_\-]+", output)
    assert m, f"`frontdesk staff token --rotate` printed no fds_ token:\n{output}"
    return m.group(0)


async def test_rest_messages_and_long_poll_survive_kills(scenario: Scenario) -> None:
    sc = scenario
    await sc.server.start()
    booking_id = await book(sc, "c-e", "e")
    offer = pending_offer(sc, booking_id)
    code = staff_code(sc, offer["housekeeper_id"])
    token = staff_token_from(await run_cli(sc.env, "staff", "token", code, "--rotate"))

    # The housekeeper reads her card by long-poll and accepts it: the client's confirmation is queued.
    card = await sc.rest.poll(code, staff_token=token)
    accept = [b["payload"] for b in buttons(card) if b["title"] == "接单"]
    assert accept, card
    assert "接单成功" in text(await sc.rest.say(code, accept[0], "hk-e-1", staff_token=token))
    got = await sc.rest.poll("c-e", wait=5)
    assert f"预约 #{booking_id} 已确认" in text(got) and all("id" in m for m in got), got
    confirmed_id = got[0]["id"]

    # kill -9 before the client acknowledged it; messages sent meanwhile fail to connect.
    sc.server.kill()
    down = {"e-down-1": "我的预约", "e-down-2": "保洁多少钱一小时"}
    for mid, message in down.items():
        assert await sc.rest.try_say("c-e", message, mid) is None
    await sc.server.start()
    replies = {mid: await sc.rest.say("c-e", message, mid) for mid, message in down.items()}
    assert f"#{booking_id}" in text(replies["e-down-1"]) and "50元" in text(replies["e-down-2"]), replies
    for mid, message in down.items():  # retried once more: dropped, not answered twice
        assert await sc.rest.say("c-e", message, mid) in ([], replies[mid])
        assert processed(sc, "rest", "c-e", mid) == 1 and user_turns(sc, "rest:c-e", mid) == 1

    # Not acknowledged, so it comes again; acknowledged, it never comes back.
    again = await sc.rest.poll("c-e")
    assert [m["id"] for m in again] == [confirmed_id], again
    assert await sc.rest.poll("c-e", ack=[confirmed_id]) == []

    # A kill while a long-poll waits: the poll fails, the client polls again after the restart.
    waiting = asyncio.create_task(sc.rest.poll("c-e", wait=20))
    await asyncio.sleep(1.0)
    assert not waiting.done(), waiting.result()
    sc.server.kill()
    with pytest.raises((ClientError, ConnectionError)):
        await waiting
    await sc.server.start()
    await sc.rest.say(code, f'/arrived{{"booking_id": {booking_id}}}', "hk-e-2", staff_token=token)
    started = await sc.rest.poll("c-e", wait=10)
    assert "开始服务" in text(started), started
    await sc.rest.say(code, f'/finished{{"booking_id": {booking_id}}}', "hk-e-3", staff_token=token)
    seen: list[dict[str, Any]] = []
    ack: list[int] = []
    for _ in range(10):  # bounded: poll, acknowledging what the previous poll returned
        batch = await sc.rest.poll("c-e", wait=1, ack=ack)
        assert not {m["id"] for m in batch} & set(ack), "an acknowledged message came back"
        seen += batch
        ack = [m["id"] for m in batch]
        if not batch and len(seen) >= 2:
            break
    assert [m["id"] for m in seen][:1] == [started[0]["id"]], seen  # the unacknowledged one first, once
    assert len(seen) == 2 and "已完成服务" in seen[1]["text"], seen  # then the next, in order
    assert await sc.rest.poll("c-e") == []
    client = client_of(sc, "rest", "c-e")
    assert all(n["status"] == "delivered" for n in notifications(sc, person_kind="client", person_id=client))


# --- f. production refuses the hooks -----------------------------------------------------------------
async def test_serve_refuses_test_hooks_in_production(tmp_path: Any, trained_model: Any) -> None:
    env = base_env(tmp_path, trained_model, None)
    Clock(tmp_path / "clock")
    env.update({"FRONTDESK_ENVIRONMENT": "production", "FRONTDESK_TEST_HOOKS__CRASH_AT": "mid_turn"})
    port = free_port()
    proc = await asyncio.create_subprocess_exec(*frontdesk_cmd(), "serve", "--host", "127.0.0.1", "--port",
                                                str(port), cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        raise AssertionError("frontdesk serve started in production with test hooks enabled") from None
    message = out.decode(errors="replace")
    assert proc.returncode != 0, message
    assert "production" in message and re.search(r"test[_ ]hooks", message, re.I), message
    assert "Traceback" not in message, f"a refusal should be one clear line, not a traceback:\n{message}"
    async with ClientSession(timeout=ClientTimeout(total=2)) as http:
        with pytest.raises(ClientError):
            await http.get(f"http://127.0.0.1:{port}/health", headers={"X-Api-Key": API_KEY})
