"""A client asks to erase or export their data in the conversation; managers approve or reject in the
staff channel; every promise made in the replies is checked against the rows."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from backend.orm import Booking, Client, Escalation, Notification, PrivacyRequest
from tests.privacy.conftest import Desk, book, payloads
from tests.privacy.conftest import text as said

CLIENT, MANAGER = "710000001", "910000001"
ADDRESS, PHONE = "海淀区中关村大街27号华清嘉园8号楼1104", "13711112222"
NOTES, COMPLAINT = "请带鞋套，孩子对消毒水过敏", "阿姨上次把我家地板划了一道很长的口子"
NAME = "司马青青"


async def client_with_history(d: Desk, sender: str = CLIENT) -> tuple[int, int]:
    booking_id = await book(d, sender, ADDRESS, PHONE, NOTES)
    await d.say(sender, COMPLAINT)
    client_id = d.client_id(sender)
    d.be.set_client(client_id, name=NAME, address=ADDRESS)
    return client_id, booking_id


def decrypted_everything(d: Desk) -> str:
    """What the database holds, decrypted: client rows, bookings, outbox, cases, conversations, inbox."""
    from backend.orm import EncryptedJSON, InboxMessage

    codec, parts = EncryptedJSON(), []
    with d.be.db.uow() as s:
        for c in s.scalars(select(Client)):
            parts += [c.name or "", c.phone or "", c.address or ""]
        for b in s.scalars(select(Booking)):
            parts += [b.address or "", b.notes or ""]
        parts += [json.dumps(n.params, ensure_ascii=False) for n in s.scalars(select(Notification))]
        parts += [json.dumps(e.detail, ensure_ascii=False) for e in s.scalars(select(Escalation))]
        parts += [json.dumps(m.payload, ensure_ascii=False) for m in s.scalars(select(InboxMessage))]
        parts += [json.dumps(codec.process_result_value(r[0], None), ensure_ascii=False)
                  for r in s.execute(text("SELECT state FROM conversations"))]
    return "\n".join(parts)


def requests(d: Desk) -> list[PrivacyRequest]:
    with d.be.db.uow() as s:
        return list(s.scalars(select(PrivacyRequest).order_by(PrivacyRequest.id)))


async def test_erasure_approved_by_a_manager(desk: Desk) -> None:
    client_id, booking_id = await client_with_history(desk)
    ask = await desk.say(CLIENT, "删除我的个人信息")
    assert "姓名、手机号、地址、预约备注和聊天记录" in said(ask) and "客服经理审核" in said(ask)
    assert list(payloads(ask)) == ["确认删除", "取消"]
    done = said(await desk.say(CLIENT, payloads(ask)["确认删除"]))
    [req] = requests(desk)
    assert (req.kind, req.status, req.client_id) == ("erase", "pending", client_id)
    assert f"删除申请 #{req.id}" in done
    with desk.be.db.uow() as s:
        alerts = list(s.scalars(select(Notification).where(Notification.template == "privacy_request")))
        assert alerts and all(n.person_kind == "manager" and n.params["request_id"] == req.id for n in alerts)
        assert s.get(Client, client_id).phone == PHONE  # nothing erased before the approval

    manager_id = desk.first_manager()
    desk.bind("manager", manager_id, MANAGER)
    listed = await desk.say(MANAGER, "/privacy")
    assert f"#{req.id}" in said(listed) and f"客户 {client_id}" in said(listed)
    approved = said(await desk.say(MANAGER, payloads(listed)["批准删除"]))
    assert f"已批准请求 #{req.id}" in approved

    [req] = requests(desk)
    assert (req.status, req.manager_id) == ("done", manager_id) and req.decided_at is not None
    with desk.be.db.uow() as s:
        c = s.get(Client, client_id)
        assert (c.name, c.phone, c.address) == (None, None, None) and c.erased_at is not None
        b = s.get(Booking, booking_id)
        assert (b.address, b.notes) == (None, None)
        assert b.service == "cleaning" and b.price_estimate == 150 and b.district and b.status == "cancelled"
        assert all(e.detail == {} for e in s.scalars(select(Escalation).where(Escalation.client_id == client_id)))
        to_client = list(s.scalars(select(Notification).where(Notification.person_kind == "client")))
        assert [n.template for n in to_client] == ["privacy_erased"]  # the history went, the answer is queued
    rendered = desk.app.notifier.render("privacy_erased", to_client[0].params, "zh")["text"]
    assert f"删除申请 #{req.id} 已完成" in rendered
    held = decrypted_everything(desk)
    for secret in (ADDRESS, PHONE, NOTES, COMPLAINT, NAME):
        assert secret not in held, secret
    assert "请删除" not in said(await desk.say(MANAGER, "/privacy")) and "没有待处理" in said(
        await desk.say(MANAGER, "/privacy"))
    again = said(await desk.say(MANAGER, payloads(listed)["批准删除"]))
    assert "已处理" in again  # a second tap does nothing twice

    # the client goes on as a blank profile: asked for a phone again on the next booking
    await desk.say(CLIENT, "我想约后天上午10点的保洁")
    await desk.say(CLIENT, "3个小时")
    assert "手机号" in said(await desk.say(CLIENT, "海淀区学院路20号"))


async def test_erasure_rejected_changes_nothing(desk: Desk) -> None:
    client_id, _ = await client_with_history(desk)
    ask = await desk.say(CLIENT, "刪除我的個人資料")  # Traditional Chinese
    await desk.say(CLIENT, payloads(ask)["確認刪除"])  # answered in the client's script
    desk.bind("manager", desk.first_manager(), MANAGER)
    listed = await desk.say(MANAGER, "/privacy")
    assert "已拒绝" in said(await desk.say(MANAGER, payloads(listed)["拒绝"]))
    [req] = requests(desk)
    assert req.status == "rejected"
    with desk.be.db.uow() as s:
        c = s.get(Client, client_id)
        assert (c.phone, c.erased_at) == (PHONE, None)
        n = s.scalar(select(Notification).where(Notification.person_kind == "client",
                                                Notification.template == "privacy_erase_rejected"))
        assert n is not None
    assert "未获批准" in desk.app.notifier.render(n.template, n.params, "zh")["text"]


async def test_erasure_refused_or_stale_confirmation_erases_nothing(desk: Desk) -> None:
    client_id, booking_id = await client_with_history(desk)
    ask = await desk.say(CLIENT, "delete my data")
    assert "Erase your data?" in said(ask) and list(payloads(ask)) == ["Confirm erasure", "Cancel"]
    assert "nothing was erased" in said(await desk.say(CLIENT, "no"))
    assert "no longer valid" in said(await desk.say(CLIENT, payloads(ask)["Confirm erasure"]))
    await desk.say(CLIENT, "delete my data")
    await desk.say(CLIENT, "what are your prices")  # moved on: a later "yes" is not a confirmation
    assert "erased" not in said(await desk.say(CLIENT, "yes"))
    await desk.say(CLIENT, "删除我的个人信息")
    assert "没有删除任何信息" in said(await desk.say(CLIENT, "取消"))  # typed, not the booking's cancel
    assert requests(desk) == []
    with desk.be.db.uow() as s:
        assert s.get(Client, client_id).phone == PHONE
        assert s.get(Booking, booking_id).status != "cancelled"


async def test_erasure_at_once_when_configured(desk: Desk) -> None:
    desk.be.ctx.erase_mode = "auto"
    client_id, _ = await client_with_history(desk)
    ask = await desk.say(CLIENT, "please delete my data")
    assert "right away" in said(ask) and "manager" not in said(ask)
    assert "Done" in said(await desk.say(CLIENT, "yes"))
    [req] = requests(desk)
    assert req.status == "done" and req.manager_id is None
    with desk.be.db.uow() as s:
        assert s.get(Client, client_id).erased_at is not None
        assert s.scalar(select(Notification).where(Notification.template == "privacy_request")) is None
    held = decrypted_everything(desk)
    for secret in (ADDRESS, PHONE, NOTES, COMPLAINT, NAME):
        assert secret not in held, secret
    assert "Hello" in said(await desk.say(CLIENT, "hi"))  # the conversation goes on, from scratch


async def test_erasure_removes_the_answers_kept_for_retries(desk: Desk) -> None:
    """A REST client's answers are kept with their message ids (a retry gets them again): chat history."""
    desk.be.ctx.erase_mode = "auto"
    sender = "web-erase-me"
    await desk.say(sender, "我想约明天上午10点的保洁", channel="rest")
    count = "SELECT count(*) FROM processed_messages WHERE channel = 'rest' AND sender_id = :s AND replies IS NOT NULL"
    with desk.be.db.uow() as s:
        assert s.execute(text(count), {"s": sender}).scalar() == 1
    ask = await desk.say(sender, "删除我的个人信息", channel="rest")
    await desk.say(sender, payloads(ask)["确认删除"], channel="rest")
    with desk.be.db.uow() as s:
        assert s.execute(text(count), {"s": sender}).scalar() == 0


async def test_export_lists_what_is_held(desk: Desk) -> None:
    client_id, booking_id = await client_with_history(desk)
    desk.be.add_profile_items(client_id, [{"kind": "pet", "code": "cat", "text": "家里有猫"},
                                          {"kind": "habit", "text": "进门换鞋"}])
    out = said(await desk.say(CLIENT, "导出我的信息"))
    for part in (NAME, PHONE, ADDRESS, NOTES, f"#{booking_id}", "日常保洁", "¥150", "telegram", "180天",
                 "客户档案：2 条", "回访评价：0 份"):
        assert part in out, part
    en = said(await desk.say(CLIENT, "what data do you have about me"))
    assert "What we hold about you" in en and PHONE in en and "Regular cleaning" in en
    hant = said(await desk.say(CLIENT, "匯出我的個人資料"))
    assert "我們保存的您的信息" in hant and "日常保洁" not in hant and "日常保潔" in hant
    reqs = requests(desk)
    assert [(r.kind, r.status, r.client_id) for r in reqs] == [("export", "done", client_id)] * 3
