"""Vetted staff records (issue 12): what a housekeeper's file holds, what each service requires, the
hard constraints matching applies and the badges the bot may claim."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from backend.orm import Housekeeper
from backend.services import Context


def problems(ctx: Context, session: Session, hks: list[Housekeeper], service: str, start: date,
             end: date | None = None) -> dict[int, str]:
    """Housekeeper id → why her vetting file does not allow ``service`` from ``start`` to ``end`` (e.g.
    "vetting:insurance", "vetting:training"); absent when it does (or before the policy's enforce_from)."""
    return {}


def badges(ctx: Context, session: Session, hk_ids: list[int], on: date) -> dict[int, list[str]]:
    """Housekeeper id → the verified badges her record shows on ``on``: identity, background, certified,
    insured (only those the data backs)."""
    return {i: [] for i in hk_ids}
