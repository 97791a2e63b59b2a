"""Case cards and refund alerts as managers read them, in zh and en: everything needed to act, and only
the buttons that are valid in the case's current state."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.catalogue import load_catalogue
from backend.clock import FakeClock
from dialogs.domain import Domain
from dialogs.notify import Notifier
from dialogs.staff_cases import cents, command_of
from tests.conftest import NOW_ISO

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def n() -> Notifier:
    return Notifier(Domain.load(), load_catalogue(ROOT / "config" / "services.yaml"), TZ,
                    clock=FakeClock(datetime.fromisoformat(NOW_ISO)))


def card(**over: object) -> dict:
    """A manager view as CasesFacade.case(viewer=) returns it: opened 45 minutes before NOW."""
    base = {"id": 7, "kind": "complaint", "status": "open", "severity": "high", "category": "damage",
            "remedy": "refund", "level": 0, "client_id": 3, "booking_id": 12, "housekeeper_id": 4, "owner_id": None,
            "owner_name": None, "due_at": "2026-11-18T10:45:00+08:00", "first_response_at": None,
            "breached_at": None, "created_at": "2026-11-18T09:45:00+08:00", "closed_at": None, "outcome": None,
            "satisfied": None, "lang": "en", "text": "the cleaner scratched my wooden floor",
            "client_name": "Mia Wong", "client_phone": "13912345678", "client_address": "88 Century Ave, Pudong",
            "booking": {"id": 12, "service": "cleaning", "status": "completed",
                        "starts_at": "2026-11-17T09:00:00+08:00", "ends_at": "2026-11-17T12:00:00+08:00"},
            "housekeeper_name": "王阿姨", "attachments": [{"id": 5, "content_type": "image/jpeg", "size": 1000,
                                                          "filename": "floor.jpg"}]}
    return {**base, **over}


def payloads(msg: dict) -> list[str]:
    return [b["payload"] for b in msg.get("buttons") or []]


def intents(msg: dict) -> list[str]:
    return [p.split("{")[0] for p in payloads(msg)]


def test_a_new_case_alert_in_english_has_everything_needed_to_act(n: Notifier) -> None:
    msg = n.render("case_alert", {"case_id": 7, "reason": "new", "card": card()}, "en")
    t = msg["text"]
    for part in ("complaint #7", "new", "damage / breakage", "severity high", "open, unclaimed", "level 0",
                 "Mia Wong", "13912345678", "88 Century Ave, Pudong", "Booking #12", "Tue 17 Nov, 9:00",
                 "王阿姨", "“the cleaner scratched my wooden floor”", "a refund", "Files from the client: 1",
                 "45 min ago", "First answer due by Wed 18 Nov, 10:45", "Nobody has claimed it yet"):
        assert part in t, part
    assert intents(msg) == ["/claim_case", "/reply_case", "/take_over", "/rework_case", "/refund_case", "/close_case"]
    assert json.loads(payloads(msg)[2].split("/take_over")[1]) == {"escalation_id": 7}  # the existing relay
    assert all(json.loads("{" + p.split("{", 1)[1]) == {"case_id": 7} for p in payloads(msg) if "_case" in p)
    assert "{" not in t  # every placeholder filled


def test_the_same_card_in_chinese(n: Notifier) -> None:
    msg = n.render("case_alert", {"case_id": 7, "reason": "new", "card": card()}, "zh")
    for part in ("投诉 #7", "新案件", "物品损坏", "严重程度：高", "待认领", "Mia Wong", "13912345678",
                 "地址：88 Century Ave", "预约 #12", "11月17日（周二）09:00",
                 "客户原话：“the cleaner scratched my wooden floor”", "客户希望：退款", "客户文件：1 个", "45分钟前",
                 "首次答复截止：11月18日（周三）10:45"):
        assert part in msg["text"], part
    titles = [b["title"] for b in msg["buttons"]]
    assert titles == ["认领", "回复客户", "接管对话", "安排返工", "退款", "结案"]


def test_a_claimed_card_has_no_claim_button_and_names_the_owner(n: Notifier) -> None:
    c = card(status="claimed", owner_id=1, owner_name="周经理")
    en = n.render("case_card", {"case_id": 7, "reason": "update", "change": "claimed", "card": c}, "en")
    assert "/claim_case" not in intents(en) and "/reply_case" in intents(en)
    assert "Handled by 周经理" in en["text"] and "updated" in en["text"]
    assert "负责人：周经理" in n.render("case_card", {"case_id": 7, "reason": "update", "card": c}, "zh")["text"]


def test_a_closed_card_has_no_buttons_and_says_who_closed_it_and_how(n: Notifier) -> None:
    c = card(status="closed", owner_id=1, owner_name="周经理", outcome="refund", closed_at=NOW_ISO,
             first_response_at="2026-11-18T10:00:00+08:00")
    en = n.render("case_card", {"case_id": 7, "reason": "update", "card": c}, "en")
    assert "buttons" not in en and "Closed by 周经理: refund" in en["text"] and "ago" not in en["text"]
    assert "First answered Wed 18 Nov, 10:00" in en["text"] and "due by" not in en["text"]
    zh = n.render("case_card", {"case_id": 7, "reason": "update", "card": c}, "zh")
    assert "buttons" not in zh and "已由周经理结案：退款" in zh["text"]


def test_an_emergency_or_a_breach_offers_acknowledge_and_is_marked_urgent(n: Notifier) -> None:
    e = card(kind="emergency", category=None, remedy=None, text="fire in the kitchen")
    msg = n.render("case_alert", {"case_id": 7, "reason": "emergency", "card": e}, "en")
    assert msg["text"].startswith("🚨 EMERGENCY #7") and intents(msg)[0] == "/ack_case"
    assert "/rework_case" not in intents(msg) and "13912345678" in msg["text"] and "88 Century Ave" in msg["text"]
    b = card(status="claimed", owner_id=2, owner_name="Alex Chen", breached_at="2026-11-18T10:45:00+08:00", level=1)
    msg = n.render("case_alert", {"case_id": 7, "reason": "breach", "card": b}, "zh")
    assert "已超时" in msg["text"] and "第1级" in msg["text"] and "⚠ 已于11月18日（周三）10:45超时" in msg["text"]
    assert intents(msg)[0] == "/ack_case" and "/claim_case" not in intents(msg)
    # once someone has said "I have it", the button goes from every card
    done = n.render("case_card", {"case_id": 7, "reason": "update",
                                  "card": {**e, "acknowledged_at": "2026-11-18T10:46:00+08:00"}}, "en")
    assert "/ack_case" not in intents(done)
    done = n.render("case_card", {"case_id": 7, "reason": "update",
                                  "card": {**b, "breach_acknowledged_at": "2026-11-18T10:50:00+08:00"}}, "zh")
    assert "/ack_case" not in intents(done) and "/reply_case" in intents(done)


def test_a_case_not_about_a_booking_offers_no_rework_or_refund(n: Notifier) -> None:
    c = card(booking_id=None, booking=None, housekeeper_name=None, attachments=[])
    msg = n.render("case_alert", {"case_id": 7, "reason": "new", "card": c}, "en")
    assert "/rework_case" not in intents(msg) and "/refund_case" not in intents(msg) and "Booking" not in msg["text"]
    assert "Files" not in msg["text"]


def test_the_full_card_shows_the_timeline_and_hands_over_the_files(n: Notifier) -> None:
    c = card(events=[{"at": "2026-11-18T09:45:00+08:00", "actor": "client:3", "kind": "opened",
                      "text": "the cleaner scratched my wooden floor"},
                     {"at": "2026-11-18T10:00:00+08:00", "actor": "manager:1", "kind": "claimed"}])
    msg = n.cards.case(c, "en", "view", timeline=True)
    assert "Timeline:" in msg["text"] and "Wed 18 Nov, 9:45 opened: the cleaner scratched" in msg["text"]
    assert "Wed 18 Nov, 10:00 claimed" in msg["text"]
    files = n.cards.files(c, "zh")
    assert files == {"text": "文件：#5 floor.jpg", "files": [{"id": 5, "content_type": "image/jpeg",
                                                             "filename": "floor.jpg"}]}


def refund(**over: object) -> dict:
    base = {"id": 4, "kind": "refund", "case_id": 7, "booking_id": 12, "client_id": 3, "amount_cents": 12050,
            "reason": "floor scratched", "status": "requested", "requested_at": "2026-09-30T10:00:00+08:00",
            "approve_due_at": "2026-10-09T10:00:00+08:00", "due_at": "2026-10-13T10:00:00+08:00",
            "approved_at": None, "paid_at": None, "reference": None, "rejected_reason": None}
    return {**base, **over}


def test_a_refund_alert_in_both_languages_with_the_buttons_of_its_state(n: Notifier) -> None:
    r = refund()
    params = {**r, "refund_reason": r["reason"], "reason": "new", "client_name": "Mia Wong"}  # as H2 writes it
    en = n.render("refund_alert", params, "en")
    for part in ("Refund #4", "new request", "¥120.50", "booking #12", "Mia Wong", "Case #7", "awaiting approval",
                 "Reason: floor scratched",
                 "Approve by Fri 9 Oct, 10:00; pay by Tue 13 Oct, 10:00"):
        assert part in en["text"], part
    assert intents(en) == ["/approve_refund", "/paid_refund", "/reject_refund"]
    zh = n.render("refund_alert", params, "zh")
    assert "退款 #4" in zh["text"] and "付款截止：10月13日（周二）10:00" in zh["text"]
    assert [b["title"] for b in zh["buttons"]] == ["批准", "标记已付款", "拒绝"]
    approved = n.render("refund_alert", {**refund(status="approved"), "reason": "approved"}, "en")
    assert intents(approved) == ["/paid_refund", "/reject_refund"]
    paid = n.render("refund_alert", {**refund(status="paid", paid_at="2026-10-09T11:00:00+08:00", reference="TX9"),
                                     "reason": "paid"}, "en")
    assert "buttons" not in paid and "reference TX9" in paid["text"]
    breach = n.render("refund_alert", {**refund(), "reason": "breach"}, "zh")
    assert breach["text"].startswith("🚨") and "已超过承诺时限" in breach["text"]


def test_old_escalation_rows_still_render(n: Notifier) -> None:
    msg = n.render("escalation_new", {"escalation_id": 3, "kind": "complaint", "client_id": 9, "detail": {}}, "en")
    assert "Escalation #3" in msg["text"] and intents(msg) == ["/acknowledge", "/take_over", "/resolve"]


@pytest.mark.parametrize(("given", "want"), [("120", 12000), ("120.5", 12050), ("¥99.99", 9999), ("30元", 3000)])
def test_amounts_in_yuan_become_cents(given: str, want: int) -> None:
    assert cents(given) == want


@pytest.mark.parametrize("bad", ["0", "-5", "abc", "1.234", "nan", "inf", "1e9"])
def test_bad_amounts_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        cents(bad)


def test_buttons_and_typed_commands_name_the_same_actions() -> None:
    assert command_of('/claim_case{"case_id":', "claim_case") == command_of("/claim", "") == "claim"
    assert command_of("/close", "") == command_of('/close_case{"case_id":', "close_case") == "close"
    assert command_of("/acknowledge", "acknowledge") is None  # the old payloads keep their own handlers
    assert command_of("/today", "today") is None
