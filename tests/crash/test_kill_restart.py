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
from typing import Any

import pytest
from aiohttp import ClientError, ClientSession, ClientTimeout

from config.settings import ROOT
from dialogs.tracker_store import TrackerStore
from tests.crash.conftest import API_KEY, Scenario, base_env
from tests.crash.harness import (
    CLIENT_TOKEN,
    STAFF_TOKEN,
    Clock,
    free_port,
    frontdesk_cmd,
    text,
)
from tests.crash.helpers import (
    CLIENT_CHAT,
    HK_CHAT,
    audit,
    bind_on_telegram,
    book,
    offers_of,
    pending_offer,
    processed,
    sent_to,
    user_turns,
)

pytestmark = pytest.mark.crash


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
