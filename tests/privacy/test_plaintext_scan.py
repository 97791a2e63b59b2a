"""Personal data is nowhere in plaintext: after a client books, complains, chats, talks to a manager
who took the conversation over and a housekeeper accepts the job, every column of every table (read
through SQL) and the raw SQLite file hold none of it — plain, JSON-escaped or base64.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect, text

from dialogs.messages import IncomingFile, IncomingMessage
from tests.backend.test_attachments import png
from tests.privacy.conftest import Desk, booking_id_in, payload, payloads
from tests.privacy.conftest import text as said

CLIENT, EN_CLIENT, HOUSEKEEPER, MANAGER = "700000001", "700000002", "800000001", "900000001"
NAME = "欧阳娜娜"
PHONE = "13987654321"
ADDRESS = "朝阳区望京街道翠湖花园17号楼2单元903"
STREET = "望京街道翠湖花园17号楼2单元903"  # the district alone is not personal data
NOTES = "家里有只叫豆豆的布偶猫，请别开阳台门"
COMPLAINT = "上次的阿姨把我家的青花瓷花瓶打碎了还不道歉"
CHAT = "你们的阿姨周末也上门吗？我家玻璃很高"
TO_MANAGER = "我家门禁密码是4421井号请转告阿姨"
FROM_MANAGER = "欧阳女士您好，花瓶我们照价赔偿"
EN_COMPLAINT = "The cleaner left my balcony door open and my parrot Kiwi escaped"
INBOX_TEXT = "我住在翠湖花园东门旁边的小楼"
PHOTO = "PIXELS-OF-OUYANG-BROKEN-VASE-7731"  # inside the photo's bytes (a PNG text chunk)
PHOTO_NAME = "欧阳家打碎的花瓶.png"
PROFILE = "豆豆对柑橘味清洁剂过敏，只能用无香型"
ADDRESS_AS = "欧阳老师"
SURVEY_COMMENT = "阿姨把豆豆的猫砂盆挪到了主卧门口"
SECRETS = {"name": NAME, "phone": PHONE, "address": ADDRESS, "street": STREET, "notes": NOTES,
           "complaint": COMPLAINT, "chat": CHAT, "to_manager": TO_MANAGER, "from_manager": FROM_MANAGER,
           "en_complaint": EN_COMPLAINT, "inbox": INBOX_TEXT, "photo": PHOTO, "photo_name": PHOTO_NAME,
           "profile": PROFILE, "address_as": ADDRESS_AS, "survey_comment": SURVEY_COMMENT}


def forms(value: str) -> set[str]:
    """The value as it may sit in storage: plain, JSON-escaped (\\uXXXX either case), base64 of UTF-8."""
    escaped = json.dumps(value, ensure_ascii=True)[1:-1]
    raw = value.encode("utf-8")
    out = {value, escaped, re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m[1].upper(), escaped),
           base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(),
           raw.hex()}  # PostgreSQL shows bytea cast to text as hex
    return out | {f.rstrip("=") for f in out}


async def populate(d: Desk) -> None:
    """Every path by which client text, names, phones and addresses enter storage."""
    await d.say(CLIENT, "你好")
    await d.say(CLIENT, CHAT)
    await d.say(CLIENT, "我想约明天上午10点的保洁")
    await d.say(CLIENT, "3个小时")
    await d.say(CLIENT, ADDRESS)
    await d.say(CLIENT, PHONE)
    summary = await d.say(CLIENT, NOTES)
    assert ADDRESS in said(summary) and PHONE in said(summary) and NOTES in said(summary)
    booking_id = booking_id_in(await d.say(CLIENT, payloads(summary)["确认"]))
    client_id = d.client_id(CLIENT)
    d.be.set_client(client_id, name=NAME)

    offer_id, hk_id = d.pending_offer(booking_id)
    d.bind("housekeeper", hk_id, HOUSEKEEPER)
    assert "接单" in said(await d.say(HOUSEKEEPER, payload("accept_offer", offer_id=offer_id)))

    escalation_id = await complain(d, CLIENT, COMPLAINT)
    # and a photo of the damage, which the desk stores before the turn and the case keeps
    added = await d.app.desk.handle(IncomingMessage("telegram", CLIENT, "", message_id="photo-1", attachments=(
        IncomingFile("image/png", png(PHOTO.encode()), PHOTO_NAME),)))
    assert f"#{escalation_id}" in said(added)
    with d.be.db.engine.connect() as c:  # stored, so the scan below really looks at its bytes
        assert c.execute(text("SELECT count(*) FROM attachments WHERE case_id = :c"),
                         {"c": escalation_id}).scalar() == 1
    manager_id = d.first_manager()
    d.bind("manager", manager_id, MANAGER)
    assert "接管" in said(await d.say(MANAGER, payload("take_over", escalation_id=escalation_id)))
    assert await d.say(CLIENT, TO_MANAGER) == []  # relayed to the manager, the bot stays quiet
    await d.say(MANAGER, FROM_MANAGER)
    await d.say(MANAGER, "/done")
    await d.say(CLIENT, "谢谢")
    await d.say(EN_CLIENT, EN_COMPLAINT)
    await d.say(CLIENT, "我的预约")
    d.be.inbox_accept("telegram", CLIENT, "inbox-1", {"text": INBOX_TEXT})
    # the client's file and a call-back survey with a comment (a low score opens a follow-up case)
    d.be.add_profile_items(client_id, [{"kind": "allergy", "text": PROFILE}])
    d.be.set_address_as(client_id, ADDRESS_AS)
    d.be.ctx.clock.set(d.be.now + timedelta(hours=23))  # 09:30 the next morning: check-in is open
    d.be.arrive(hk_id, booking_id)
    d.be.finish(hk_id, booking_id)
    d.be.client_feedback(client_id, booking_id, {"attitude": 5, "skill": 3, "result": 3}, SURVEY_COMMENT)
    with d.be.db.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM profile_items")).scalar() == 1
        assert c.execute(text("SELECT count(*) FROM surveys WHERE comment IS NOT NULL")).scalar() == 1


async def complain(d: Desk, sender: str, words: str) -> int:
    """The complaint conversation, answered by its buttons (the booking, yes, compensation, submit)."""
    replies = await d.say(sender, words)
    for _ in range(8):
        if "已登记" in said(replies):
            return booking_id_in(replies)
        choices = payloads(replies)
        assert choices, said(replies)
        pick = next((t for t in choices if t.startswith("#")), None) or next(
            (t for t in ("提交", "赔偿") if t in choices), next(iter(choices)))
        replies = await d.say(sender, choices[pick])
    raise AssertionError("the complaint was never registered")


def scan_sql(engine) -> tuple[dict[str, list[str]], int]:
    """Every column of every table, each value cast to text by the database: (hits, values read)."""
    quote = engine.dialect.identifier_preparer.quote
    hits: dict[str, list[str]] = {}
    read = 0
    needles = {name: forms(v) for name, v in SECRETS.items()}
    insp = inspect(engine)
    columns = [(t, col["name"]) for t in insp.get_table_names() for col in insp.get_columns(t)]
    assert {"clients", "bookings", "conversations", "notifications", "escalations", "callback_refs", "inbox",
            "audit_log", "takeovers", "match_candidates", "identities", "profile_items",
            "surveys"} <= {t for t, _ in columns}
    with engine.connect() as c:
        for table, column in columns:
            where = f"{table}.{column}"
            for (value,) in c.execute(text(f"SELECT CAST({quote(column)} AS TEXT) FROM {quote(table)}")):
                if value is None:
                    continue
                read += 1
                for name, fs in needles.items():
                    if any(f in value for f in fs):
                        hits.setdefault(name, []).append(where)
    return hits, read


def scan_file(paths: list[Path]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in paths:
        blob = path.read_bytes()
        for name, v in SECRETS.items():
            if any(f.encode("utf-8") in blob for f in forms(v)):
                hits.setdefault(name, []).append(path.name)
    return hits


async def test_no_personal_data_in_any_column(desk: Desk) -> None:
    await populate(desk)
    engine = desk.be.db.engine
    hits, read = scan_sql(engine)
    assert read > 100  # the scan really read the rows
    assert hits == {}
    # the scanner itself finds what is allowed to stay readable (platform ids, districts)
    with engine.connect() as c:
        ids = {r[0] for r in c.execute(text("SELECT CAST(external_id AS TEXT) FROM identities"))}
        districts = {r[0] for r in c.execute(text("SELECT CAST(district AS TEXT) FROM bookings"))}
    assert CLIENT in ids and any(d and "朝阳" in d for d in districts)
    if desk.be.db.engine.dialect.name == "sqlite":
        db_file = Path(engine.url.database)
        engine.dispose()
        raw = sqlite3.connect(db_file, isolation_level=None)  # outside any transaction, as a checkpoint needs
        assert raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # not blocked
        raw.close()
        files = [p for p in db_file.parent.iterdir() if p.name.startswith(db_file.name)]
        assert db_file in files
        assert CLIENT.encode() in db_file.read_bytes()  # positive control on the raw bytes
        assert scan_file(files) == {}


async def test_the_scan_finds_escaped_and_base64_forms(desk: Desk) -> None:
    """The scanner is not blind: the forms it looks for, planted in a readable column, are found."""
    await desk.say(CLIENT, "你好")
    escaped = json.dumps(NOTES, ensure_ascii=True)[1:-1]
    encoded = base64.urlsafe_b64encode(ADDRESS.encode()).decode()
    with desk.be.db.engine.begin() as c:
        c.execute(text("UPDATE conversations SET sender_key = :v"), {"v": f"x{escaped}x{encoded}x"})
    hits, _ = scan_sql(desk.be.db.engine)
    assert hits["notes"] == hits["address"] == ["conversations.sender_key"]


def test_sqlite_deleted_rows_leave_no_bytes(tmp_path: Path) -> None:
    """secure_delete: a row deleted (or rewritten) leaves no readable copy in the file's free pages."""
    from backend.crypto import Cipher
    from backend.db import Database
    from tests.conftest import TEST_KEY

    db = Database(f"sqlite:///{tmp_path / 'frontdesk.db'}", Cipher(TEST_KEY))
    with db.engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE scratch (t TEXT)")
        c.execute(text("INSERT INTO scratch VALUES (:v)"), {"v": ADDRESS * 50})
        c.exec_driver_sql("INSERT INTO scratch VALUES ('kept')")  # the page stays in use, with a free block
    with db.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM scratch WHERE t != 'kept'")
    db.dispose()
    raw = sqlite3.connect(tmp_path / "frontdesk.db", isolation_level=None)
    assert raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    raw.close()
    assert scan_file([p for p in tmp_path.iterdir() if p.name.startswith("frontdesk.db")]) == {}
