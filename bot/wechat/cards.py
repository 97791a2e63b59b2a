"""WeCom template cards (模板卡片) for staff replies with buttons, and the per-card state their updates need.

wechatpy has no template-card support, so the card JSON is built here against WeCom's documented shape
(``button_interaction``: main_title, sub_title_text, task_id, button_list of at most 6 buttons) and sent
with ``bot.wechat.api.WeComClient``.

A card can be updated (``update_template_card``) only with a ``response_code`` that works once and for 72
hours. WeCom hands out a fresh one with every send and with every click on the card, so the latest one per
card (``task_id``) is kept in SQL: shared by every worker and surviving restarts.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

TITLE_MAX = 36  # characters of main_title.title
BODY_MAX = 112  # sub_title_text: WeCom's recommended maximum; a longer body goes out as text first
BUTTONS_MAX = 6  # button_list of one card
BUTTON_TEXT_MAX = 10  # characters of one button's text
CODE_TTL = timedelta(hours=72)  # a response_code's life
KEEP = timedelta(days=30)  # card rows older than this are pruned: their codes are long dead
_SENTENCE_ENDS = "。！？!?."
_LABEL_ENDS = "：:"

metadata = MetaData()
wecom_cards = Table(
    "wecom_cards", metadata,
    Column("task_id", String(128), primary_key=True),
    Column("userid", String(64), nullable=False),
    Column("response_code", String(512)),  # the latest unused code; NULL once used
    Column("code_at", DateTime(timezone=True)),  # when WeCom issued it (send or click)
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def new_task_id() -> str:
    """A card's task_id: unique within the app forever (WeCom refuses a reused one), ≤ 128 characters of
    letters, digits, "_", "-" and "@"."""
    return "fd" + secrets.token_hex(10)


def split_title(text: str) -> tuple[str, str]:
    """(title, body): the first line when it fits the title, else its first sentence or label that does,
    else the line cut with "…" (then the body keeps the whole text, so nothing is lost)."""
    text = text.strip()
    if not text:
        return " ", ""
    first, _, rest = text.partition("\n")
    first = first.strip()
    if len(first) <= TITLE_MAX:
        return first, rest.strip()
    # The longest run of whole sentences that fits, else the label before the first colon ("新订单 #12").
    sentence = max((i for i, ch in enumerate(first[:TITLE_MAX]) if ch in _SENTENCE_ENDS), default=-1)
    label = next((i for i, ch in enumerate(first[:TITLE_MAX]) if ch in _LABEL_ENDS and i >= 3), -1)
    for cut in (sentence, label):
        if cut >= 4:  # a title of a few characters is not worth the cut
            title = first[:cut + 1].rstrip("：:").strip()
            return title, (first[cut + 1:].strip() + ("\n" + rest.strip() if rest.strip() else "")).strip()
    return first[:TITLE_MAX - 1] + "…", text


def button_text(title: str) -> str:
    title = " ".join(str(title).split())
    return title if len(title) <= BUTTON_TEXT_MAX else title[:BUTTON_TEXT_MAX - 1] + "…"


def card(task_id: str, title: str, body: str, buttons: list[tuple[str, str]],
         replace_text: str | None = None) -> dict[str, Any]:
    """A ``button_interaction`` card; ``buttons`` are (text, key) pairs, at most 6. ``replace_text`` shows
    one grey, untappable label instead (a card whose action is over)."""
    if not buttons and replace_text is None:
        raise ValueError("a button_interaction card needs buttons or a replace_text")
    out: dict[str, Any] = {"card_type": "button_interaction", "task_id": task_id,
                           "main_title": {"title": title[:TITLE_MAX]}}
    if body:
        out["sub_title_text"] = body
    if buttons:
        out["button_list"] = [{"text": button_text(t), "style": 1 if i == 0 else 2, "key": k}
                              for i, (t, k) in enumerate(buttons[:BUTTONS_MAX])]
    else:  # WeCom wants a button_list; the label stands in for it and greys it out
        out["button_list"] = [{"text": button_text(replace_text or " "), "style": 2, "key": "done"}]
    if replace_text is not None:
        out["replace_text"] = button_text(replace_text)
    return out


class Cards:
    """The latest response_code of every card sent, per task_id."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def issued(self, task_id: str, userid: str, code: str, now: datetime) -> None:
        """WeCom handed out ``code`` for this card (sent, or clicked): it is the one to use next."""
        if not task_id or not code:
            return
        with self.engine.begin() as c:
            insert = pg_insert if c.dialect.name == "postgresql" else sqlite_insert
            c.execute(insert(wecom_cards).values(task_id=task_id[:128], userid=userid[:64], response_code=code[:512],
                                                 code_at=now, created_at=now)
                      .on_conflict_do_update(index_elements=["task_id"],
                                             set_={"response_code": code[:512], "code_at": now},
                                             where=wecom_cards.c.userid == userid[:64]))  # only her own card
            if random.random() < 0.01:  # now and then, not on every send
                c.execute(delete(wecom_cards).where(wecom_cards.c.created_at < now - KEEP))

    def take(self, task_id: str, userid: str, now: datetime) -> str | None:
        """Use the card's latest code: returned at most once (two workers cannot both spend it), None
        when it is used, older than 72 hours, or the card is someone else's."""
        with self.engine.begin() as c:
            row = c.execute(select(wecom_cards.c.userid, wecom_cards.c.response_code, wecom_cards.c.code_at)
                            .where(wecom_cards.c.task_id == task_id)).first()
            if row is None or row[0] != userid or not row[1] or row[2] is None or _aware(row[2]) + CODE_TTL <= now:
                return None
            done = c.execute(update(wecom_cards).where(wecom_cards.c.task_id == task_id,
                                                       wecom_cards.c.response_code == row[1])
                             .values(response_code=None))
            return str(row[1]) if done.rowcount == 1 else None

    def give_back(self, task_id: str, code: str) -> None:
        """An update that may never have reached WeCom: the code is tried again next time (at worst WeCom
        refuses it and a new message goes out)."""
        with self.engine.begin() as c:
            c.execute(update(wecom_cards).where(wecom_cards.c.task_id == task_id,
                                                wecom_cards.c.response_code.is_(None))
                      .values(response_code=code))


def _aware(t: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)
