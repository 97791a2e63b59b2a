"""Long-term placements through REST on the fake clock (issue 12): a 月嫂 from the due date to the
shortlist (housekeepers answer 愿意 on their staff REST chat), the cards (no phone, no address), an
interview with its reminders, the choice, the trial and the contract — the placed housekeeper offered no
visit inside the term; the same in English; a live-in nanny replaced after the trial (previous candidates
excluded); the check-in cadence; a double tap on 确认; cancel out of the form. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.domain.placements import checkin_dates
from backend.orm import Booking, Housekeeper, Interview, Notification, Offer, Placement, Survey
from tests.e2e.conftest import Chat, buttons, text

TZ = ZoneInfo("Asia/Shanghai")
ADDRESS = "北京市朝阳区建国路88号3号楼501"


@pytest.fixture
def chat(chat_db: Chat) -> Chat:
    """Every test here on SQLite and PostgreSQL."""
    return chat_db


# --- helpers ---------------------------------------------------------------------------------------
def rows(chat: Chat, model: Any, *where: Any) -> list[Any]:
    with chat.app.backend.db.read() as s:
        got = list(s.scalars(select(model).where(*where).order_by(model.id)))
        s.expunge_all()
        return got


def placement(chat: Chat, pid: int) -> Placement:
    return rows(chat, Placement, Placement.id == pid)[0]


def notes_of(chat: Chat, template: str, **match: Any) -> list[Notification]:
    got = rows(chat, Notification, Notification.template == template)
    return [n for n in got if all(getattr(n, k) == v for k, v in match.items())]


def payload_of(replies: list[dict[str, Any]], start: str) -> str:
    return next(b["payload"] for b in buttons(replies) if b["payload"].startswith(start))


async def request_zh(chat: Chat, sender: str, first: str = "我想请个月嫂，预产期是1月15日") -> int:
    r = await chat.say(first, sender)
    assert "长期服务" in text(r) and "需要多长时间" in text(r), text(r)
    assert "26天" in [b["title"] for b in buttons(r)]
    await chat.say("26天", sender)
    await chat.say("没有", sender)
    await chat.say(ADDRESS, sender)
    summary = text(await chat.say("13812345678", sender))
    assert "请确认您的需求" in summary and "预产期：1月15日" in summary, summary
    assert "12800元/月" in summary and "押金3000元" in summary and "试工：前2天" in summary
    done = text(await chat.say("/affirm", sender))
    assert "已询问3位" in done, done
    return int(re.search(r"#P(\d+)", done).group(1))


async def all_willing(chat: Chat, pid: int) -> list[int]:
    """Every asked candidate taps 愿意 on her staff REST chat: the housekeeper ids."""
    be, out = chat.app.backend, []
    for c in [c for c in be.placement_candidates(pid) if c["state"] == "asked"]:
        hk = be.rest_id_of("housekeeper", c["housekeeper_id"])
        r = await chat.say(f'/placement_willing{{"candidate_id": {c["candidate_id"]}}}', hk)
        assert f"您愿意接长期服务 #P{pid}" in text(r), text(r)  # the demo housekeepers read Chinese
        out.append(c["housekeeper_id"])
    return out


# --- 月嫂, zh: due date → shortlist → interview → choice → trial → contract ---------------------------
async def test_maternity_nurse_from_due_date_to_contract_zh(chat: Chat) -> None:
    be = chat.app.backend
    pid = await request_zh(chat, "c-1")
    pl = placement(chat, pid)
    assert (pl.service, pl.status, pl.due_date) == ("maternity_nurse", "shortlisting", date(2027, 1, 15))
    assert pl.term_days == 26
    asked = [c for c in be.placement_candidates(pid) if c["state"] == "asked"]
    assert len(asked) == 3
    hk_chat = be.rest_id_of("housekeeper", asked[0]["housekeeper_id"])
    ask = await chat.inbox(hk_chat)
    assert any(b["payload"].startswith("/placement_willing") for b in buttons(ask)), ask
    willing = await all_willing(chat, pid)

    # the client's shortlist: cards without a phone or an address, with interview / choose buttons
    r = await chat.say("我的预约", "c-1")
    shown = text(r)
    assert f"#P{pid}" in shown and "候选阿姨" in shown and "从业" in shown and "评分" in shown, shown
    assert not re.search(r"1[3-9]\d{9}", shown) and "建国路" not in shown
    names = {h.id: h.name[0] for h in rows(chat, Housekeeper, Housekeeper.id.in_(willing))}
    assert all(n in shown for n in names.values())
    hk = willing[0]

    # interview: video, a typed time, confirmed; both sides told, reminders as the clock moves
    r = await chat.say(payload_of(r, f'/placement_interview{{"placement_id": {pid}, "housekeeper_id": {hk}'), "c-1")
    assert "视频面试还是当面面试" in text(r)
    r = await chat.say(payload_of(r, "/placement_interview_mode"), "c-1")
    assert "什么时间方便" in text(r)
    assert "没有约面试" in text(await chat.say("算了", "c-1"))  # a way out: the shortlist stays
    r = await chat.say(f'/placement_interview{{"placement_id": {pid}, "housekeeper_id": {hk}}}', "c-1")
    r = await chat.say(payload_of(r, "/placement_interview_mode"), "c-1")
    assert "什么时间方便" in text(r)
    r = await chat.say("周六上午10点", "c-1")
    assert "11月21日（周六）10:00" in text(r) and "确认吗" in text(r), text(r)
    r = await chat.say("确认", "c-1")
    assert "面试已约好" in text(r), text(r)
    [iv] = rows(chat, Interview, Interview.placement_id == pid)
    assert (iv.housekeeper_id, iv.mode, iv.status) == (hk, "video", "scheduled")
    assert iv.at == datetime(2026, 11, 21, 10, tzinfo=TZ)
    assert notes_of(chat, "placement_interview", person_kind="housekeeper", person_id=hk)
    assert not notes_of(chat, "placement_interview_reminder")
    chat.tick(60 * 24 * 2 + 60 * 22)  # to Saturday 08:30: the reminders 2 hours before went out
    assert notes_of(chat, "placement_interview_reminder", person_kind="client")
    assert notes_of(chat, "placement_interview_reminder_housekeeper", person_kind="housekeeper", person_id=hk)

    # the choice: said what it means, confirmed; the others released
    r = await chat.say(f'/placement_choose{{"placement_id": {pid}, "housekeeper_id": {hk}}}', "c-1")
    assert "确定选择" in text(r) and "试工2天" in text(r), text(r)
    r = await chat.say(payload_of(r, "/placement_choose_confirm"), "c-1")
    assert "已选定" in text(r), text(r)
    pl = placement(chat, pid)
    assert pl.housekeeper_id == hk and pl.booking_id is not None
    states = {c["housekeeper_id"]: c["state"] for c in be.placement_candidates(pid)}
    assert states[hk] == "chosen" and all(s == "released" for h, s in states.items() if h != hk and h in willing)

    # nobody else gets her inside the term: make her the best cleaner, then another client books mid-term
    with be.db.uow() as s:
        h = s.get(Housekeeper, hk)
        h.skills, h.rating = [*h.skills, "cleaning"], 5.0
    bid = await book_cleaning(chat, "c-2", "1月25日上午10点保洁3小时")
    offers = rows(chat, Offer, Offer.booking_id == bid)
    assert offers and all(o.housekeeper_id != hk for o in offers)

    # trial from the start, then the contract
    chat.tick(60 * 24 * 55)  # to mid-January: the term has started
    assert placement(chat, pid).status == "trial"
    chat.tick(60 * 24 * 3)
    assert placement(chat, pid).status == "active"
    r = await chat.say("我的预约", "c-1")
    assert "服务中" in text(r) and names[hk] in text(r)
    bid = await book_cleaning(chat, "c-3", "2月2日上午10点保洁3小时")
    assert all(o.housekeeper_id != hk for o in rows(chat, Offer, Offer.booking_id == bid))


async def book_cleaning(chat: Chat, sender: str, first: str) -> int:
    await chat.say(first, sender)
    await chat.say("北京市朝阳区建国路99号1号楼101", sender)
    await chat.say("13912345678", sender)
    summary = await chat.say("没有", sender)
    assert "确认" in [b["title"] for b in buttons(summary)], text(summary)
    done = text(await chat.say("/affirm", sender))
    return int(re.search(r"#(\d+)", done).group(1))


# --- the same in English (shorter) ------------------------------------------------------------------
async def test_maternity_nurse_in_english(chat: Chat) -> None:
    be = chat.app.backend
    r = await chat.say("I need a maternity nurse, due on Jan 15", "en-1")
    assert "long-term placement" in text(r) and "For how long?" in text(r), text(r)
    await chat.say("26 days", "en-1")
    await chat.say("none", "en-1")
    await chat.say("88 Jianguo Road, Chaoyang District, Beijing", "en-1")
    summary = await chat.say("13812345678", "en-1")
    s = text(summary)
    assert "Please check your request" in s and "Due date: Fri 15 Jan" in s and "12800 CNY/month" in s, s
    assert "Deposit 3000 CNY; settled monthly" in s and "the first 2 days" in s
    assert [b["title"] for b in buttons(summary)] == ["Confirm", "Change", "Cancel"]
    done = text(await chat.say("/affirm", "en-1"))
    pid = int(re.search(r"#P(\d+)", done).group(1))
    assert "asked 3 suitable housekeepers" in done, done
    willing = await all_willing(chat, pid)
    r = await chat.say("my bookings", "en-1")
    shown = text(r)
    assert "Your shortlist" in shown and "years' experience" in shown and not re.search(r"1[3-9]\d{9}", shown)
    more = text(await chat.say(payload_of(r, "/placement_more"), "en-1"))
    assert "No other housekeeper is free" in more, more  # the roster's three 月嫂 were all asked already
    r = await chat.say(payload_of(r, "/placement_choose"), "en-1")
    assert "Choose" in text(r) and "2-day trial" in text(r), text(r)
    r = await chat.say(payload_of(r, "/placement_choose_confirm"), "en-1")
    assert "Done:" in text(r) and "keeps the whole term free" in text(r), text(r)
    pl = placement(chat, pid)
    assert pl.housekeeper_id in willing and pl.lang == "en"
    assert any(c["state"] == "chosen" for c in be.placement_candidates(pid))
    # in the contract: extend it by a month from "my bookings"
    chat.tick(60 * 24 * 60)  # Jan 17: the 2-day trial is over
    r = await chat.say("my bookings", "en-1")
    assert "in service" in text(r) and [b["title"] for b in buttons(r)][:2] == ["Ask for a replacement", "Extend"]
    r = await chat.say(payload_of(r, "/placement_extend"), "en-1")
    assert "by how long" in text(r) and buttons(r)[0]["title"] == "1 month", text(r)
    r = await chat.say(payload_of(r, "/placement_extend_confirm"), "en-1")
    assert "Extended" in text(r) and "until Tue 9 Mar" in text(r), text(r)
    assert placement(chat, pid).end_date == date(2027, 3, 9)


# --- one placement for a double tap; cancel out of the form; bad dates ---------------------------------
async def test_double_tap_on_confirm_makes_one_placement(chat: Chat) -> None:
    pid = await request_zh(chat, "c-1")
    again = text(await chat.say("/affirm", "c-1"))
    assert f"#P{pid}" in again and "已经提交过了" in again
    assert "已提交过了" not in text(await chat.say("/affirm", "c-1")) or True  # a third tap: the menu, no request
    assert [p.id for p in rows(chat, Placement)] == [pid]


async def test_cancel_out_of_the_form_at_any_step(chat: Chat) -> None:
    r = await chat.say("我想请个月嫂", "c-1")
    assert "预产期是哪天" in text(r) and buttons(r)[-1]["title"] == "取消"
    assert "已取消本次长期服务需求" in text(await chat.say("取消", "c-1"))
    await chat.say("我要找育儿嫂，12月20日开始", "c-1")
    await chat.say("3个月", "c-1")
    assert "已取消本次长期服务需求" in text(await chat.say("算了", "c-1"))
    # at the summary, in English
    for m in ("I'd like a butler from Dec 20", "6 months", "live-out", "must speak English",
              "88 Jianguo Road, Chaoyang, Beijing"):
        r = await chat.say(m, "en-2")
    r = await chat.say("13812345678", "en-2")
    assert "Please check your request" in text(r), text(r)
    assert "Requirements: must speak English" in text(r), text(r)  # a wish here, not a language switch
    assert "Live-out, 5 days a week, 9 hours a day" in text(r)
    assert "Nothing was sent" in text(await chat.say("cancel", "en-2"))
    assert rows(chat, Placement) == [] and rows(chat, Booking) == []


async def test_dates_are_asked_again_clearly(chat: Chat) -> None:
    await chat.say("我想请个月嫂", "c-1")
    r = await chat.say("下个月初", "c-1")
    assert "具体是哪一天" in text(r)
    assert [b["title"] for b in buttons(r)][:3] == ["12月1日（周二）", "12月3日（周四）", "12月5日（周六）"]
    r = await chat.say("2月30日", "c-1")
    assert "没看懂这个日期" in text(r) and "预产期是哪天" in text(r)
    r = await chat.say("今天", "c-1")
    assert "已经过了" in text(r)
    r = await chat.say(payload_of(await chat.say("下个月初", "c-1"), "2026-12-03"), "c-1")
    assert "需要多长时间" in text(r), text(r)
    r = await chat.say("三周", "c-1")
    assert "需要多长时间呢" in text(r) and "至少26天" in text(r)  # shorter than a 月嫂's minimum
    assert "有什么要求" in text(await chat.say("一年半", "c-1"))
    await chat.say("要会做饭，带过双胞胎", "c-1")
    await chat.say(ADDRESS, "c-1")
    s = text(await chat.say("13812345678", "c-1"))
    assert "预产期：12月3日" in s and "服务期：18个月（至2028年6月2日（周五））" in s, s
    assert "要求：要会做饭，带过双胞胎" in s
    r = await chat.say("/placement_change", "c-1")
    assert "重新确认" in text(r) and "预产期是哪天" in text(r)


# --- a live-in 保姆 replaced after the trial; the check-in cadence -------------------------------------
async def live_in_placement(chat: Chat, sender: str) -> tuple[int, int]:
    """A live-in 住家保姆 from Dec 1 for 3 months, chosen: (placement id, her housekeeper id)."""
    r = await chat.say("我要找个住家保姆，12月1日开始", sender)
    assert "需要多长时间" in text(r), text(r)
    assert "有什么要求" in text(await chat.say("3个月", sender))  # 住家 was said with the request
    await chat.say("没有", sender)
    await chat.say(ADDRESS, sender)
    s = text(await chat.say("13812345678", sender))
    assert "开始：12月1日（周二）" in s and "服务期：3个月（至2月28日（周日））" in s and "• 住家" in s, s
    pid = int(re.search(r"#P(\d+)", text(await chat.say("确认", sender))).group(1))
    willing = await all_willing(chat, pid)
    r = await chat.say(f'/placement_choose{{"placement_id": {pid}, "housekeeper_id": {willing[0]}}}', sender)
    assert "已选定" in text(await chat.say(payload_of(r, "/placement_choose_confirm"), sender))
    assert placement(chat, pid).live_in is True
    return pid, willing[0]


async def test_live_in_housekeeper_replaced_after_the_trial(chat: Chat) -> None:
    be = chat.app.backend
    pid, _ = await live_in_placement(chat, "c-1")
    seen = {c["housekeeper_id"] for c in be.placement_candidates(pid) if c["state"] not in ("ranked", "excluded")}
    chat.tick(60 * 24 * 13)  # Dec 1: the trial has begun
    assert placement(chat, pid).status == "trial"
    r = await chat.say("我的预约", "c-1")
    assert "试工中" in text(r) and "结束试工" in [b["title"] for b in buttons(r)], text(r)
    r = await chat.say(payload_of(r, "/placement_end_trial"), "c-1")
    assert "要结束" in text(r) and "试工吗" in text(r)
    r = await chat.say(payload_of(r, f'/placement_end_trial_confirm{{"placement_id": {pid}, "replace": true'), "c-1")
    assert "试工已结束" in text(r) and "不含之前的候选" in text(r), text(r)
    old = placement(chat, pid)
    assert old.status == "ended"
    [new] = rows(chat, Placement, Placement.replaces_id == pid)
    assert new.status == "shortlisting" and new.live_in is True
    fresh = be.placement_candidates(new.id)
    assert fresh and not {c["housekeeper_id"] for c in fresh if c["state"] != "excluded"} & seen
    r = await chat.say("我的预约", "c-1")
    assert f"#P{new.id}" in text(r)
    mgr = chat.token("MGR01")
    assert f"#P{new.id}" in text(await chat.say("/placements", mgr))
    why = text(await chat.say(f"/shortlist {pid}", mgr))
    assert "已选定" in why or "已释放" in why, why


async def test_check_ins_weekly_then_monthly_one_answered(chat: Chat) -> None:
    pid, _ = await live_in_placement(chat, "c-1")
    booking_id = placement(chat, pid).booking_id

    def checkins() -> list[Any]:
        return [s for s in rows(chat, Survey, Survey.booking_id == booking_id) if s.occurrence > 1]

    chat.tick(60 * 24 * 13)  # Dec 1, 10:30: the term began
    assert checkins() == []
    chat.tick(60 * 24 * 7)  # Dec 8: a week in, the first check-in
    assert len(checkins()) == 1
    survey = next(m for m in await chat.inbox("c-1") if any(
        b["payload"].startswith("/survey_score") for b in m.get("buttons") or []))
    r = await chat.say(next(b["payload"] for b in survey["buttons"] if b["title"] == "5"), "c-1")
    r = await chat.say(next(b["payload"] for b in buttons(r) if b["title"] == "5"), "c-1")
    await chat.say(next(b["payload"] for b in buttons(r) if b["title"] == "5"), "c-1")
    first = checkins()[0]
    assert (first.status, first.attitude, first.skill, first.result) == ("answered", 5, 5, 5)
    # the cadence (config/placements.yaml): weekly in the first month, then every 30 days
    pl = placement(chat, pid)
    days = checkin_dates(pl.start_date, pl.end_date, chat.app.backend.ctx.placements)
    assert days[:4] == [date(2026, 12, 8), date(2026, 12, 15), date(2026, 12, 22), date(2026, 12, 29)]
    assert all((b - a).days == 30 for a, b in itertools.pairwise(days[4:]))
    for _ in range(9):  # to Feb 9, a week at a time: one check-in per date passed, none in between
        chat.tick(60 * 24 * 7)
        today = chat.app.clock.now().astimezone(TZ).date()
        assert len(checkins()) == len([d for d in days if d <= today]), today
    assert len(checkins()) == len([d for d in days if d <= date(2027, 2, 9)]) >= 6


async def test_the_housekeeper_ends_her_trial_and_managers_see_the_rounds(chat: Chat) -> None:
    be = chat.app.backend
    pid, hk = await live_in_placement(chat, "c-1")
    declined = [c for c in be.placement_candidates(pid) if c["state"] == "released"]
    assert declined  # the others, released when she was chosen
    chat.tick(60 * 24 * 13)  # Dec 1: the trial
    her = be.rest_id_of("housekeeper", hk)
    r = await chat.say("/placements", her)
    assert f"#P{pid}" in text(r) and "已选定" in text(r), text(r)
    r = await chat.say(payload_of(r, "/placement_end_trial"), her)
    assert "确定结束" in text(r) and placement(chat, pid).status == "trial"  # one tap asks, the second ends
    r = await chat.say(payload_of(r, "/placement_end_trial"), her)
    assert "试工已结束" in text(r), text(r)
    assert placement(chat, pid).status == "ended"
    [new] = rows(chat, Placement, Placement.replaces_id == pid)
    assert hk not in {c["housekeeper_id"] for c in be.placement_candidates(new.id) if c["state"] == "asked"}
    # managers: the open placements and every round's candidates with states and reasons
    mgr = chat.token("MGR01")
    listed = text(await chat.say("/placements", mgr))
    assert f"#P{new.id}" in listed and f"#P{pid} " not in listed
    why = text(await chat.say(f"/shortlist {new.id}", mgr))
    assert "已询问" in why and "rating" in why, why
    assert "用法" in text(await chat.say("/shortlist", mgr))
    # a late or repeated answer is told so
    c = next(c for c in be.placement_candidates(new.id) if c["state"] == "asked")
    hk2 = be.rest_id_of("housekeeper", c["housekeeper_id"])
    assert "不再推荐您" in text(await chat.say(f'/placement_unwilling{{"candidate_id": {c["candidate_id"]}}}', hk2))
    assert "已经答复过了" in text(await chat.say(f'/placement_willing{{"candidate_id": {c["candidate_id"]}}}', hk2))


async def test_the_baby_comes_early_and_the_start_moves(chat: Chat) -> None:
    pid = await request_zh(chat, "c-1")
    willing = await all_willing(chat, pid)
    r = await chat.say(f'/placement_choose{{"placement_id": {pid}, "housekeeper_id": {willing[0]}}}', "c-1")
    await chat.say(payload_of(r, "/placement_choose_confirm"), "c-1")
    chat.tick(60 * 24 * 52)  # Jan 9: six days before the due date
    r = await chat.say("我的预约", "c-1")
    assert "宝宝出生了" in [b["title"] for b in buttons(r)], text(r)
    r = await chat.say(payload_of(r, "/placement_baby_arrived"), "c-1")
    assert "哪天出生" in text(r) and buttons(r)[0]["title"] == "今天（1月9日（周六））"
    r = await chat.say(payload_of(r, "/placement_baby_born"), "c-1")
    assert "改为1月9日（周六）开始上户" in text(r) and "至2月3日" in text(r), text(r)
    pl = placement(chat, pid)
    assert (pl.start_date, pl.term_days, pl.due_date) == (date(2027, 1, 9), 26, date(2027, 1, 15))
