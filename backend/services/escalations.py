"""Escalations: the first name of cases, kept for the callers that still speak it (offers cascade,
staff deactivation, privacy, old staff buttons). Thin wrappers over ``backend.services.cases``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.orm import Escalation
from backend.services import Context, DomainError, cases


def escalate(ctx: Context, session: Session, kind: str, client_id: int | None = None,
             booking_id: int | None = None, by_client: bool = False, **detail: Any) -> Escalation:
    """Open a case (or join the open one about the same matter). ``by_client``: the hourly cap applies
    (DomainError "escalation_limit"); the system's own cases and emergencies are never capped."""
    text = detail.pop("text", None)
    esc, _ = cases.open_case(ctx, session, kind, client_id, booking_id, by_client=by_client,
                             text=str(text) if text is not None else None, **detail)
    return esc


def acknowledge(ctx: Context, session: Session, escalation_id: int, manager_id: int) -> Escalation:
    """The old "确认收到" button: claim, and stop any repeated alerts."""
    try:
        return cases.acknowledge_alert(ctx, session, escalation_id, manager_id)
    except DomainError as e:
        raise DomainError({"case_not_found": "escalation_not_found", "case_closed": "escalation_closed"}
                          .get(e.code, e.code)) from None


def resolve(ctx: Context, session: Session, escalation_id: int, manager_id: int) -> Escalation:
    """The old "已解决" button: close as resolved (a closed case stays as it is)."""
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        raise DomainError("escalation_not_found")
    if esc.status == "closed":
        return esc
    return cases.close(ctx, session, escalation_id, manager_id, "resolved")


def open_escalations(session: Session) -> list[Escalation]:
    return list(session.scalars(select(Escalation).where(Escalation.status != "closed").order_by(Escalation.id)))
