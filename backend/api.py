"""The backend's front door: each method is one unit of work and returns plain data.

The dialogue layer and the channels call only this; they never see sessions or ORM rows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import testhooks
from backend.catalogue import Catalogue, load_catalogue
from backend.clock import SystemClock
from backend.crypto import Cipher, load_key
from backend.db import Database
from backend.domain import contact
from backend.facade.applications import ApplicationsFacade
from backend.facade.attachments import AttachmentsFacade
from backend.facade.booking_reports import BookingReportsFacade
from backend.facade.butler import ButlerFacade
from backend.facade.cancellations import CancellationsFacade
from backend.facade.cases import CasesFacade
from backend.facade.changes import ChangesFacade
from backend.facade.inbox import InboxFacade
from backend.facade.jobs import JobsFacade
from backend.facade.linking import LinkingFacade
from backend.facade.money import MoneyFacade
from backend.facade.operations import OperationsFacade
from backend.facade.outbox import OutboxFacade
from backend.facade.placements import PlacementsFacade
from backend.facade.privacy import PrivacyFacade
from backend.facade.profiles import ProfilesFacade
from backend.facade.proposals import ProposalsFacade
from backend.facade.series import SeriesFacade
from backend.facade.staff import StaffFacade
from backend.facade.staff_requests import StaffRequestsFacade
from backend.facade.surveys import SurveysFacade
from backend.facade.vetting import VettingFacade
from backend.holidays import load_calendar
from backend.orm import (
    Booking,
    BookingChange,
    Client,
    Escalation,
    Housekeeper,
    Identity,
    Invite,
    Manager,
    MatchCandidate,
    Offer,
    Survey,
    Takeover,
)
from backend.policy import (
    load_area,
    load_butler,
    load_cancellation,
    load_day_of_job,
    load_placements,
    load_policy,
    load_series,
    load_surveys,
    load_vetting,
    load_vocabulary,
)
from backend.services import (
    Context,
    DomainError,
    attachments,
    bookings,
    butler,
    case_clock,
    escalations,
    offers,
    outbox,
    people,
    profiles,
    surveys,
    timers,
    turn_reads,
)
from backend.services.bookings import Request

__all__ = ["Backend", "DomainError", "Request"]


def booking_view(b: Booking, hk: Housekeeper | None = None) -> dict[str, Any]:
    return {"id": b.id, "service": b.service, "status": b.status, "starts_at": b.starts_at.isoformat(),
            "ends_at": b.ends_at.isoformat(), "hours": b.hours, "area": b.area, "price": b.price_estimate,
            "housekeeper": hk.name if hk else None, "rating": round(hk.rating, 1) if hk else None,
            "housekeeper_phone": offers.mask_phone(hk.phone) if hk else None, "district": b.district}


class Backend(CasesFacade, MoneyFacade, AttachmentsFacade, SurveysFacade, ProfilesFacade, ProposalsFacade,
              JobsFacade, CancellationsFacade, ChangesFacade, SeriesFacade, StaffRequestsFacade,
              ApplicationsFacade, BookingReportsFacade, StaffFacade, PrivacyFacade, OutboxFacade, InboxFacade,
              LinkingFacade, PlacementsFacade, VettingFacade, ButlerFacade, OperationsFacade):
    def __init__(self, db: Database, catalogue: Catalogue, ctx: Context) -> None:
        self.db, self.catalogue, self.ctx = db, catalogue, ctx

    @classmethod
    def from_settings(cls, settings: Any, clock: Any = None, db_url: str | None = None) -> Backend:
        # The generated key lives outside the data folder it protects (settings.key_file).
        key = load_key(settings.data_key, settings.path(settings.key_file), settings.path(settings.data_dir),
                       production=settings.environment == "production")
        db = Database(db_url or settings.db_url, Cipher(key))
        catalogue = load_catalogue(settings.path(settings.services_file))
        p = settings.booking
        ctx = Context(catalogue, ZoneInfo(settings.timezone), clock or SystemClock(), p.travel_buffer_minutes,
                      p.offer_timeout_minutes, p.lead_time_minutes, p.max_days_ahead, p.max_area, p.alternatives)
        ctx.retention_days, ctx.erase_mode = settings.privacy.retention_days, settings.privacy.erase_mode
        ctx.escalations_per_client_hour = settings.rate_limits.escalations_per_client_hour
        ctx.calendar = load_calendar(settings.holidays_file, today=ctx.clock.now().astimezone(ctx.tz).date())
        ctx.cases, ctx.desk = load_policy(settings.cases_file, ctx.calendar, ctx.tz)
        ctx.surveys, ctx.profile = load_surveys(settings.surveys_file), load_vocabulary(settings.profile_file)
        ctx.day_of_job = load_day_of_job(settings.day_of_job_file)
        ctx.cancellation = load_cancellation(settings.cancellation_file)
        ctx.series, ctx.area = load_series(settings.series_file), load_area(settings.service_area_file)
        ctx.placements, ctx.vetting = load_placements(settings.placements_file), load_vetting(settings.vetting_file)
        ctx.butler = load_butler(settings.butler_file)
        backend = cls(db, catalogue, ctx)
        backend.outbox_lease = timedelta(seconds=settings.outbox.lease_seconds)
        backend.attachment_limits = attachments.Limits(settings.attachments.max_bytes,
                                                       tuple(settings.attachments.allowed_types))
        return backend

    @property
    def now(self) -> datetime:
        return self.ctx.clock.now()

    # --- people -------------------------------------------------------------------------------
    def identify(self, channel: str, external_id: str) -> people.Person | None:
        with self.db.uow() as s:
            return people.identify(s, channel, external_id)

    def client_for(self, channel: str, external_id: str, lang: str = "zh") -> people.Person:
        with self.db.uow() as s:
            person, new = people.client_for(s, channel, external_id, lang, self.now)
        if new:  # a client created in this transaction: nothing to read about her
            self.db.keep_read(turn_reads.FACTS, turn_reads.KeptFacts(person.id, turn_reads.NEW_CLIENT_FACTS, None))
        return person

    def set_client(self, client_id: int, **fields: Any) -> None:
        """Update a client's profile; every value is checked here whatever path it came by."""
        clean = _contact_fields(fields)
        with self.db.uow() as s:
            _update_client(s, client_id, clean)

    def client(self, client_id: int) -> dict[str, Any]:
        with self.db.uow() as s:
            c = s.get(Client, client_id)
            return {"id": c.id, "lang": c.lang, "name": c.name, "phone": c.phone, "address": c.address}

    def bind(self, kind: str, person_id: int, channel: str, external_id: str) -> None:
        with self.db.uow() as s:
            people.bind(s, kind, person_id, channel, external_id)

    def mark_unreachable(self, channel: str, external_id: str) -> None:
        with self.db.uow() as s:
            ident = s.scalar(select(Identity).where(Identity.channel == channel, Identity.external_id == external_id))
            if ident is not None:
                ident.unreachable = True

    # --- bookings -----------------------------------------------------------------------------
    def quote(self, service: str, hours: float | None = None, area: float | None = None) -> int:
        return self.catalogue[service].estimate(hours, area)

    def check(self, client_id: int, req: Request) -> dict[str, Any]:
        """Is the request valid, and can anybody take it? Alternatives when nobody can. ``standing``: the
        profile's standing notes the booking would carry, as ``profile``'s items (the summary shows them)."""
        with self.db.read() as s:  # read-only: no savepoint inside a turn
            try:
                bookings.validate(self.ctx, req)
            except DomainError as e:
                return {"ok": False, "error": e.code, "alternatives": [], "standing": []}
            if req.standing_notes is None:  # read once, for the count, the alternatives and the summary
                req = replace(req, standing_notes=profiles.standing_notes(s, client_id))
            standing = profiles.note_views(self.ctx, req.standing_notes or [])
            if bookings.candidates_count(self.ctx, s, client_id, req):
                return {"ok": True, "error": None, "alternatives": [], "standing": standing}
            alts = bookings.alternatives(self.ctx, s, client_id, req)
            return {"ok": False, "error": "nobody_free", "alternatives": [a.isoformat() for a in alts],
                    "standing": standing}

    def book(self, client_id: int, req: Request, request_key: str | None = None,
             contact: dict[str, Any] | None = None) -> dict[str, Any]:
        """Submit a booking, with the client's ``contact`` details (``set_client``'s phone and address)
        saved in the same unit (or on their own when the booking is refused: they are hers either way). The
        same ``request_key`` (the form instance) twice is one booking: the second call returns the first, also
        when both race (the key is unique)."""
        clean = _contact_fields(contact or {})
        try:
            with self.db.uow() as s:
                if clean:
                    _update_client(s, client_id, clean)
                existing = bookings.by_request_key(s, client_id, request_key) if request_key else None
                if existing is not None:
                    return booking_view(existing)
                b = bookings.create(self.ctx, s, client_id, req, f"client:{client_id}", request_key, looked_up=True)
                s.info.setdefault("bookings", []).append(b.id)  # the turn's after-commit crash point
                return booking_view(b)
        except IntegrityError:
            if request_key is None:
                raise
            with self.db.uow() as s:  # a twin submission committed first: answer with its booking
                b = bookings.by_request_key(s, client_id, request_key)
                if b is None:
                    raise
                if clean:
                    _update_client(s, client_id, clean)
                return booking_view(b)
        except DomainError:
            if clean:
                self.set_client(client_id, **clean)
            raise

    def open_bookings(self, client_id: int) -> list[dict[str, Any]]:
        with self.db.uow() as s:
            return [booking_view(b, s.get(Housekeeper, b.housekeeper_id) if b.housekeeper_id else None)
                    for b in bookings.open_bookings(self.ctx, s, client_id)]

    def recent_bookings(self, client_id: int, days: int = 30) -> list[dict[str, Any]]:
        """Open bookings and visits of the last ``days`` (newest first): what a complaint may be about."""
        with self.db.uow() as s:
            return [booking_view(b, s.get(Housekeeper, b.housekeeper_id) if b.housekeeper_id else None)
                    for b in bookings.recent_bookings(self.ctx, s, client_id, days)]

    def cancel(self, client_id: int, booking_id: int) -> dict[str, Any]:
        with self.db.uow() as s:
            return booking_view(bookings.cancel(self.ctx, s, client_id, booking_id))

    def booking(self, booking_id: int) -> dict[str, Any] | None:
        with self.db.uow() as s:
            b = s.get(Booking, booking_id)
            if b is None:
                return None
            return booking_view(b, s.get(Housekeeper, b.housekeeper_id) if b.housekeeper_id else None)

    def candidates(self, booking_id: int) -> list[dict[str, Any]]:
        with self.db.uow() as s:
            names = dict(s.execute(select(Housekeeper.id, Housekeeper.name)).all())
            return [{"housekeeper_id": c.housekeeper_id, "name": names.get(c.housekeeper_id, ""), "rank": c.rank,
                     "score": c.score, "reasons": c.reasons, "state": c.state}
                    for c in s.scalars(select(MatchCandidate).where(
                         MatchCandidate.booking_id == booking_id).order_by(MatchCandidate.rank))]

    # --- housekeepers -------------------------------------------------------------------------
    def accept_offer(self, housekeeper_id: int, offer_id: int) -> dict[str, Any]:
        from backend.services import changes  # offers of kind "change": a new time for a booking

        with self.db.uow() as s:
            o = s.get(Offer, offer_id)
            accept = changes.accept if o is not None and o.kind == "change" else offers.accept  # a new time
            b, problem = accept(self.ctx, s, offer_id, housekeeper_id)
            return {"booking": booking_view(b), "error": problem}

    def decline_offer(self, housekeeper_id: int, offer_id: int) -> None:
        from backend.services import changes

        with self.db.uow() as s:
            o = s.get(Offer, offer_id)
            (changes.decline if o is not None and o.kind == "change" else offers.decline)(
                self.ctx, s, offer_id, housekeeper_id)

    def pending_offers(self, housekeeper_id: int) -> list[dict[str, Any]]:
        with self.db.uow() as s:
            rows = s.scalars(select(Offer).where(Offer.housekeeper_id == housekeeper_id, Offer.status == "pending",
                                                 Offer.expires_at > self.now))
            out = []
            for o in rows:
                b = s.get(Booking, o.booking_id)
                # /offers shows the same words as the offer card: our terms, never the client's notes.
                row = {"offer_id": o.id, **booking_view(b), "template": "offer_new",
                       "profile_codes": profiles.offer_codes(self.ctx, b.standing_notes)}
                ch = s.get(BookingChange, o.change_id) if o.kind == "change" and o.change_id else None
                if ch is not None and ch.starts_at is not None:  # a change offer is for the NEW slot
                    if b.housekeeper_id == housekeeper_id:  # her own job moved: the change-of-time card
                        row.update(template="change_offer", old_starts_at=row["starts_at"])
                    row.update(starts_at=ch.starts_at.isoformat(), ends_at=ch.ends_at.isoformat())
                out.append(row)
            return out

    def arrive(self, housekeeper_id: int, booking_id: int) -> dict[str, Any]:
        with self.db.uow() as s:
            return booking_view(bookings.arrive(self.ctx, s, housekeeper_id, booking_id))

    def finish(self, housekeeper_id: int, booking_id: int) -> dict[str, Any]:
        with self.db.uow() as s:
            return booking_view(bookings.finish(self.ctx, s, housekeeper_id, booking_id))

    def jobs(self, housekeeper_id: int, days: int) -> list[dict[str, Any]]:
        local = self.now.astimezone(self.ctx.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        with self.db.uow() as s:
            return [booking_view(b) for b in bookings.jobs_between(s, housekeeper_id, local,
                                                                   local + timedelta(days=days))]

    # --- escalations --------------------------------------------------------------------------
    def escalate(self, kind: str, client_id: int | None = None, booking_id: int | None = None,
                 by_client: bool = False, **detail: Any) -> int:
        """``by_client``: the client asked for it, so the hourly cap applies (DomainError "escalation_limit")."""
        with self.db.uow() as s:
            return escalations.escalate(self.ctx, s, kind, client_id, booking_id, by_client=by_client,
                                        **detail).id

    def escalations(self) -> list[dict[str, Any]]:
        with self.db.uow() as s:
            return [_esc(e) for e in escalations.open_escalations(s)]

    def acknowledge(self, manager_id: int, escalation_id: int) -> dict[str, Any]:
        with self.db.uow() as s:
            return _esc(escalations.acknowledge(self.ctx, s, escalation_id, manager_id))

    def resolve(self, manager_id: int, escalation_id: int) -> dict[str, Any]:
        with self.db.uow() as s:
            return _esc(escalations.resolve(self.ctx, s, escalation_id, manager_id))

    # --- invites and takeovers ------------------------------------------------------------------
    def create_invite(self, kind: str, person_id: int, days: int = 7) -> str:
        token = people.new_token() + people.new_token()
        with self.db.uow() as s:
            s.add(Invite(token=token, person_kind=kind, person_id=person_id, created_at=self.now,
                         expires_at=self.now + timedelta(days=days)))
        return token

    def redeem_invite(self, token: str, channel: str, external_id: str) -> people.Person | None:
        """Bind the chat account to the invited person; None for unknown, used or expired invites (and
        clients' link codes, which only LinkingFacade.link_identity takes)."""
        with self.db.uow() as s:
            inv = s.get(Invite, token[:64], with_for_update=True) if token else None
            if inv is None or inv.used_at is not None or inv.expires_at <= self.now or inv.person_kind == "client":
                return None
            inv.used_at = self.now
            people.bind(s, inv.person_kind, inv.person_id, channel, external_id)
            s.flush()
            return people.identify(s, channel, external_id)

    def take_over(self, manager_id: int, escalation_id: int) -> dict[str, Any]:
        with self.db.uow() as s:
            esc = s.get(Escalation, escalation_id, with_for_update=True)
            if esc is None or esc.client_id is None:
                raise DomainError("escalation_not_found")
            held = s.scalar(select(Takeover).where(Takeover.client_id == esc.client_id, Takeover.ended_at.is_(None)))
            if held is not None and held.manager_id != manager_id:
                raise DomainError("taken_by_other")
            for t in s.scalars(select(Takeover).where(Takeover.manager_id == manager_id,
                                                      Takeover.ended_at.is_(None))):
                t.ended_at = self.now  # one conversation at a time per manager
            if held is None or held.manager_id != manager_id or held.ended_at is not None:
                s.add(Takeover(client_id=esc.client_id, manager_id=manager_id, escalation_id=esc.id,
                               started_at=self.now))
            if esc.status == "open":
                escalations.acknowledge(self.ctx, s, esc.id, manager_id)
            m = s.get(Manager, manager_id)
            outbox.notify(s, self.now, "client", esc.client_id, "takeover_started",
                          f"takeover:{esc.id}:{manager_id}:{self.now.isoformat()}", manager=m.name if m else "")
            return {"client_id": esc.client_id, "escalation_id": esc.id}

    def client_turn(self, client_id: int) -> dict[str, Any]:
        """What a client's turn needs, in one transaction: who holds the conversation, the known phone,
        the survey awaiting an answer, the butler contract now (dialogs/domain.d/butler.yml)."""
        with self.db.read() as s:
            # One round trip for the common case; the survey and the butler are loaded only when there.
            kept = self.db.kept_read(turn_reads.FACTS)  # read with the sender (message_from), if nothing since
            if kept is not None and kept.client_id == client_id:
                (manager, survey_id, maybe_butler), phone = kept.facts, kept.phone
            else:
                manager, survey_id, maybe_butler = turn_reads.client_facts(s, client_id, self.now, self.ctx.butler)
                phone = c.phone if (c := s.get(Client, client_id)) else None
            sv = s.get(Survey, survey_id) if manager is None and survey_id is not None else None
            return {"manager_id": manager, "phone": phone,
                    "survey": surveys.view(self.ctx, s, sv) if sv is not None else None,
                    "butler": butler.contract_view(self.ctx, s, client_id) if maybe_butler else None}

    def takeover_of_manager(self, manager_id: int) -> int | None:
        with self.db.uow() as s:
            return s.scalar(select(Takeover.client_id).where(Takeover.manager_id == manager_id,
                                                             Takeover.ended_at.is_(None)))

    def hand_back(self, manager_id: int) -> int | None:
        with self.db.uow() as s:
            t = s.scalar(select(Takeover).where(Takeover.manager_id == manager_id, Takeover.ended_at.is_(None)))
            if t is None:
                return None
            t.ended_at = self.now
            outbox.notify(s, self.now, "client", t.client_id, "takeover_ended", f"takeover_end:{t.id}")
            return t.client_id

    def relay(self, to_kind: str, to_id: int, template: str, **params: Any) -> None:
        """A message between a manager and the client she holds, through the outbox (any channel). A
        manager's message under a takeover linked to an open case carries its case_id: the first one
        that reaches the client stops that case's first-response clock."""
        with self.db.uow() as s:
            if to_kind == "client" and template == "manager_message" and "case_id" not in params:
                t = s.scalar(select(Takeover).where(Takeover.client_id == to_id, Takeover.ended_at.is_(None)))
                esc = s.get(Escalation, t.escalation_id) if t is not None and t.escalation_id else None
                if esc is not None and esc.status != "closed":
                    params["case_id"] = esc.id
                    case_clock.event(s, esc, self.now, f"manager:{t.manager_id}", "replied",
                                     text=params.get("text"), via="takeover")
            outbox.notify(s, self.now, to_kind, to_id, template, f"relay:{people.new_token()}", **params)

    # --- timers (the outbox is in backend/facade/outbox.py) ----------------------------------------
    def run_due_timers(self, limit: int = 100) -> int:
        """Run due timers one per transaction: a crash mid-way leaves the rest pending, not lost."""
        done = 0
        while done < limit:
            with self.db.uow() as s:
                due = timers.claim_due(s, self.now, limit=1)
                if not due:
                    return done
                t = due[0]
                handler = timers.HANDLERS.get(t.kind)
                if handler is not None:
                    handler(self.ctx, s, t.ref_id)
                t.status = "done"
                testhooks.crash_point("timer_run")  # killed here, the timer and its effects roll back
            done += 1
        return done

    @staticmethod
    def _lang(s: Any, kind: str, person_id: int) -> str:
        model = {"client": Client, "housekeeper": Housekeeper, "manager": Manager}[kind]
        p = s.get(model, person_id)
        return getattr(p, "lang", "zh") if p else "zh"


def _contact_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Profile values as stored, those given as None left out; or DomainError("invalid_<field>")."""
    return {k: _contact_field(k, v) for k, v in fields.items() if v is not None}


def _update_client(session: Session, client_id: int, clean: dict[str, Any]) -> None:
    c = session.get(Client, client_id)
    if c is None:
        raise DomainError("client_not_found")
    for k, v in clean.items():
        setattr(c, k, v)


def _contact_field(field: str, value: Any) -> Any:
    """A profile value as stored, or DomainError("invalid_<field>")."""
    check = {"phone": contact.phone, "address": contact.address, "name": contact.name,
             "lang": lambda v: v if v in ("zh", "zh-Hant", "en") else None}.get(field)
    if check is None:
        raise DomainError("unknown_field")
    clean = check(value) if isinstance(value, str) else None
    if clean is None:
        raise DomainError(f"invalid_{field}")
    return clean


def _esc(e: Escalation) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "status": e.status, "client_id": e.client_id, "booking_id": e.booking_id,
            "detail": e.detail, "created_at": e.created_at.isoformat()}

