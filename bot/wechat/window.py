"""WeChat's customer-service window, counted locally per openid (in SQL, so it survives restarts and is
shared by every worker).

The platform lets an Official Account send customer-service messages (客服消息) only after the client
acted: a message opens 48 hours with a quota of 5 (each new message resets it), a menu click, subscribe
or QR scan opens 1 minute with 3. Outside it, a send fails with 45015/45047, so the front desk checks
here first and goes to a template message or waits for the client instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

metadata = MetaData()
windows = Table(
    "wechat_windows", metadata,
    Column("openid", String(128), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("quota_left", Integer, nullable=False),
)


class Windows:
    def __init__(self, engine: Engine, message: tuple[timedelta, int], event: tuple[timedelta, int]) -> None:
        self.engine, self.message, self.event = engine, message, event

    def opened(self, openid: str, now: datetime, by_message: bool) -> None:
        """The client wrote (``by_message``) or clicked / subscribed / scanned. An event never shortens
        a longer window the client's last message opened."""
        length, quota = self.message if by_message else self.event
        expires = now + length
        with self.engine.begin() as c:
            if not by_message:
                cur = c.execute(select(windows.c.expires_at, windows.c.quota_left)
                                .where(windows.c.openid == openid)).first()
                if cur is not None and _aware(cur[0]) > expires and cur[1] > 0:
                    return  # the longer window still has messages: the event changes nothing
            insert = pg_insert if c.dialect.name == "postgresql" else sqlite_insert
            c.execute(insert(windows).values(openid=openid, expires_at=expires, quota_left=quota)
                      .on_conflict_do_update(index_elements=["openid"],
                                             set_={"expires_at": expires, "quota_left": quota}))

    def take(self, openid: str, now: datetime) -> bool:
        """Use one message of the open window; False when it is closed or used up."""
        with self.engine.begin() as c:
            done = c.execute(update(windows).where(windows.c.openid == openid, windows.c.quota_left > 0,
                                                   windows.c.expires_at > now)
                             .values(quota_left=windows.c.quota_left - 1))
            return done.rowcount == 1

    def give_back(self, openid: str) -> None:
        """A send that never reached the platform did not use the quota."""
        with self.engine.begin() as c:
            c.execute(update(windows).where(windows.c.openid == openid).values(quota_left=windows.c.quota_left + 1))

    def close(self, openid: str) -> None:
        """The platform says the window is shut (45015/45047): believe it over our count."""
        with self.engine.begin() as c:
            c.execute(update(windows).where(windows.c.openid == openid).values(quota_left=0))

    def left(self, openid: str, now: datetime) -> int:
        with self.engine.connect() as c:
            row = c.execute(select(windows.c.expires_at, windows.c.quota_left)
                            .where(windows.c.openid == openid)).first()
        return 0 if row is None or _aware(row[0]) <= now else int(row[1])


def _aware(t: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    from datetime import UTC

    return t if t.tzinfo else t.replace(tzinfo=UTC)
