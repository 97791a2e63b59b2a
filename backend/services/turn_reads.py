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
from backend.orm import Booking, Identity, Placement, Survey, Takeover

_me = aliased(Identity)
# This chat identity and every identity of the person holding it (the route is among them).
SENDER_IDENTITIES = (select(Identity)
                     .join(_me, and_(_me.person_kind == Identity.person_kind, _me.person_id == Identity.person_id))
                     .where(_me.channel == bindparam("channel"), _me.external_id == bindparam("external_id")))

_client = bindparam("client_id")
_now = bindparam("now")
# One row: who holds the conversation, the survey awaiting an answer, and whether a butler contract
# is possible now (backend/services/butler.py ``contract`` decides when it is).
CLIENT_FACTS = select(
    select(Takeover.manager_id).where(Takeover.client_id == _client, Takeover.ended_at.is_(None))
    .limit(1).scalar_subquery(),
    select(Survey.id).where(Survey.client_id == _client, Survey.status.in_(OPEN))
    .order_by(Survey.sent_at.desc(), Survey.id.desc()).limit(1).scalar_subquery(),
    or_(exists().where(Placement.client_id == _client,
                       Placement.service.in_(bindparam("butler_services", expanding=True)),
                       Placement.status.in_(bindparam("placement_states", expanding=True)),
                       Placement.housekeeper_id.is_not(None)),
        exists().where(Booking.client_id == _client, Booking.service.in_(bindparam("booking_services", expanding=True)),
                       Booking.status.in_(bindparam("booking_states", expanding=True)),
                       Booking.housekeeper_id.is_not(None), Booking.starts_at <= _now, Booking.ends_at > _now)))


def sender_identities(session: Session, channel: str, external_id: str) -> tuple[Identity | None, list[Identity]]:
    idents = list(session.scalars(SENDER_IDENTITIES, {"channel": channel, "external_id": external_id}))
    ident = next((i for i in idents if i.channel == channel and i.external_id == external_id), None)
    return ident, idents


def client_facts(session: Session, client_id: int, now: datetime, butler: ButlerPolicy) -> tuple[Any, Any, bool]:
    """(manager id holding the conversation or None, awaiting survey id or None, butler possible)."""
    manager, survey_id, maybe_butler = session.execute(CLIENT_FACTS, {
        "client_id": client_id, "now": now, "butler_services": list(butler.services),
        "placement_states": list(butler.placement_states), "booking_services": list(butler.services),
        "booking_states": list(butler.booking_states)}).one()
    return manager, survey_id, bool(maybe_butler)
