"""kill -9 on the WeChat Official Account channel: a message WeChat was told ``success`` about, and one whose
passive reply was lost with the process, are still answered after restart, once (the method:
tests/crash/test_kill_restart.py; the channel: bot/wechat/oa.py).

WeChat retries a callback only while it has no answer (5 s, three times); after ``success`` it never
sends the message again, so from then on the durable inbox is all there is. A held message is left to
the channel for ``reply_budget_seconds`` + a margin on the (test) clock; after a crash the inbox worker
runs it once that hold is over, and its replies go out as customer-service messages.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import ClientError

from tests.crash.conftest import WeChatScenario
from tests.crash.harness import wait_until
from tests.crash.helpers import BOOKING_STEPS, bookings_of, client_of, processed, user_turns
from tests.fake_wechat import FakeWeChatUser, Reply

pytestmark = pytest.mark.crash

CHANNEL = "wechat"
TINY_BUDGET = "0.001"  # far below any turn's time to its commit: the request always answers ``success`` first
ROOMY_BUDGET = {"FRONTDESK_WECHAT__REPLY_BUDGET_SECONDS": "4.0"}  # even a loaded machine's turns make it
PASSIVE_TAKEN = "wechat_passive_taken"  # OAChannel._wait: after inbox_take_replies, before the response


async def send(user: FakeWeChatUser, text: str, msg_id: int | None = None) -> Reply | None:
    """One callback; None when the server died before answering (WeChat would retry the same request)."""
    try:
        return await user.text(text, msg_id)
    except (ClientError, ConnectionError):
        return None


async def resend(user: FakeWeChatUser) -> Reply | None:
    try:
        return await user.resend_last()
    except (ClientError, ConnectionError):
        return None


def inbox_row(w: WeChatScenario, openid: str, message_id: str) -> str | None:
    return w.sc.scalar("SELECT status FROM inbox WHERE channel = :c AND sender_id = :s "
                       "AND message_id = :m", c=CHANNEL, s=openid, m=message_id)


def sent_with(w: WeChatScenario, openid: str, needle: str) -> list[str]:
    return [t for t in w.wx.texts(openid) if needle in t]


async def answered(w: WeChatScenario, user: FakeWeChatUser, text: str, expect: str) -> str:
    """One step of a conversation: the passive reply, or (a slow turn on a busy machine) the
    customer-service message that follows ``success``."""
    before = len(w.wx.texts(user.openid))
    reply = await user.text(text)
    got = reply.text or await w.wx.wait_for(user.openid, expect, timeout=30, after=before)
    assert expect in got, (text, got)
    return got


async def test_killed_after_success_before_the_turn_committed_runs_once_after_restart(
        wechat_scenario: WeChatScenario) -> None:
    w, openid = wechat_scenario, "oCrashSuccess000000000000001"
    sc, user = w.sc, w.user(openid)
    await sc.server.start(crash_at="mid_turn", extra={"FRONTDESK_WECHAT__REPLY_BUDGET_SECONDS": TINY_BUDGET})
    mid = str(number := user.next_msg_id())
    first = await send(user, BOOKING_STEPS[0][0], number)
    assert first is not None, "the server died before it answered: the turn beat the reply budget"
    assert first.status == 200 and first.body == "success", first  # WeChat will never send it again
    await sc.server.crashed("mid_turn")
    assert processed(sc, CHANNEL, openid, mid) == 0, "a turn that died marked its message id processed"
    assert inbox_row(w, openid, mid) == "pending", "the message acknowledged with success is not in the inbox"
    assert w.wx.to(openid) == []

    await sc.server.start()
    # A stray retry (WeChat sends none after success) neither runs the message a second time nor loses it.
    stray = await resend(user)
    assert stray is not None and stray.status == 200, stray
    sc.clock.advance(seconds=10)  # past the hold (budget + margin): the inbox worker takes the message
    await wait_until(lambda: processed(sc, CHANNEL, openid, mid), "the held message to be processed", timeout=30)
    sc.clock.advance(seconds=10)  # past the hold of its replies, which nobody is waiting for any more
    if not (stray.text and "几个小时" in stray.text):
        await w.wx.wait_for(openid, "几个小时", timeout=30)  # a customer-service message
    late = await resend(user)  # the platform delivers it once more after all: still not run again
    assert late is not None and late.status == 200, late
    await asyncio.sleep(1.5)  # a few inbox and dispatcher passes: a second run or send would show by now
    assert processed(sc, CHANNEL, openid, mid) == 1
    assert user_turns(sc, f"{CHANNEL}:{openid}", mid) == 1
    assert inbox_row(w, openid, mid) == "done"
    heard = len(sent_with(w, openid, "几个小时")) + sum(
        1 for r in (stray, late) if r.text and "几个小时" in r.text)
    assert heard == 1, f"the client heard the answer {heard} times: {w.wx.texts(openid)}"
    nxt = await answered(w, user, BOOKING_STEPS[1][0], BOOKING_STEPS[1][1])  # the form moved one step, not two
    assert "几个小时" not in nxt, nxt


async def test_killed_after_the_booking_committed_the_retry_gets_the_passive_reply(
        wechat_scenario: WeChatScenario) -> None:
    """The turn committed (booking and held replies) but the process died before the passive reply was
    taken: WeChat's retry of the same MsgId after restart gets that reply, and nothing is booked or sent
    twice."""
    w, openid = wechat_scenario, "oCrashBooking000000000000001"
    sc, user = w.sc, w.user(openid)
    await sc.server.start(crash_at="after_booking_commit", extra=ROOMY_BUDGET)
    for text, expect in BOOKING_STEPS:
        summary = await answered(w, user, text, expect)
    assert "1. 确认" in summary, summary
    mid = str(number := user.next_msg_id())
    assert await send(user, "1", number) is None  # the digit picks 确认; the server dies before it answers
    await sc.server.crashed("after_booking_commit")
    client = client_of(sc, CHANNEL, openid)
    [booking_id] = bookings_of(sc, client)
    assert processed(sc, CHANNEL, openid, mid) == 1

    await sc.server.start()
    before = len(w.wx.texts(openid))
    retry = await resend(user)  # WeChat had no answer: it retries the same request
    assert retry is not None and retry.status == 200, retry
    if retry.text is None:  # too late for a passive reply: then it comes as a customer-service message
        sc.clock.advance(seconds=10)
        await w.wx.wait_for(openid, f"#{booking_id}", timeout=30, after=before)
    else:
        assert f"#{booking_id}" in retry.text and "正在为您安排阿姨" in retry.text, retry.text
    again = await resend(user)  # one more retry: the same passive reply, or success; never a second run
    assert again is not None and again.status == 200 and (again.text is None or again.text == retry.text)
    sc.clock.advance(seconds=10)  # any held reply still pending would go out now
    await asyncio.sleep(1.5)
    heard = len([t for t in w.wx.texts(openid)[before:] if f"#{booking_id}" in t]) + (1 if retry.text else 0)
    assert heard == 1, f"the confirmation reached the client {heard} times: {w.wx.texts(openid)}"
    assert bookings_of(sc, client) == [booking_id]
    assert processed(sc, CHANNEL, openid, mid) == 1
    assert user_turns(sc, f"{CHANNEL}:{openid}", mid) == 1


async def test_killed_after_the_passive_reply_was_taken_the_retry_gets_it_again(
        wechat_scenario: WeChatScenario) -> None:
    """The replies were marked delivered "passive" but the process died before writing the response:
    WeChat's retry after restart gets the same passive reply; no customer-service copy, no second run."""
    w, openid = wechat_scenario, "oCrashPassive000000000000001"
    sc, user = w.sc, w.user(openid)
    await sc.server.start(crash_at=PASSIVE_TAKEN, extra=ROOMY_BUDGET)
    mid = str(number := user.next_msg_id())
    assert await send(user, BOOKING_STEPS[0][0], number) is None
    await sc.server.crashed(PASSIVE_TAKEN)
    assert processed(sc, CHANNEL, openid, mid) == 1

    await sc.server.start()
    retry = await resend(user)
    assert retry is not None and retry.text and "几个小时" in retry.text, retry
    sc.clock.advance(seconds=10)
    await asyncio.sleep(1.5)
    assert sent_with(w, openid, "几个小时") == [], "the passive reply was sent again as a customer-service message"
    assert processed(sc, CHANNEL, openid, mid) == 1
    assert user_turns(sc, f"{CHANNEL}:{openid}", mid) == 1
