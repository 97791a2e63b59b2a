"""`frontdesk wechat menu push` in-process (typer's CliRunner) against the fake WeChat API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tests.fake_wechat import APP_ID, APP_SECRET, FakeWeChat


@pytest.fixture
def fake_api() -> Iterator[FakeWeChat]:
    """The fake platform on its own loop in a thread: the command runs its own asyncio.run."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeWeChat()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    yield fake
    asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_menu_push_sends_the_configured_menu_and_reports_a_refusal(fake_api: FakeWeChat,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app, wechat  # noqa: F401  (registers the command group)

    monkeypatch.setenv("FRONTDESK_WECHAT__APP_ID", APP_ID)
    monkeypatch.setenv("FRONTDESK_WECHAT__APP_SECRET", APP_SECRET)
    monkeypatch.setenv("FRONTDESK_WECHAT__API_BASE", fake_api.base)
    runner = CliRunner()
    done = runner.invoke(app, ["wechat", "menu", "push"])
    assert done.exit_code == 0, done.output
    assert "menu pushed: 3 buttons" in done.output
    pushed = fake_api.menus[-1]
    assert [b["name"] for b in pushed["button"]] == ["预约", "我的预约", "服务"]
    assert "keys" not in pushed  # our click → intent map stays with us
    fake_api.fail_next("menu", 40018)  # e.g. an invalid button name
    refused = runner.invoke(app, ["wechat", "menu", "push"])
    assert refused.exit_code == 1 and "40018" in refused.output
    monkeypatch.delenv("FRONTDESK_WECHAT__APP_SECRET")
    unset = runner.invoke(app, ["wechat", "menu", "push"])
    assert unset.exit_code == 1 and "APP_SECRET" in unset.output
