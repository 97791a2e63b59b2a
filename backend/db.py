"""Engines, sessions and the unit of work. SQLite file by default, PostgreSQL via DATABASE_URL.

A chat turn is one transaction: ``Database.turn()`` puts a session in a context variable, and every
``uow()`` (or ``read()``) opened inside it joins that session through a SAVEPOINT — also from
threads started by ``asyncio.to_thread``, which copy the context. A refused command (DomainError)
rolls back only its savepoint; the processed message id, the tracker, bookings and outbox rows of
the turn commit once, together, or not at all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, exc, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.crypto import Cipher
from backend.orm import Base, Encrypted

log = logging.getLogger(__name__)
READ_ONLY = "frontdesk_read_only"  # execution option: on SQLite, BEGIN without taking the write lock
KEEP = "frontdesk_keep"  # session.info key: the turn's loaded rows, held for the turn (see Database)
READS = "frontdesk_reads"  # session.info key: reads kept for later in the turn (Database.keep_read)
BEFORE_COMMIT = "frontdesk_before_commit"  # session.info key: see before_commit
_ambient: ContextVar[tuple[Database, Session] | None] = ContextVar("frontdesk_turn", default=None)


def _private_file(db_file: str) -> None:
    """Create the SQLite file owner-only before SQLite opens it (its -wal/-shm files copy the mode)."""
    path = Path(db_file)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            try:
                os.chmod(path, 0o600)  # a file from an older version: tighten it
            except PermissionError:
                log.warning("the database file %s is readable by others and not ours to tighten", path)


PG_LOCK_TIMEOUT = "30s"  # the longest a statement waits for a row lock on PostgreSQL
# A pooled PostgreSQL connection idle longer than this is pinged before use (see _ping_when_idle).
PING_AFTER_IDLE = 2.0
IDLE_SINCE = "frontdesk_idle_since"  # connection record info key: when the pool got it back


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        db_file = make_url(url).database
        if db_file and db_file != ":memory:" and not db_file.startswith("file:"):
            _private_file(db_file)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # Safe with WAL: an application crash loses nothing; only an OS crash may drop the last commit.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA secure_delete=ON")  # deleted or rewritten rows leave no old bytes in free pages
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # One writer at a time: the equivalent of row locks for the embedded default, so two
            # confirmations can never both see a housekeeper as free. Readers (polls) take no lock.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url, pool_size=10, max_overflow=20, hide_parameters=True)
    _ping_when_idle(engine)

    @event.listens_for(engine, "connect")
    def _pg_connect(dbapi_conn: Any, _: Any) -> None:
        from backend.pg_cursor import LazyDescriptionCursor  # psycopg: loaded for PostgreSQL only

        dbapi_conn.cursor_factory = LazyDescriptionCursor
        # No wait without end: a row lock held by a session that never finishes (a worker frozen or cut
        # off mid-transaction) fails the waiting statement after PG_LOCK_TIMEOUT, as SQLite's busy timeout
        # does, instead of stalling its turn and the conversation behind it. Set per session, so the
        # URL's own options, PGOPTIONS and poolers that refuse startup options are left alone.
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = '{PG_LOCK_TIMEOUT}'")
        dbapi_conn.commit()

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it has sat idle for ``PING_AFTER_IDLE`` seconds.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: under load that is one more round trip
    and one more server transaction per turn, for connections used milliseconds ago. A connection that
    has been idle (a database restart or failover, a proxy's idle cut) is the one worth checking; a dead
    one raises DisconnectionError here, which makes the pool drop it and hand out a fresh one. A server
    lost while a connection is in use (or idle under 2 s) fails its statement, SQLAlchemy then
    invalidates the whole pool, and the desk runs that turn once more (dialogs/desk.py ``_locked``)."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _idle_from_now(_: Any, record: Any) -> None:
        if record is not None:
            record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _: Any) -> None:
        if time.monotonic() - record.info.get(IDLE_SINCE, 0.0) < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as e:
            raise exc.DisconnectionError(f"pooled connection lost while idle: {e}") from e


def before_commit(session: Session, name: str, write: Callable[[Session], None]) -> None:
    """Run ``write(session)`` when the turn owning ``session`` commits, just before it does (once per
    ``name``; writes gathered into one statement, dialogs/tracker_store.py). A turn that rolls back
    drops it with everything else."""
    session.info.setdefault(BEFORE_COMMIT, {})[name] = write


def ambient(engine: Engine) -> Session | None:
    """The session of the turn running in this context on ``engine``, if any (the tracker store joins it)."""
    current = _ambient.get()
    if current is not None and current[0].engine is engine:
        return current[1]
    return None


class Turn:
    """One chat turn's transaction; ``with`` in a thread, ``async with`` on the event loop.

    ``info`` (the session's info dict) carries facts for after the commit, e.g. ``bookings`` created.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.session: Session | None = None
        self.info: dict[str, Any] = {}
        self._joined = False
        self._token: Token[Any] | None = None
        self._gate: asyncio.Semaphore | None = None

    def _open(self) -> Turn:
        current = self.db.turn_session()
        if current is not None:
            self._joined, self.session = True, current  # a turn inside a turn is the same turn
        else:
            self.session = self.db.sessions()
            self.session.info[KEEP] = []
            self._token = _ambient.set((self.db, self.session))
        self.info = self.session.info
        return self

    def _finish(self, ok: bool) -> None:
        if self._joined or self.session is None:
            return
        try:
            if ok:
                for write in self.session.info.pop(BEFORE_COMMIT, {}).values():
                    write(self.session)
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()

    def _leave(self) -> None:
        if self._token is not None:
            _ambient.reset(self._token)
            self._token = None
        if self._gate is not None:
            self._gate.release()
            self._gate = None

    def __enter__(self) -> Turn:
        return self._open()

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        try:
            self._finish(exc_type is None)
        finally:
            self._leave()

    async def __aenter__(self) -> Turn:
        if self.db.turn_session() is None:
            # A turn holds its connection (and on SQLite the write lock) across awaits. Turns queue
            # here, on the loop, rather than in threads waiting for a connection or the lock while
            # the turns holding them wait for a thread.
            self._gate = self.db.gate()
            await self._gate.acquire()
        try:
            return self._open()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, exc_type: Any, *_: Any) -> None:
        try:
            if not self._joined:
                await asyncio.shield(asyncio.to_thread(self._finish, exc_type is None))
        finally:
            self._leave()


class Database:
    def __init__(self, url: str, cipher: Cipher) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}),
                                          expire_on_commit=False)
        self._gates: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

        # The identity map holds rows weakly: the client read when a message arrives would be gone (and
        # read again) by the time the turn asks for her phone. A turn keeps what it loaded until it ends.
        @event.listens_for(self.sessions, "loaded_as_persistent")
        @event.listens_for(self.sessions, "pending_to_persistent")
        def _keep(session: Session, instance: Any) -> None:
            kept = session.info.get(KEEP)
            if kept is not None:
                kept.append(instance)
        Encrypted.cipher = cipher  # one key per process, set before any row is read or written

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def create_all(self) -> None:
        """For tests and the embedded default; production uses `frontdesk db upgrade`."""
        Base.metadata.create_all(self.engine)

    def turn(self) -> Turn:
        """The transaction of one chat turn: every unit of work inside joins it (see the module doc)."""
        return Turn(self)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """This loop's place for a turn (``gate``), for a turn that opens its ``turn()`` inside it."""
        async with self.gate():
            yield

    def gate(self) -> asyncio.Semaphore:
        """One turn at a time on this loop. A turn runs on the loop's thread (dialogs/threads.py) and blocks
        it at each database call: a second turn let in at one of the first one's awaits could wait there,
        thread blocked, for rows the first one holds and can no longer release. On SQLite it is also the
        one writer. More processes (``serve --workers``), not more turns per process, use more cores."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            for old in [k for k in self._gates if k.is_closed()]:
                del self._gates[old]
            gate = self._gates[loop] = asyncio.Semaphore(1)
            # Writers outside turns (timers, dispatcher) block a thread each while a turn holds the
            # lock or rows they need; enough threads keep some free for the others (the stock pool has cpu+4).
            loop.set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="frontdesk"))
        return gate

    @contextmanager
    def uow(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error. Inside a turn, a savepoint."""
        session = self.turn_session()
        if session is not None:
            with session.begin_nested():
                # Each call sees the rows as the database has them, as it would in its own session.
                session.expire_all()
                session.info.pop(READS, None)
                yield session
            return
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def turn_session(self) -> Session | None:
        """The session of the turn running in this context on this database, if any."""
        current = _ambient.get()
        return current[1] if current is not None and current[0] is self else None

    def keep_read(self, key: str, value: Any) -> None:
        """Keep a value read in this turn for a later step of the same turn (``kept_read``), so the
        turn does not read it again. Kept until the turn's next unit of work, which may change what was
        read; outside a turn, nothing is kept."""
        session = self.turn_session()
        if session is not None:
            session.info.setdefault(READS, {})[key] = value

    def kept_read(self, key: str) -> Any:
        """What ``keep_read`` kept under ``key`` in this turn, since its last unit of work (taken: once)."""
        session = self.turn_session()
        return session.info.get(READS, {}).pop(key, None) if session is not None else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session for polling: on SQLite a deferred BEGIN, so no write lock is taken.
        Anything written through it is rolled back. Inside a turn, the turn's session."""
        current = self.turn_session()
        if current is not None:
            yield current
            return
        session = self.read_sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
