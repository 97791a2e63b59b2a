"""Vetting files through the real Telegram library against the fake Bot API: the daily clock's digest
reaches the manager's chat and the reminder the housekeeper's, 30 days before her accident insurance
lapses; /vetting CODE (manager) and /myfile (housekeeper) answer in the staff bot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.services import staff
from tests.telegram.conftest import HK_A, MANAGER, STAFF, Env, start_env

POLICY = """enforce_from: 2026-11-01
warn_days: [30, 7]
digest_hour: 9
required:
  default: [identity, background, insurance, training, assessment]
"""
FILE = {"identity_checked": "2026-05-02/周经理", "background": "2026-05-02:clear", "training_hours": 48,
        "assessment": "2026-10-20:pass"}


@pytest.fixture
async def vtg(tmp_path: Path, trained_model: Path, monkeypatch: pytest.MonkeyPatch):
    policy = tmp_path / "vetting.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("FRONTDESK_VETTING_FILE", str(policy))
    env = await start_env(tmp_path, trained_model)
    yield env
    await env.server.close()
    await env.fake.stop()
    env.app.backend.db.dispose()


async def test_the_digest_and_her_reminder_arrive_and_the_files_answer(vtg: Env) -> None:
    be = vtg.app.backend
    rows = [{"code": "HKA", **FILE, "insurance": "accident:PA1:2026-12-18;liability:LB1:2027-12-31"},
            {"code": "HKB", **FILE, "insurance": "accident:PA2:2027-12-31;liability:LB2:2027-12-31"}]
    await asyncio.to_thread(be.import_staff, [staff.parse_row(i, r, be.catalogue) for i, r in enumerate(rows, 1)])
    await asyncio.to_thread(be.ensure_vetting_clock)  # as start-up does
    await vtg.bind("MGR01", MANAGER)
    await vtg.bind("HKA", HK_A)

    vtg.app.clock.advance(days=1)  # 09:00 on the 19th: 29 days left → the 30-day warning
    digest = await vtg.fake.wait_for(STAFF, MANAGER, "阿姨档案提醒")
    assert "HKA 王阿姨 · 意外险 · 2026-12-18（还有 29 天）" in digest and "HKB" not in digest
    await vtg.fake.wait_for(STAFF, HK_A, "您的意外险将于 2026-12-18 到期（还有 29 天）")

    await vtg.staff_says("/vetting HKA", MANAGER)
    file = await vtg.fake.wait_for(STAFF, MANAGER, "实名认证：2026-05-02 周经理")
    assert "意外险 PA1 → 2026-12-18" in file and "已核验：实名认证、背景调查、持证上岗、保险" in file
    await vtg.staff_says("/myfile", HK_A)
    mine = await vtg.fake.wait_for(STAFF, HK_A, "王阿姨，您的档案：")
    assert "意外险：2026-12-18 到期（还有 29 天）" in mine
    await vtg.staff_says("/vetting HK999", MANAGER)
    await vtg.fake.wait_for(STAFF, MANAGER, "没有工号为 HK999 的阿姨")
    await vtg.staff_says("/vetting HKA", HK_A)  # managers only
    await vtg.fake.wait_for(STAFF, HK_A, "只有经理可以")
