"""The client profile in conversation over REST (zh and en): a preference captured and read back, stored,
shown by 我的档案 and removable; the next booking's summary carries the standing notes and 这次不用
drops them for that booking only; a booking's notes that state a lasting fact are offered for the profile.

Reference time (test clock): Wednesday 2026-11-18 10:30 Asia/Shanghai.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from backend.orm import Booking, ProfileItem
from tests.e2e.conftest import Chat, buttons, text


def items(chat: Chat, sender: str, removed: bool = False) -> list[ProfileItem]:
    be = chat.app.backend
    client = be.identify("rest", sender)
    with be.db.uow() as s:
        q = select(ProfileItem).where(ProfileItem.client_id == client.id)
        q = q.where(ProfileItem.removed_at.is_not(None) if removed else ProfileItem.removed_at.is_(None))
        rows = list(s.scalars(q.order_by(ProfileItem.id)))
        s.expunge_all()
        return rows


def booking(chat: Chat, booking_id: int) -> Booking:
    with chat.app.backend.db.uow() as s:
        b = s.get(Booking, booking_id)
        s.expunge(b)
        return b


def payload(replies: list[dict], prefix: str) -> str:
    return next(b["payload"] for b in buttons(replies) if b["payload"].startswith(prefix))


async def summary_zh(chat: Chat, sender: str, notes: str = "没有") -> list[dict]:
    """A cleaning tomorrow 10:00 up to its summary, answering what the form asks (address and phone
    only the first time)."""
    r = await chat.say("我想约明天上午10点的保洁", sender)
    answers = {"几个小时": "3个小时", "地址": "朝阳区建国路88号3号楼501", "手机号": "13812345678", "注意": notes}
    for _ in range(5):
        if "请确认预约信息" in text(r):
            return r
        asked = next(a for q, a in answers.items() if q in text(r))
        r = await chat.say(asked, sender)
    raise AssertionError(text(r))


async def test_capture_read_back_view_and_remove_zh(chat: Chat) -> None:
    r = await chat.say("我家有猫，希望阿姨不要用消毒水")
    assert "已记入您的档案：有猫；不用消毒水" in text(r)
    assert [b["title"] for b in buttons(r)] == ["好的", "修改"]
    kept = items(chat, "client-1")
    assert [(i.code, i.source) for i in kept] == [("cat", "chat"), ("no_disinfectant", "chat")]
    assert kept[0].text == "我家有猫"  # the client's words, kept (encrypted by the column)

    edit = await chat.say("/profile_edit")
    titles = [b["title"] for b in buttons(edit)]
    assert "删除：有猫" in titles and "删除：不用消毒水" in titles
    assert "好的" in text(await chat.say("/profile_ok")) or "我的档案" in text(await chat.say("/profile_ok"))

    shown = await chat.say("我的档案")
    assert "您的档案" in text(shown) and "• 有猫" in text(shown) and "• 不用消毒水" in text(shown)
    removed = await chat.say(payload(shown, '/profile_remove{"item_id": ' + str(kept[1].id)))
    assert "已从档案中删除：不用消毒水" in text(removed)
    assert [i.code for i in items(chat, "client-1")] == ["cat"]
    assert [i.code for i in items(chat, "client-1", removed=True)] == ["no_disinfectant"]
    assert "不在您的档案" in text(await chat.say(f'/profile_remove{{"item_id": {kept[1].id}}}'))


async def test_next_booking_carries_standing_notes_and_not_this_time_drops_them(chat: Chat) -> None:
    await chat.say("我家有猫，希望阿姨不要用消毒水")
    await chat.say("/profile_ok")
    summary = await summary_zh(chat, "client-1")
    assert "档案备注：有猫；不用消毒水" in text(summary)
    assert [b["title"] for b in buttons(summary)] == ["确认", "这次不用", "修改", "取消"]
    again = await chat.say("/drop_standing_notes")
    assert "这次预约不带档案备注" in text(again) and "档案备注" not in text(again).split("请确认预约信息")[-1]
    done = text(await chat.say("/affirm"))
    dropped = int(re.search(r"#(\d+)", done).group(1))
    assert booking(chat, dropped).standing_notes == []
    assert [i.code for i in items(chat, "client-1")] == ["cat", "no_disinfectant"]  # the profile is unchanged

    summary = await summary_zh(chat, "client-1")
    assert "档案备注：有猫；不用消毒水" in text(summary)
    done = text(await chat.say("/affirm"))
    kept = booking(chat, int(re.search(r"#(\d+)", done).group(1))).standing_notes
    assert [n["code"] for n in kept] == ["cat", "no_disinfectant"] and kept[0]["text"] == "我家有猫"


async def test_a_lasting_fact_in_booking_notes_is_offered_for_the_profile(chat: Chat) -> None:
    summary = await summary_zh(chat, "client-2", notes="家里有猫，进门请关好门")
    assert "家里有猫" in text(summary)
    done = await chat.say("/affirm", "client-2")
    assert "已提交" in text(done) and "要记入档案" in text(done) and "有猫" in text(done)
    assert [b["title"] for b in buttons(done)] == ["记入档案", "只这一次"]
    assert items(chat, "client-2") == []
    saved = await chat.say("/profile_save_notes", "client-2")
    assert "已记入您的档案：有猫" in text(saved)
    assert [(i.code, i.source) for i in items(chat, "client-2")] == [("cat", "booking")]


async def test_a_lasting_fact_declined_is_not_saved(chat: Chat) -> None:
    await summary_zh(chat, "client-3", notes="家里有猫")
    assert "要记入档案" in text(await chat.say("/affirm", "client-3"))
    assert "只用于这次预约" in text(await chat.say("/profile_skip_notes", "client-3"))
    assert items(chat, "client-3") == []


async def test_english_preference_and_profile(chat: Chat) -> None:
    r = await chat.say("We have a cat, please don't use disinfectant", "en-1")
    assert "Added to your profile: a cat; no disinfectant" in text(r)
    assert [b["title"] for b in buttons(r)] == ["OK", "Change"]
    shown = await chat.say("/view_profile", "en-1")
    assert "Your profile" in text(shown) and "• a cat" in text(shown)
    assert "Remove: a cat" in [b["title"] for b in buttons(shown)]
    await chat.say("Hello", "en-2")
    assert "Your profile is empty" in text(await chat.say("/view_profile", "en-2"))


async def test_a_preference_mid_form_is_kept_and_the_form_goes_on(chat: Chat) -> None:
    assert "几个小时" in text(await chat.say("我想约明天上午10点的保洁", "client-4"))
    r = text(await chat.say("我家有猫，希望阿姨不要用消毒水", "client-4"))
    assert "已记入您的档案：有猫；不用消毒水" in r and "几个小时" in r  # read back, then the same question
    assert [i.code for i in items(chat, "client-4")] == ["cat", "no_disinfectant"]
    assert "地址" in text(await chat.say("3个小时", "client-4"))


async def test_traditional_read_back(chat: Chat) -> None:
    r = text(await chat.say("我家有貓，希望阿姨不要用消毒水", "hk-1"))
    assert "已記入您的檔案：有貓；不用消毒水" in r


async def test_how_to_address_me_is_kept_and_said_back(chat: Chat) -> None:
    r = text(await chat.say("以后请称呼我陈先生", "naming-1"))
    assert "以后称呼您为“陈先生”" in r and "已经有了" not in r
    assert chat.app.backend.profile(chat.app.backend.identify("rest", "naming-1").id)["address_as"] == "陈先生"
    assert "称呼：陈先生" in text(await chat.say("我的档案", "naming-1"))
