"""Storage: SQLAlchemy 2 declarative models. Times are stored in UTC; personal data encrypted."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from backend.crypto import Cipher


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no zones) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Encrypted(TypeDecorator[str]):
    """Text encrypted with the process's data key (set once by bootstrap)."""

    impl = Text
    cache_ok = True
    cipher: ClassVar[Cipher | None] = None

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if Encrypted.cipher is None:
            raise RuntimeError("no data key configured: call backend.db.Database(...) first")
        return Encrypted.cipher.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if Encrypted.cipher is None:
            raise RuntimeError("no data key configured: call backend.db.Database(...) first")
        return Encrypted.cipher.decrypt(value)


# orjson's own conversions (datetimes, dataclasses) are refused, as json refuses them: a caller's mistake fails
# loudly instead of being stored as a string.
_ORJSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dump_json(value: Any) -> bytes:
    """UTF-8 JSON of ``value``: orjson's, or the standard library's for what orjson refuses but json
    writes (an integer beyond 64 bits typed by a client, a float subclass, a namedtuple)."""
    try:
        return orjson.dumps(value, option=_ORJSON)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def load_json(raw: bytes) -> Any:
    """``dump_json``'s value back; rows json wrote with NaN or Infinity (which orjson refuses) too."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value encrypted as a whole (escalation details, outbox parameters, audit details):
    whatever a caller puts in may hold client text, so none of it is readable at rest. orjson first, not
    json: the conversation state is one of these, encoded and decoded on every turn."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        if Encrypted.cipher is None:
            raise RuntimeError("no data key configured: call backend.db.Database(...) first")
        return Encrypted.cipher.encrypt(dump_json(value))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        if value is None:
            return None
        if Encrypted.cipher is None:
            raise RuntimeError("no data key configured: call backend.db.Database(...) first")
        return load_json(Encrypted.cipher.decrypt_raw(value))


class EncryptedBytes(TypeDecorator[bytes]):
    """Binary content (a complaint's photo) encrypted with the data key: Fernet over the raw bytes."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        if Encrypted.cipher is None:
            raise RuntimeError("no data key configured: call backend.db.Database(...) first")
        return Encrypted.cipher.encrypt_bytes(value)

    def process_result_value(self, value: bytes | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        if Encrypted.cipher is None:
            raise RuntimeError("no data key configured: call backend.db.Database(...) first")
        return Encrypted.cipher.decrypt_bytes(bytes(value))


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    name: Mapped[str | None] = mapped_column(Encrypted)
    phone: Mapped[str | None] = mapped_column(Encrypted)
    address: Mapped[str | None] = mapped_column(Encrypted)
    never_again: Mapped[list[int]] = mapped_column(JSON, default=list)
    preferred: Mapped[list[int]] = mapped_column(JSON, default=list)  # "ask for her again": a matching bonus
    address_as: Mapped[str | None] = mapped_column(Encrypted)  # how to address the client (王女士)
    last_housekeeper_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # personal data erased on request


class Identity(Base):
    """How a person is reached: a (channel, external id) pair. The backend stores it, never uses it."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_kind: Mapped[str] = mapped_column(String(16))  # client | housekeeper | manager
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # proactive messages go to the latest


class Housekeeper(Base):
    __tablename__ = "housekeepers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Encrypted)
    phone: Mapped[str | None] = mapped_column(Encrypted)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    districts: Mapped[list[str]] = mapped_column(JSON, default=list)
    city: Mapped[str | None] = mapped_column(String(64))  # roster column: the city she works in (service area)
    # The running rating matching uses: the roster's figure as a prior, moved by answered surveys
    # (backend.domain.surveys.running_rating). A roster import sets roster_rating, never the running one.
    rating: Mapped[float] = mapped_column(Float, default=4.5)
    roster_rating: Mapped[float] = mapped_column(Float, default=4.5)
    survey_count: Mapped[int] = mapped_column(Integer, default=0)
    pets_ok: Mapped[bool] = mapped_column(Boolean, default=True)  # roster column: works in homes with pets
    attributes: Mapped[list[str]] = mapped_column(JSON, default=list)  # roster column, e.g. non_smoker
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    # active | suspended_from_matching (keeps chat access; reasons in hold_reasons) | deactivated
    status: Mapped[str] = mapped_column(String(32), default="active")
    hold_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Roster columns for placements (issue 12): the shortlist shows an age band and experience, never more.
    birth_year: Mapped[int | None] = mapped_column(Integer)
    experience_years: Mapped[int | None] = mapped_column(Integer)


class Certificate(Base):
    __tablename__ = "certificates"
    # who holds a kind valid on a day: read off the index by a visit's matching (roster._visit_statement)
    __table_args__ = (Index("ix_certificates_kind", "kind", "expires_on", "housekeeper_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    housekeeper_id: Mapped[int] = mapped_column(ForeignKey("housekeepers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    expires_on: Mapped[date] = mapped_column(Date)
    number: Mapped[str | None] = mapped_column(Encrypted)  # the certificate's number (vetting record)


class WorkingHours(Base):
    __tablename__ = "working_hours"
    # who works a weekday's hours: read off the index by a visit's matching (roster._visit_statement)
    __table_args__ = (Index("ix_working_hours_day", "weekday", "start_minute", "end_minute", "housekeeper_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    housekeeper_id: Mapped[int] = mapped_column(ForeignKey("housekeepers.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class TimeOff(Base):
    __tablename__ = "time_off"
    id: Mapped[int] = mapped_column(primary_key=True)
    housekeeper_id: Mapped[int] = mapped_column(ForeignKey("housekeepers.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Manager(Base):
    __tablename__ = "managers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Encrypted)
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    status: Mapped[str] = mapped_column(String(32), default="active")  # active | deactivated
    role: Mapped[str] = mapped_column(String(16), default="manager")  # manager | supervisor (the next level)
    # Duty window from the roster's days/hours: "on-duty managers" get a case's first alerts.
    duty_days: Mapped[list[int]] = mapped_column(JSON, default=lambda: [0, 1, 2, 3, 4, 5, 6])
    duty_start_minute: Mapped[int] = mapped_column(Integer, default=0)
    duty_end_minute: Mapped[int] = mapped_column(Integer, default=1440)


class Booking(Base):
    __tablename__ = "bookings"
    # Who is busy when: matching a placement over a 90-day term reads every confirmed job it overlaps.
    __table_args__ = (Index("ix_bookings_busy", "status", "ends_at", "starts_at", "housekeeper_id"),
                      # her jobs of the week before, counted per candidate for fairness (roster._visit_statement)
                      Index("ix_bookings_housekeeper_start", "housekeeper_id", "starts_at", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    service: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    hours: Mapped[float | None] = mapped_column(Float)
    area: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Encrypted)
    notes: Mapped[str | None] = mapped_column(Encrypted)
    district: Mapped[str | None] = mapped_column(String(64))
    price_estimate: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="requested", index=True)
    housekeeper_id: Mapped[int | None] = mapped_column(ForeignKey("housekeepers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The booking form instance that submitted it: a second 确认 (retry, crash, double tap) finds this row.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A free rework visit: the case that asked for it and the booking whose work it redoes (price 0).
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    rework_of: Mapped[int | None] = mapped_column(Integer)
    # The client's standing notes (profile items) this visit carries: [{"id","kind","code","text"}];
    # [] when the client dropped them for this visit, None for bookings made before profiles.
    standing_notes: Mapped[list[dict[str, Any]] | None] = mapped_column(EncryptedJSON)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_by: Mapped[str | None] = mapped_column(String(16))  # housekeeper | auto | manager
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # her 已到达: worked time = finished − arrived
    late_minutes: Mapped[int | None] = mapped_column(Integer)  # lateness she announced (晚到 N 分钟)
    series_id: Mapped[int | None] = mapped_column(Integer, index=True)  # a visit of a repeat series
    city: Mapped[str | None] = mapped_column(String(64))  # parsed from the address (service area)
    surcharge_cents: Mapped[int | None] = mapped_column(Integer)  # holiday surcharge in price_estimate


class ProfileItem(Base):
    """One fact in a client's file (客户档案): a kind, an optional code from config/profile.yaml and the
    client's own words (encrypted). Removed items keep their row (removed_at) until erasure."""

    __tablename__ = "profile_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Encrypted)
    source: Mapped[str] = mapped_column(String(16), default="chat")  # chat | booking | survey | manager
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Survey(Base):
    """A call-back survey (回访) of one visit: one row per booking and occurrence (a placement's periodic
    check-ins are further occurrences); answering again updates the row."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("booking_id", "occurrence"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    occurrence: Mapped[int] = mapped_column(Integer, default=1)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    housekeeper_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # scheduled | sent | reminded | answered | expired | cancelled (backend.domain.surveys.STATUSES)
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    source: Mapped[str] = mapped_column(String(16), default="survey")  # survey | client (feedback unasked)
    step: Mapped[str | None] = mapped_column(String(16))  # the question awaiting an answer
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attitude: Mapped[int | None] = mapped_column(Integer)
    skill: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Encrypted)
    followup_case_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Proposal(Base):
    """A manager's answer to a custom request (a case): what, when, for how much; the client accepts
    or declines it in chat, and an accepted one becomes a booking."""

    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Encrypted)
    service: Mapped[str | None] = mapped_column(String(32))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hours: Mapped[float | None] = mapped_column(Float)
    area: Mapped[float | None] = mapped_column(Float)
    schedule: Mapped[str | None] = mapped_column(Encrypted)  # e.g. 每周二上午 (series come with the bookings issue)
    price_cents: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="sent")  # sent | accepted | declined | expired | withdrawn
    booking_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MatchCandidate(Base):
    """A booking's ranked candidates with the reasons for their rank (visible to managers). Written in
    bulk (backend.bulk) without foreign keys: hundreds per booking on a big roster, where checking two
    keys per row cost more than writing it (migration 0016); the ids come from the ranking's reads, and
    bookings and housekeepers are never deleted."""

    __tablename__ = "match_candidates"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(Integer, index=True)
    housekeeper_id: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="ranked")


class Offer(Base):
    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    housekeeper_id: Mapped[int] = mapped_column(ForeignKey("housekeepers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "job": the booking offered to her; "change": a new time for the job she holds (booking_changes row)
    kind: Mapped[str] = mapped_column(String(16), default="job", server_default="job")
    change_id: Mapped[int | None] = mapped_column(Integer)


class BookingChange(Base):
    """A client's change to an existing booking (time, hours or area, address, notes), held until the new
    slot is secured: the booking keeps its number and its old slot until then.
    status: pending (asking her or matching) → applied | declined (nobody for the new time) | cancelled."""

    __tablename__ = "booking_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    client_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hours: Mapped[float | None] = mapped_column(Float)
    area: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Encrypted)
    district: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Encrypted)
    price_estimate: Mapped[int | None] = mapped_column(Integer)
    housekeeper_id: Mapped[int | None] = mapped_column(Integer)  # who will do the new slot, once secured
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BookingSeries(Base):
    """Repeat visits ("every Wednesday 10:00, 3 hours"): each visit is a normal booking (series_id) created
    on a rolling horizon up to ``planned_until``. status: active | cancelled | ended.
    holiday_rule: skip | keep | ask (a visit on a statutory holiday)."""

    __tablename__ = "booking_series"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    service: Mapped[str] = mapped_column(String(32))
    interval_weeks: Mapped[int] = mapped_column(Integer, default=1)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    start_minute: Mapped[int] = mapped_column(Integer)  # local time of day
    hours: Mapped[float | None] = mapped_column(Float)
    area: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Encrypted)
    city: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Encrypted)
    first_date: Mapped[date] = mapped_column(Date)
    until_date: Mapped[date | None] = mapped_column(Date)  # last possible visit date, or
    count: Mapped[int | None] = mapped_column(Integer)  # number of visits
    holiday_rule: Mapped[str] = mapped_column(String(16), default="ask")
    housekeeper_id: Mapped[int | None] = mapped_column(Integer)  # who took the series (offered first)
    status: Mapped[str] = mapped_column(String(16), default="active")
    planned_until: Mapped[date | None] = mapped_column(Date)  # visits exist up to this date
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffRequest(Base):
    """A housekeeper's request made in chat: leave (starts_at–ends_at) or new working hours (``hours``:
    what she asked, {"mode", "days", "start", "end"}, applied to her hours as they are at approval, which
    then stores the result under "applied"); a manager approves or rejects it.
    status: pending | approved | rejected | withdrawn."""

    __tablename__ = "staff_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    housekeeper_id: Mapped[int] = mapped_column(ForeignKey("housekeepers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # leave | hours
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    text: Mapped[str | None] = mapped_column(Encrypted)  # her words, for the manager
    status: Mapped[str] = mapped_column(String(16), default="pending")
    manager_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobApplication(Base):
    """Someone who wants to work for the company (我想应聘阿姨), recorded for managers.
    status: new | contacted | hired | rejected."""

    __tablename__ = "job_applications"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the chat identity's client row
    name: Mapped[str | None] = mapped_column(Encrypted)
    phone: Mapped[str | None] = mapped_column(Encrypted)
    services: Mapped[list[str] | None] = mapped_column(JSON)
    experience: Mapped[str | None] = mapped_column(Encrypted)
    certificates: Mapped[str | None] = mapped_column(Encrypted)
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    status: Mapped[str] = mapped_column(String(16), default="new")
    manager_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Escalation(Base):
    """A case (the table keeps its first name): a complaint, a request for a person, an emergency, a job
    nobody took … one machinery with a state, an owner, deadlines from the policy and a timeline.

    status: open → claimed → answered → closed (reopened cases go back to open one level up)."""

    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))  # the owner once claimed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # One open case per (client, kind, booking): a second message about the same matter joins it.
    case_key: Mapped[str | None] = mapped_column(String(96), index=True)
    category: Mapped[str | None] = mapped_column(String(32))  # complaints: damage, quality, lateness …
    severity: Mapped[str] = mapped_column(String(16), default="normal")  # high | normal | low
    remedy: Mapped[str | None] = mapped_column(String(32))  # what the client asks: apology, rework, refund …
    level: Mapped[int] = mapped_column(Integer, default=0)  # 0 on-duty managers, 1 supervisors, …
    lang: Mapped[str] = mapped_column(String(8), default="zh")  # the client's language when it was opened
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breach_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # emergencies: someone has it
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))  # resolved, rework, refund, compensation, …
    satisfied: Mapped[bool | None] = mapped_column(Boolean)  # the client's answer after closing


class CaseEvent(Base):
    """A case's timeline: every step, who took it and when (details encrypted: they quote the client)."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # client:3, manager:2, housekeeper:5, system
    kind: Mapped[str] = mapped_column(String(32))  # opened, message, claimed, replied, called, breach …
    detail: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)


class Attachment(Base):
    """A file a client sent with a case, stored encrypted (platform file ids expire or are per bot)."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(Encrypted)
    data: Mapped[bytes] = mapped_column(EncryptedBytes)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payment(Base):
    """Money recorded against a booking (taking payments is out of scope; recording them is not)."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24), default="payment")  # payment | cancellation_fee | deposit
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(16))  # cash | transfer | online
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(Encrypted)
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Refund(Base):
    """Money going back to a client: a refund (≤ paid minus earlier refunds) or a compensation.

    status: requested → approved → paid, or rejected (with a reason the client is told)."""

    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="refund")  # refund | compensation
    case_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"), index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Encrypted)
    status: Mapped[str] = mapped_column(String(16), default="requested", index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(64))
    approve_due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # inside the promise (1 working day)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the promise: 3 working days from the request
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reference: Mapped[str | None] = mapped_column(Encrypted)  # the payment reference the manager enters
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_reason: Mapped[str | None] = mapped_column(Encrypted)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessLog(Base):
    """Every view of a client's personal data by staff (case cards with the full phone, exports)."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # manager:2
    client_id: Mapped[int] = mapped_column(Integer, index=True)
    what: Mapped[str] = mapped_column(String(32))  # case_card, case_list, attachment …
    ref: Mapped[str | None] = mapped_column(String(64))  # case:12


class Notification(Base):
    """The outbox: a message to a person, written in the transaction that caused it."""

    __tablename__ = "notifications"
    # A person's queue (pending rows, oldest first) is what every claim and poll looks up.
    # Case cards are found by subject to be edited in place on every manager's chat.
    __table_args__ = (Index("ix_notifications_queue", "person_kind", "person_id", "status"),
                      Index("ix_notifications_subject", "subject"))
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)  # idempotency key
    person_kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    # Order holds per person, channel and subject ("booking:12", "case:3"; "" for none); urgent rows
    # (emergencies, breaches) are never held behind others.
    subject: Mapped[str] = mapped_column(String(64), default="")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str | None] = mapped_column(String(16))  # the channel it went out on (or was pulled from)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The platform's id of the sent message (chat:message), so a later card can edit it in place.
    platform_ref: Mapped[str | None] = mapped_column(String(64))
    # A card that replaces an earlier one (same key family): the dispatcher edits the delivered message.
    replaces_key: Mapped[str | None] = mapped_column(String(128))


class Timer(Base):
    """A durable timer: a row with a due time, claimed by a worker, never an in-memory schedule."""

    __tablename__ = "timers"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer, index=True)
    old: Mapped[str | None] = mapped_column(String(32))
    new: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)


class Invite(Base):
    """A one-time link that binds a chat account to a roster entry."""

    __tablename__ = "invites"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Takeover(Base):
    """A manager holding a client's conversation: the bot is paused for that client until handed back."""

    __tablename__ = "takeovers"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("managers.id"), index=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffToken(Base):
    """A staff member's REST/shell token: only its SHA-256 is stored; shown once when issued."""

    __tablename__ = "staff_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_kind: Mapped[str] = mapped_column(String(16))  # housekeeper | manager
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboxMessage(Base):
    """A message acknowledged to its platform before its turn ran (WeChat's 5-second rule): kept here,
    encrypted, until a worker has run it through the normal turn."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "sender_id", "message_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(128))
    message_id: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)  # the IncomingMessage's fields
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PrivacyRequest(Base):
    """A client's request to export or erase their personal data, recorded for managers."""

    __tablename__ = "privacy_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # erase | export
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))


class VettingRecord(Base):
    """One item of a housekeeper's vetting file (SERVICE_STANDARDS "Staff"): identity checked, background
    check, an insurance policy, training hours, a quarterly assessment, an on-site quality check.
    Certificates keep their own table (with a number now). Rows are history: the latest of a kind counts.

    kind: identity | background | insurance | training | assessment | quality_check."""

    __tablename__ = "vetting_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    housekeeper_id: Mapped[int] = mapped_column(ForeignKey("housekeepers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    subkind: Mapped[str | None] = mapped_column(String(32))  # insurance: accident | liability; training topic
    on: Mapped[date] = mapped_column(Date)  # checked / assessed / trained / inspected on
    expires_on: Mapped[date | None] = mapped_column(Date)  # insurance policies, checks that lapse
    result: Mapped[str | None] = mapped_column(String(16))  # pass | fail (background: clear | record)
    number: Mapped[str | None] = mapped_column(Encrypted)  # a policy number
    by: Mapped[str | None] = mapped_column(Encrypted)  # who checked, assessed or inspected
    hours: Mapped[float | None] = mapped_column(Float)  # training
    notes: Mapped[str | None] = mapped_column(Encrypted)
    recorded_by: Mapped[str] = mapped_column(String(64), default="roster")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Placement(Base):
    """A long-term placement (月嫂, 育儿嫂, 住家保姆, 管家, 老人陪护): request → shortlist (candidates asked
    whether they are willing, the willing held) → interviews → the client's choice → trial → contract →
    ended. Once a candidate is chosen the term is a booking (``booking_id``) from the start to the
    contract's end: it makes her busy for the whole term and carries the check-ins' surveys.

    status: shortlisting | interviewing | trial | active | ended | cancelled."""

    __tablename__ = "placements"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    service: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="shortlisting", index=True)
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    due_date: Mapped[date | None] = mapped_column(Date)  # 月嫂: the baby's due date
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)  # last day of the contract (inclusive)
    term_days: Mapped[int] = mapped_column(Integer)
    live_in: Mapped[bool] = mapped_column(Boolean, default=False)
    days_per_week: Mapped[int] = mapped_column(Integer, default=6)
    daily_hours: Mapped[float] = mapped_column(Float, default=8)
    # {"languages": [...], "twins": bool, "cooking": bool, "age_min": n, "age_max": n, "text": "..."}
    requirements: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    household: Mapped[list[dict[str, Any]] | None] = mapped_column(EncryptedJSON)  # profile facts at request
    address: Mapped[str | None] = mapped_column(Encrypted)
    city: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(8), default="month")  # day | month (from the catalogue)
    unit_price: Mapped[int] = mapped_column(Integer, default=0)  # CNY per unit
    price_estimate: Mapped[int] = mapped_column(Integer, default=0)  # CNY for the whole term
    deposit_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    settlement: Mapped[str] = mapped_column(String(16), default="monthly")  # weekly | monthly | per_visit
    round: Mapped[int] = mapped_column(Integer, default=1)  # shortlist round (a replacement starts another)
    housekeeper_id: Mapped[int | None] = mapped_column(ForeignKey("housekeepers.id"), index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    trial_days: Mapped[int] = mapped_column(Integer, default=0)
    trial_ends_on: Mapped[date | None] = mapped_column(Date)
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # a second 确认 finds this row
    replaces_id: Mapped[int | None] = mapped_column(Integer)  # the placement this one replaces
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    chosen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))  # completed | trial_ended | replaced | cancelled


class PlacementCandidate(Base):
    """A housekeeper on a placement's shortlist, with the reasons for her rank. She is asked first
    whether she is willing (``ask_expires_at``: the offer clock); a willing one is held for the placement
    until ``hold_expires_at`` while the client interviews.

    state: ranked | excluded | asked | willing | declined | expired | chosen | released | passed."""

    __tablename__ = "placement_candidates"
    __table_args__ = (UniqueConstraint("placement_id", "housekeeper_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id"), index=True)
    housekeeper_id: Mapped[int] = mapped_column(ForeignKey("housekeepers.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="ranked", index=True)
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ask_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Interview(Base):
    """An interview (面试) of a shortlisted candidate: video or in person, at a time the client picked.
    status: scheduled | done | cancelled."""

    __tablename__ = "interviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id"), index=True)
    housekeeper_id: Mapped[int] = mapped_column(ForeignKey("housekeepers.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(16), default="video")  # video | in_person
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ButlerRequest(Base):
    """A butler client's service request (客厅漏水了): someone on site within ``onsite_due_at`` and a first
    plan by ``plan_due_at`` (SERVICE_STANDARDS: 15 minutes, 1 hour); a miss opens a case.
    status: open → on_site → planned → closed (or cancelled)."""

    __tablename__ = "butler_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    placement_id: Mapped[int | None] = mapped_column(Integer, index=True)
    booking_id: Mapped[int | None] = mapped_column(Integer)
    butler_id: Mapped[int | None] = mapped_column(ForeignKey("housekeepers.id"), index=True)
    text: Mapped[str] = mapped_column(Encrypted)
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    onsite_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    onsite_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    plan_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    plan_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    plan: Mapped[str | None] = mapped_column(Encrypted)
    case_id: Mapped[int | None] = mapped_column(Integer)  # the case a breach opened
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # she tapped "post plan": her next text (within butler.plan_reply_minutes) is the plan
    plan_prompted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
