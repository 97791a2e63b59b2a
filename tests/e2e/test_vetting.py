"""A vetting item expiring, end to end on the fake clock through the REST channel (SQLite and PostgreSQL):
a client's booking is confirmed with the housekeeper's verified badges; her accident insurance comes
up for renewal → the managers' digest (zh and en) and her reminder 30 days and 7 days before, once
each; after it lapses she is not offered the next job (another housekeeper is) and a manager's
/candidates shows "vetting:insurance" for her; /vetting and /myfile show the file.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.orm import Housekeeper, Notification
from tests.e2e.conftest import Chat, buttons, text

POLICY = """enforce_from: 2026-11-01
insurance_kinds: [accident, liability]
warn_days: [30, 7]
digest_hour: 9
required:
  default: [identity, background, insurance, training, assessment]
"""
EXPIRES = date(2026, 12, 22)  # a Tuesday, 34 days after the test clock's day


@pytest.fixture
def enforced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A vetting policy enforced since 2026-11-01 (set before the front desk starts)."""
    policy = tmp_path / "vetting.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("FRONTDESK_VETTING_FILE", str(policy))


@pytest.fixture
async def vchat(enforced: None, chat_db: Chat) -> Chat:
    """The front desk on SQLite and PostgreSQL under the enforced policy."""
    return chat_db


async def book_tomorrow(chat: Chat, sender: str, at: str = "上午10点") -> int:
    assert "几个小时" in text(await chat.say(f"我想约明天{at}的保洁", sender))
    assert "地址" in text(await chat.say("3个小时", sender))
    assert "手机号" in text(await chat.say("朝阳区建国路88号3号楼501", sender))
    assert "注意" in text(await chat.say("13812345678", sender))
    await chat.say("没有", sender)
    done = text(await chat.say("/affirm", sender))
    return int(re.search(r"#(\d+)", done).group(1))


async def days(chat: Chat, n: int) -> None:
    for _ in range(n):
        await asyncio.to_thread(chat.tick, 24 * 60)


def reminders(chat: Chat, hk_id: int) -> list[dict]:
    with chat.app.backend.db.uow() as s:
        return [dict(n.params) | {"template": n.template} for n in s.scalars(
            select(Notification).where(Notification.person_kind == "housekeeper", Notification.person_id == hk_id,
                                       Notification.template.in_(("vetting_reminder", "vetting_lapsed")))
            .order_by(Notification.id)) if n.params.get("item") == "意外险"]


async def test_an_expiring_insurance_warns_then_takes_her_out_of_matching(vchat: Chat) -> None:
    chat = vchat
    first = await book_tomorrow(chat, "client-1")
    _, hk = chat.offer_for(first)
    code = hk.removeprefix("staff:")
    with chat.app.backend.db.uow() as s:
        hk_id, name = s.execute(select(Housekeeper.id, Housekeeper.name).where(Housekeeper.code == code)).one()
    accept = next(b["payload"] for b in buttons(await chat.inbox(hk)) if b["title"] == "接单")
    assert "接单成功" in text(await chat.say(accept, hk))
    confirmed = text(await chat.inbox("client-1", wait=1))
    assert f"#{first}" in confirmed and "已核验：实名认证、背景调查、持证上岗、保险" in confirmed  # her record

    # Her accident insurance is renewed only until 2026-12-22 (the office records the policy); her health
    # certificate is renewed for a year (the demo roster has one about to lapse: not this test's story).
    await asyncio.to_thread(chat.app.backend.record_vetting, code, "certificate", "MGR01", subkind="health",
                            number="JK-2027", expires_on=date(2027, 12, 31))
    await asyncio.to_thread(chat.app.backend.record_vetting, code, "insurance", "MGR01", subkind="accident",
                            number="PA-2026", expires_on=EXPIRES)
    await chat.inbox("staff:MGR01")
    await chat.inbox("staff:MGR02")
    await chat.inbox(hk)

    await days(chat, 3)  # 31 days left: nothing about hers yet
    assert reminders(chat, hk_id) == []
    await days(chat, 1)  # 30 days left
    zh = text(await chat.inbox("staff:MGR01"))
    assert "阿姨档案提醒" in zh and f"{code} {name} · 意外险 · 2026-12-22（还有 30 天）" in zh
    en = text(await chat.inbox("staff:MGR02"))
    assert "Vetting files" in en and f"{code} {name} · accident insurance · 2026-12-22 (in 30 days)" in en
    assert "意外险将于 2026-12-22 到期（还有 30 天）" in text(await chat.inbox(hk))

    await days(chat, 22)  # 8 days left: no second warning
    assert [r["days"] for r in reminders(chat, hk_id)] == [30]
    assert f"{code} {name} · 意外险" not in text(await chat.inbox("staff:MGR01"))
    await days(chat, 1)  # 7 days left
    assert f"{code} {name} · 意外险 · 2026-12-22（还有 7 天）" in text(await chat.inbox("staff:MGR01"))
    assert "还有 7 天" in text(await chat.inbox(hk))
    me = text(await chat.say("/myfile", hk))
    assert "意外险：2026-12-22 到期（还有 7 天）" in me

    await days(chat, 8)  # Wednesday 2026-12-23: lapsed yesterday
    assert "已于 2026-12-22 到期" in text(await chat.inbox(hk))
    assert [(r["template"], r["days"]) for r in reminders(chat, hk_id)] == [
        ("vetting_reminder", 30), ("vetting_reminder", 7), ("vetting_lapsed", -1)]  # each warning once

    # A job on Thursday 07:00 (those who start at 07:00: she does): she is not offered it, someone else is.
    second = await book_tomorrow(chat, "client-2", "早上7点")
    _, other = chat.offer_for(second)
    assert other != hk
    cands = text(await chat.say(f"/candidates {second}", "staff:MGR01"))
    mine = next(line for line in cands.splitlines() if f" {name} " in line)  # shown: fewer start at 07:00
    assert "[excluded]" in mine and "excluded vetting:insurance" in mine
    file = text(await chat.say(f"/vetting {code}", "staff:MGR02"))
    assert "To fix (required: she is not matched until fixed): accident insurance" in file
    assert "accident insurance PA-2026 → 2026-12-22" in file

    # Renewed: back in matching for the next job.
    await asyncio.to_thread(chat.app.backend.record_vetting, code, "insurance", "MGR01", subkind="accident",
                            number="PA-2027", expires_on=date(2027, 12, 22))
    third = await book_tomorrow(chat, "client-3")
    states = {c["housekeeper_id"]: c["state"] for c in chat.app.backend.candidates(third)}
    assert states[hk_id] in ("ranked", "offered")
