"""The reads every chat turn makes, built once.

Building a SQLAlchemy statement (operators, joins, coercion) costs about as much CPU as running it, and
these run on every message: here they are module constants with bound parameters, so a turn only
binds values. Kept to the per-message hot path; everything else builds its statements in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session, aliased

from backend.domain.butler import ButlerPolicy
from backend.domain.surveys import OPEN
from backend.orm import Booking, Client, Identity, Placement, Survey, Takeover

_me = aliased(Identity)
# This chat identity and every identity of the person holding it (the route is among them).
SENDER_IDENTITIES = (select(Identity)
                     .join(_me, and_(_me.person_kind == Identity.person_kind, _me.person_id == Identity.person_id))
                     .where(_me.channel == bindparam("channel"), _me.external_id == bindparam("external_id")))
_now = bindparam("now")


def _facts(client_id: Any) -> tuple[Any, Any, Any]:
    """Who holds the conversation, the survey awaiting an answer, and whether a butler contract is
    possible now (backend/services/butler.py ``contract`` decides when it is), for ``client_id``."""
    return (
        select(Takeover.manager_id).where(Takeover.client_id == client_id, Takeover.ended_at.is_(None))
        .limit(1).scalar_subquery(),
        select(Survey.id).where(Survey.client_id == client_id, Survey.status.in_(OPEN))
        .order_by(Survey.sent_at.desc(), Survey.id.desc()).limit(1).scalar_subquery(),
        or_(exists().where(Placement.client_id == client_id,
                           Placement.service.in_(bindparam("butler_services", expanding=True)),
                           Placement.status.in_(bindparam("placement_states", expanding=True)),
                           Placement.housekeeper_id.is_not(None)),
            exists().where(Booking.client_id == client_id,
                           Booking.service.in_(bindparam("booking_services", expanding=True)),
                           Booking.status.in_(bindparam("booking_states", expanding=True)),
                           Booking.housekeeper_id.is_not(None), Booking.starts_at <= _now, Booking.ends_at > _now)))


# One row: the client's facts (above).
CLIENT_FACTS = select(*_facts(bindparam("client_id")))
# The sender's identities with the client who holds them and her facts (NULL for staff): a client's
# message is identified, and her turn's facts read, in one round trip.
SENDER_WITH_CLIENT = (SENDER_IDENTITIES.add_columns(Client, *_facts(Client.id))
                      .outerjoin(Client, and_(Identity.person_kind == "client", Client.id == Identity.person_id)))
FACTS = "client_facts"  # Database.keep_read key: (client id, facts, phone) read with the sender


def _this(idents: list[Identity], channel: str, external_id: str) -> Identity | None:
    return next((i for i in idents if i.channel == channel and i.external_id == external_id), None)


def sender_identities(session: Session, channel: str, external_id: str) -> tuple[Identity | None, list[Identity]]:
    idents = list(session.scalars(SENDER_IDENTITIES, {"channel": channel, "external_id": external_id}))
    return _this(idents, channel, external_id), idents


def _facts_params(now: datetime, butler: ButlerPolicy) -> dict[str, Any]:
    return {"now": now, "butler_services": list(butler.services), "placement_states": list(butler.placement_states),
            "booking_services": list(butler.services), "booking_states": list(butler.booking_states)}


def sender_with_client(session: Session, channel: str, external_id: str, now: datetime, butler: ButlerPolicy
                       ) -> tuple[Identity | None, list[Identity], Client | None, tuple[Any, Any, bool] | None]:
    """``sender_identities``, the client holding them and her ``client_facts`` (None, None for staff
    and strangers)."""
    rows = session.execute(SENDER_WITH_CLIENT, {"channel": channel, "external_id": external_id,
                                                **_facts_params(now, butler)}).all()
    idents = [r[0] for r in rows]
    client = rows[0][1] if rows else None
    facts = (rows[0][2], rows[0][3], bool(rows[0][4])) if client is not None else None
    return _this(idents, channel, external_id), idents, client, facts


def client_facts(session: Session, client_id: int, now: datetime, butler: ButlerPolicy) -> tuple[Any, Any, bool]:
    """(manager id holding the conversation or None, awaiting survey id or None, butler possible)."""
    manager, survey_id, maybe_butler = session.execute(CLIENT_FACTS, {
        "client_id": client_id, **_facts_params(now, butler)}).one()
    return manager, survey_id, bool(maybe_butler)
