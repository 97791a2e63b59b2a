"""The booking state machine. Every change goes through ``transition`` so illegal moves fail loudly."""

from __future__ import annotations

from enum import StrEnum


class BookingStatus(StrEnum):
    REQUESTED = "requested"
    OFFERED = "offered"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    UNASSIGNED = "unassigned"


S = BookingStatus
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    S.REQUESTED: frozenset({S.OFFERED, S.UNASSIGNED, S.CANCELLED}),
    S.OFFERED: frozenset({S.OFFERED, S.CONFIRMED, S.UNASSIGNED, S.CANCELLED}),
    S.UNASSIGNED: frozenset({S.OFFERED, S.CONFIRMED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.IN_PROGRESS, S.CANCELLED, S.OFFERED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}


class IllegalTransition(ValueError):
    def __init__(self, booking_id: int | None, current: str, wanted: str) -> None:
        super().__init__(f"booking {booking_id}: cannot go from {current} to {wanted}")
        self.current, self.wanted = current, wanted


def transition(booking_id: int | None, current: str, wanted: str) -> BookingStatus:
    cur, new = BookingStatus(current), BookingStatus(wanted)
    if new not in TRANSITIONS[cur]:
        raise IllegalTransition(booking_id, cur, new)
    return new
