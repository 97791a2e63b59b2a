"""Staff over the real REST channel: Bearer tokens, rotation, suspension and deactivation."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from backend.orm import Client
from tests.conftest import TEST_KEY
from tests.e2e.conftest import Chat, text


async def post(chat: Chat, token: str, sender: str, message: str) -> tuple[int, Any]:
    async with chat.http.post(f"{chat.base}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                              headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json(content_type=None)


def clients(chat: Chat) -> int:
    with chat.app.backend.db.uow() as s:
        return s.scalar(select(func.count()).select_from(Client))


async def test_a_staff_token_speaks_as_its_owner_and_rotation_revokes_the_old(chat: Chat) -> None:
    old = chat.token("HK001")
    status, body = await post(chat, old, "staff:HK001", "/help")
    assert status == 200 and "/today" in text(body)
    new = await asyncio.to_thread(chat.app.backend.issue_staff_token, "HK001", True)
    status, _ = await post(chat, old, "staff:HK001", "/help")
    assert status == 401
    status, body = await post(chat, new, "staff:HK001", "/today")
    assert status == 200 and body[0]["recipient_id"] == "staff:HK001"
    status, _ = await post(chat, new, "staff:HK002", "/today")  # her token is not someone else's
    assert status in (401, 403)


async def test_a_suspended_housekeeper_is_told_why_she_gets_no_offers(chat: Chat) -> None:
    await asyncio.to_thread(chat.app.backend.suspend_staff, "HK003", "expired_certificate")
    status, body = await post(chat, chat.token("HK003"), "staff:HK003", "/offers")
    assert status == 200 and "暂停接收新订单" in text(body) and "证书已过期" in text(body)
    await asyncio.to_thread(chat.app.backend.reinstate_staff, "HK003")
    status, body = await post(chat, chat.token("HK003"), "staff:HK003", "/offers")
    assert status == 200 and "暂停" not in text(body)


async def test_a_deactivated_person_is_refused_and_nothing_is_processed(chat: Chat) -> None:
    assert (await post(chat, chat.token("HK004"), "staff:HK004", "/today"))[0] == 200
    before = await asyncio.to_thread(clients, chat)
    await asyncio.to_thread(chat.app.backend.deactivate_staff, "HK004")
    status, body = await post(chat, chat.token("HK004"), "staff:HK004", "/today")
    assert status == 401 and "Traceback" not in str(body)
    assert await asyncio.to_thread(clients, chat) == before  # the staff sender did not become a client
    assert await asyncio.to_thread(chat.app.backend.identify, "rest", "staff:HK004") is None  # nor anyone


async def test_staff_errors_are_stable_texts_never_exception_text(chat: Chat) -> None:
    token = chat.token("HK005")
    for payload in ('/accept_offer{"offer_id": "abc"}', '/accept_offer{"offer_id": 1e999}', "/accept_offer{}",
                    '/finished{"booking_id": 424242}', '/decline_offer{"offer_id": 1, "detail": "x"}'):
        status, body = await post(chat, token, "staff:HK005", payload)
        reply = text(body)
        assert status == 200 and reply, payload
        for leak in ("invalid literal", "Traceback", "Error", "int()", "KeyError", "booking 424242:"):
            assert leak not in reply, (payload, reply)
    status, body = await post(chat, token, "staff:HK005", '/accept_offer{"offer_id": "abc"}')
    assert "无法识别这个指令或按钮" in text(body)


# --- the command line -----------------------------------------------------------------------------
TOKEN = re.compile(r"fds_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def cli(db_url: str, tmp_path: Path, trained_model: Path, monkeypatch: pytest.MonkeyPatch):
    """`frontdesk …` in-process (typer's CliRunner) on a temp data folder and the test's database."""
    from bot.cli import app, db, nlu, run, staff  # noqa: F401  (each registers its commands)

    for name, value in {"FRONTDESK_DATA_DIR": str(tmp_path / "data"), "FRONTDESK_DATA_KEY": TEST_KEY,
                        "FRONTDESK_KEY_FILE": str(tmp_path / "keys" / "data.key"), "DATABASE_URL": db_url,
                        "FRONTDESK_NLU__MODEL_PATH": str(trained_model)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FRONTDESK_STAFF_TOKEN", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
        return runner.invoke(app, list(args), input=input, env=env)

    return invoke


def test_cli_prints_tokens_only_when_asked_and_only_once(cli: Any, tmp_path: Path) -> None:
    demo = cli("demo")
    assert demo.exit_code == 0 and not TOKEN.search(demo.output)
    assert "frontdesk staff token HK001 --rotate" in demo.output
    refused = cli("staff", "token", "HK001")
    assert refused.exit_code == 1 and not TOKEN.search(refused.output) and "--rotate" in refused.output
    rotated = cli("staff", "token", "HK001", "--rotate")
    assert rotated.exit_code == 0 and len(TOKEN.findall(rotated.output)) == 1
    assert cli("staff", "token", "NOBODY", "--rotate").exit_code == 1

    roster = tmp_path / "roster.csv"
    roster.write_text("# format: 1\ncode,name,skills\nHK001,李阿姨,cleaning\nHK990,新阿姨,cleaning\n", encoding="utf-8")
    imported = cli("staff", "import", str(roster))
    assert imported.exit_code == 0, imported.output
    assert "HK001: kept" in imported.output and len(TOKEN.findall(imported.output)) == 1
    assert re.search(r"HK990: fds_", imported.output)
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,colour\nHK001,x,red\n", encoding="utf-8")
    wrong = cli("staff", "import", str(bad))
    assert wrong.exit_code == 1 and "bad.csv line 1: unknown column(s) 'colour'" in wrong.output

    assert "suspended from matching" in cli("staff", "suspend", "HK002", "--reason", "manager_hold").output
    shown = cli("staff", "show", "HK002").output
    assert "suspended_from_matching (manager_hold)" in shown and "token: yes" in shown and "rest" in shown
    assert not TOKEN.search(shown)
    assert cli("staff", "suspend", "HK002", "--reason", "vacation").exit_code == 1
    assert cli("staff", "suspend", "MGR01", "--reason", "manager_hold").exit_code == 1
    assert "HK002 is active" in cli("staff", "reinstate", "HK002").output
    gone = cli("staff", "deactivate", "HK990")
    assert gone.exit_code == 0 and "HK990 deactivated" in gone.output and "1 token(s) revoked" in gone.output
    assert cli("staff", "invite", "HK990").exit_code == 1
    assert cli("staff", "token", "HK990", "--rotate").exit_code == 1
    assert "already deactivated" in cli("staff", "deactivate", "HK990").output
    assert "deactivated; token: none; channels: none" in cli("staff", "show", "HK990").output


def test_the_staff_shell_authenticates_with_a_token(cli: Any) -> None:
    cli("demo")
    token = TOKEN.search(cli("staff", "token", "HK001", "--rotate").output).group(0)
    other = TOKEN.search(cli("staff", "token", "HK002", "--rotate").output).group(0)

    ok = cli("shell", "--as", "HK001", input="/help\n", env={"FRONTDESK_STAFF_TOKEN": token})
    assert ok.exit_code == 0, ok.output
    assert "/today" in ok.output and token not in ok.output
    by_option = cli("shell", "--as", "HK001", "--token", token, input="/today\n")
    assert by_option.exit_code == 0 and ("没有订单" in by_option.output or "订单" in by_option.output)

    for args, env in [(("--token", other), None), ((), None), (("--token", "fds_forged"), None),
                      ((), {"FRONTDESK_STAFF_TOKEN": token + "x"})]:
        refused = cli("shell", "--as", "HK001", *args, input="/help\n", env=env)
        assert refused.exit_code == 1 and "/today" not in refused.output, args
    assert "frontdesk staff token HK001 --rotate" in cli("shell", "--as", "HK001", input="").output

    cli("staff", "deactivate", "HK001")
    refused = cli("shell", "--as", "HK001", input="/help\n", env={"FRONTDESK_STAFF_TOKEN": token})
    assert refused.exit_code == 1 and "/today" not in refused.output
    client = cli("shell", input="你好\n")  # the client shell is unchanged: no token
    assert client.exit_code == 0 and "🤖" in client.output
