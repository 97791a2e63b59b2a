"""The reads every chat turn makes, built once.

Building a SQLAlchemy statement (operators, joins, coercion) costs about as much CPU as running it, and
these run on every message: here they are module constants with bound parameters (or built once per
butler policy, whose lists they hold), so a turn only binds values. Kept to the per-message hot path;
everything else builds its statements in place.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, exists, false, or_, select
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


def _one_of(column: Any, values: tuple[str, ...]) -> Any:
    """``column IN values`` as equalities bound at build time: an IN list is an expanding parameter,
    rendered into the SQL again at every execution; these values come from the settings and never change."""
    return or_(false(), *(column == v for v in values))


def _facts(client_id: Any, butler: ButlerPolicy) -> tuple[Any, Any, Any]:
    """Who holds the conversation, the survey awaiting an answer, and whether a butler contract is
    possible now (backend/services/butler.py ``contract`` decides when it is), for ``client_id``."""
    return (
        select(Takeover.manager_id).where(Takeover.client_id == client_id, Takeover.ended_at.is_(None))
        .limit(1).scalar_subquery(),
        select(Survey.id).where(Survey.client_id == client_id, _one_of(Survey.status, OPEN))
        .order_by(Survey.sent_at.desc(), Survey.id.desc()).limit(1).scalar_subquery(),
        or_(exists().where(Placement.client_id == client_id, _one_of(Placement.service, butler.services),
                           _one_of(Placement.status, butler.placement_states),
                           Placement.housekeeper_id.is_not(None)),
            exists().where(Booking.client_id == client_id, _one_of(Booking.service, butler.services),
                           _one_of(Booking.status, butler.booking_states),
                           Booking.housekeeper_id.is_not(None), Booking.starts_at <= _now, Booking.ends_at > _now)))


@lru_cache(maxsize=8)
def _client_facts(butler: ButlerPolicy) -> Any:
    """One row: the client's facts (above)."""
    return select(*_facts(bindparam("client_id"), butler))


@lru_cache(maxsize=8)
def _sender_with_client(butler: ButlerPolicy) -> Any:
    """The sender's identities with the client who holds them and her facts (NULL for staff): a client's
    message is identified, and her turn's facts read, in one round trip."""
    return (SENDER_IDENTITIES.add_columns(Client, *_facts(Client.id, butler))
            .outerjoin(Client, and_(Identity.person_kind == "client", Client.id == Identity.person_id)))


FACTS = "client_facts"  # Database.keep_read key of a KeptFacts


class KeptFacts(NamedTuple):
    """What a client's turn needs, read with her sender (or known, for a client registered this turn)."""

    client_id: int
    facts: tuple[Any, Any, bool]  # client_facts: manager holding the conversation, awaiting survey, butler
    phone: str | None


NEW_CLIENT_FACTS = (None, None, False)  # nobody holds a client created this turn; no survey, no contract


def _this(idents: list[Identity], channel: str, external_id: str) -> Identity | None:
    return next((i for i in idents if i.channel == channel and i.external_id == external_id), None)


def sender_identities(session: Session, channel: str, external_id: str) -> tuple[Identity | None, list[Identity]]:
    idents = list(session.scalars(SENDER_IDENTITIES, {"channel": channel, "external_id": external_id}))
    return _this(idents, channel, external_id), idents


def sender_with_client(session: Session, channel: str, external_id: str, now: datetime, butler: ButlerPolicy
                       ) -> tuple[Identity | None, list[Identity], Client | None, tuple[Any, Any, bool] | None]:
    """``sender_identities``, the client holding them and her ``client_facts`` (None, None for staff
    and strangers)."""
    rows = session.execute(_sender_with_client(butler), {"channel": channel, "external_id": external_id,
                                                         "now": now}).all()
    idents = [r[0] for r in rows]
    client = rows[0][1] if rows else None
    facts = (rows[0][2], rows[0][3], bool(rows[0][4])) if client is not None else None
    return _this(idents, channel, external_id), idents, client, facts


def client_facts(session: Session, client_id: int, now: datetime, butler: ButlerPolicy) -> tuple[Any, Any, bool]:
    """(manager id holding the conversation or None, awaiting survey id or None, butler possible)."""
    manager, survey_id, maybe_butler = session.execute(_client_facts(butler), {"client_id": client_id,
                                                                              "now": now}).one()
    return manager, survey_id, bool(maybe_butler)
