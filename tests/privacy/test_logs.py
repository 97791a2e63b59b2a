"""Logs never hold secrets or personal data: a whole Telegram flow (real python-telegram-bot and aiogram
against the fake Bot API) logged at DEBUG by every library, plus an exception whose text carries a
bot URL, leave no bot token, webhook secret, staff token, phone number, address or client text."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logscrub
from tests.telegram.conftest import CLIENT, CUSTOMER, HK_A, SECRET, STAFF, start_env
from tests.telegram.test_telegram import book_via_telegram

ADDRESS, PHONE = "朝阳区建国路88号3号楼501", "13812345678"
REAL_LOOKING = "7412369850:AAHk9x_Qz3LmNoPqRsTuVwXyZ0123456789"  # the shape BotFather issues


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []
        self.names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.names.add(record.name)


@pytest.fixture
def captured() -> Iterator[Capture]:
    root, handler = logging.getLogger(), Capture()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    noisy = {n: logging.getLogger(n).level for n in ("httpx", "httpcore", "telegram", "aiogram", "aiohttp")}
    for n in noisy:
        logging.getLogger(n).setLevel(logging.DEBUG)
    logscrub.install([CLIENT, STAFF, SECRET])  # what setup_logging gives from the settings
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)
    for n, level in noisy.items():
        logging.getLogger(n).setLevel(level)


async def test_a_telegram_flow_at_debug_leaks_nothing(tmp_path: Path, trained_model: Path,
                                                      captured: Capture) -> None:
    tg = await start_env(tmp_path, trained_model)
    try:
        assert {CLIENT, STAFF, SECRET} <= set(logscrub.known_secrets(tg.app.settings))
        await tg.bind("HKA", HK_A)
        await book_via_telegram(tg)
        await tg.fake.wait_for(STAFF, HK_A, "新订单 #")
        await tg.tap(STAFF, HK_A, "接单")
        await tg.fake.wait_for(STAFF, HK_A, ADDRESS)  # the job card with the address went out
        await tg.client_says("阿姨把我家青花瓷花瓶打碎了", CUSTOMER)
        await tg.fake.wait_for(CLIENT, CUSTOMER, "哪一次预约")  # the complaint form's first question
        try:
            raise RuntimeError(f"POST {tg.fake.base}/bot{CLIENT}/sendMessage "
                               f"chat_id={CUSTOMER} phone {PHONE}")
        except RuntimeError:
            logging.getLogger("bot.workers").exception("send failed for telegram:%s", CUSTOMER)
    finally:
        await tg.server.close()
        await tg.fake.stop()
        tg.app.backend.db.dispose()
    log = "\n".join(captured.lines)
    assert len(captured.lines) > 20 and any(n.startswith(("httpx", "aiohttp", "aiogram", "telegram"))
                                            for n in captured.names)  # the libraries really logged
    assert "/bot<redacted>/" in log  # their request lines, scrubbed
    assert "Traceback" in log and "RuntimeError" in log  # the exception is kept, scrubbed
    for leak in (CLIENT, STAFF, "CLIENT-TOKEN", "STAFF-TOKEN", SECRET, PHONE, "138 1234 5678", ADDRESS,
                 "建国路88号", "青花瓷花瓶", f"telegram:{CUSTOMER}", "fds_"):
        assert leak not in log, leak


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
def test_every_secret_shape_is_scrubbed_at_every_level(level: int, captured: Capture) -> None:
    log = logging.getLogger("bot.some_module")
    samples = [
        f"HTTP Request: POST https://api.telegram.org/bot{REAL_LOOKING}/getUpdates \"HTTP/1.1 200 OK\"",
        "GET https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=ACCESS_abc123XYZ&x=1",
        "headers: {'Authorization': 'Bearer fds_Zx81kq-secretstaff', 'X-Api-Key': 'k3y-v4lue-long'}",
        "Authorization: Basic dXNlcjpwYXNz",
        "issued fds_AbCdEf0123456789_-xyz for someone",
        "session v1.d2ViLWFiYw.1799999999.Q2hlY2tTaWduYXR1cmVWYWx1ZTE2 renewed",
        "stream /webhooks/rest/stream?token=s1.d2Vi.1799999999.U2lnbmF0dXJlU2lnbmF0dXJl",
        "cipher gAAAAABnTHISisAFernetTokenWithEnoughLength_0123456789abcdef==",
        "call me on 13912345678 or +86 139-1234-5678",
        "turn failed for telegram:123456789 and wechat:oAbC_dEfGh",
        "sendMessage {'chat_id': 987654321, 'text': '…'} FromUserName=oWx_openid_42",
    ]
    for s in samples:
        log.log(level, s)
    try:
        raise ValueError(f"bad token {REAL_LOOKING} for 13912345678")
    except ValueError:
        log.log(level, "boom", exc_info=True)
    out = "\n".join(captured.lines)
    for leak in (REAL_LOOKING, "ACCESS_abc123XYZ", "fds_Zx81kq", "k3y-v4lue-long", "dXNlcjpwYXNz", "fds_AbCdEf",
                 "Q2hlY2tTaWduYXR1cmVWYWx1ZTE2", "U2lnbmF0dXJlU2lnbmF0dXJl", "gAAAAABnTHIS", "13912345678",
                 "139-1234-5678", "123456789", "oAbC_dEfGh",
                 "987654321", "oWx_openid_42"):
        assert leak not in out, leak
    assert "ValueError" in out and "<bot-token>" in out and "<phone>" in out


def test_setup_logging_installs_the_filter() -> None:
    from bot.cli import setup_logging

    root = logging.getLogger()
    handlers = list(root.handlers)
    levels = {n: logging.getLogger(n).level for n in ("httpx", "httpcore")}
    try:
        setup_logging()
        assert root.handlers and all(any(isinstance(f, logscrub.ScrubFilter) for f in h.filters)
                                     for h in root.handlers)
        assert logging.getLogger("httpx").level == logging.WARNING
    finally:
        for h in root.handlers:
            for f in [f for f in h.filters if isinstance(f, logscrub.ScrubFilter)]:
                h.removeFilter(f)
        for h in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(h)
        for n, level in levels.items():
            logging.getLogger(n).setLevel(level)
