"""The shortlist of a placement (issue 12): candidates asked whether they are willing, the willing held.

- ``start_round``: rank everyone for the term (backend/services/placement_matching.py), store the round
  and ask the best ``shortlist_size``. Each ask runs on the offer clock (timer ``placement_ask_expiry``);
  an unwilling or expired answer asks the next one ranked.
- A willing candidate is held until ``hold_expires_at`` (timer ``placement_hold_expiry``): while held she
  is busy for the term (roster.schedules, matching), not for short visits before it.
- The client gets a card per willing candidate (the first with the "shortlist ready" message); nobody
  left and nobody willing → the managers get a case (kind ``placement_unmatched``) and the client is told.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain.contact import first_name
from backend.domain.placements import SEEN, age_band
from backend.orm import Certificate, Client, Housekeeper, Interview, Manager, Placement, PlacementCandidate
from backend.services import Context, DomainError, placement_matching, timers, vetting
from backend.services.audit import record
from backend.services.escalations import escalate
from backend.services.offers import replace_card
from backend.services.outbox import notify, stale_when

ASK_EXPIRY, HOLD_EXPIRY = "placement_ask_expiry", "placement_hold_expiry"


def subject(pl: Placement) -> str:
    return f"placement:{pl.id}"


def ask_minutes(ctx: Context) -> int:
    return ctx.placements.ask_timeout_minutes or ctx.offer_timeout_minutes


def seen_ids(session: Session, pl: Placement) -> set[int]:
    """Housekeepers this placement (and those it replaces) asked before: never asked again."""
    ids: set[int] = set()
    cur: Placement | None = pl
    while cur is not None:
        ids |= set(session.scalars(select(PlacementCandidate.housekeeper_id).where(
            PlacementCandidate.placement_id == cur.id, PlacementCandidate.state.in_(SEEN))))
        if cur.booking_id is not None and cur.housekeeper_id is not None:
            ids.add(cur.housekeeper_id)
        cur = session.get(Placement, cur.replaces_id) if cur.replaces_id else None
    return ids


def start_round(ctx: Context, session: Session, pl: Placement) -> int:
    """Rank the term and ask the first candidates; returns how many were asked."""
    m = placement_matching.match(ctx, session, pl, pl.start_date, pl.end_date)
    placement_matching.store(session, pl, m, seen_ids(session, pl))
    record(session, ctx.clock.now(), "placement", pl.id, None, f"round:{pl.round}", "system",
           ranked=len(m.ranked), excluded=len(m.excluded))
    return fill(ctx, session, pl)


def _count(session: Session, pl: Placement, state: str, this_round: bool = True) -> int:
    q = select(func.count(PlacementCandidate.id)).where(PlacementCandidate.placement_id == pl.id,
                                                        PlacementCandidate.state == state)
    return session.scalar(q.where(PlacementCandidate.round == pl.round) if this_round else q) or 0


def waiting(session: Session, pl: Placement) -> int:
    """Candidates held or still asked, in any round (asking for more keeps those already held)."""
    return _count(session, pl, "willing", False) + _count(session, pl, "asked", False)


def fill(ctx: Context, session: Session, pl: Placement) -> int:
    """Ask as many as the shortlist still needs (willing + asked < shortlist_size); when nobody is left
    to ask and nobody is waiting, end the round: unmatched when nobody is willing."""
    if pl.status not in ("shortlisting", "interviewing"):
        return 0
    asked = 0
    need = ctx.placements.shortlist_size - _count(session, pl, "willing") - _count(session, pl, "asked")
    while need > 0:
        cand = session.scalar(select(PlacementCandidate).where(
            PlacementCandidate.placement_id == pl.id, PlacementCandidate.state == "ranked")
            .order_by(PlacementCandidate.rank).limit(1))
        if cand is None:
            break
        # Ranked a while ago: is she still free for the term (another hold, a booking since)?
        again = placement_matching.match(ctx, session, pl, pl.start_date, pl.end_date, only={cand.housekeeper_id})
        if not again.ranked:
            cand.state = "excluded"
            cand.reasons = {**cand.reasons, "excluded": again.excluded.get(cand.housekeeper_id, "gone")}
            continue
        _ask(ctx, session, pl, cand)
        asked += 1
        need -= 1
    if waiting(session, pl) == 0:
        unmatched(ctx, session, pl)
    return asked


def _ask(ctx: Context, session: Session, pl: Placement, cand: PlacementCandidate) -> None:
    now = ctx.clock.now()
    minutes = ask_minutes(ctx)
    cand.state, cand.asked_at, cand.ask_expires_at = "asked", now, now + timedelta(minutes=minutes)
    timers.schedule(session, ASK_EXPIRY, cand.id, cand.ask_expires_at, f"placement_ask:{cand.id}")
    notify(session, now, "housekeeper", cand.housekeeper_id, "placement_ask", f"placement_ask:{cand.id}",
           subject=subject(pl), candidate_id=cand.id, placement_id=pl.id, service=pl.service,
           start_date=pl.start_date.isoformat(), end_date=pl.end_date.isoformat(), term_days=pl.term_days,
           live_in=pl.live_in, days_per_week=pl.days_per_week, daily_hours=pl.daily_hours,
           district=pl.district or "", minutes=minutes, ask_expires_at=cand.ask_expires_at.isoformat(),
           price_estimate=pl.price_estimate,
           **localised(ctx, lang_of(session, "housekeeper", cand.housekeeper_id),
                       live="live_in" if pl.live_in else "live_out"))


def unmatched(ctx: Context, session: Session, pl: Placement) -> None:
    """Nobody willing and nobody left to ask: the managers take it on, and the client hears it honestly."""
    now = ctx.clock.now()
    key = f"placement:{pl.id}:unmatched:{pl.round}"
    notify(session, now, "client", pl.client_id, "placement_unmatched", key, subject=subject(pl),
           placement_id=pl.id, service=pl.service, start_date=pl.start_date.isoformat())
    escalate(ctx, session, "placement_unmatched", client_id=pl.client_id, placement_id=pl.id, service=pl.service,
             start_date=pl.start_date.isoformat(), end_date=pl.end_date.isoformat(), round=pl.round)
    record(session, now, "placement", pl.id, pl.status, "unmatched", "system", round=pl.round)


# --- her answer, the clocks ----------------------------------------------------------------------
def lock_placement(session: Session, placement_id: int) -> Placement | None:
    return session.get(Placement, placement_id, with_for_update=True, populate_existing=True)


def lock_candidate(session: Session, candidate_id: int) -> tuple[PlacementCandidate | None, Placement | None]:
    """The candidate and her placement, locked placement first — the order every command takes (the
    client's choice locks the placement, then its candidates), so an answer and a choice queue up."""
    pid = session.scalar(select(PlacementCandidate.placement_id).where(PlacementCandidate.id == candidate_id))
    if pid is None:
        return None, None
    pl = lock_placement(session, pid)
    return session.get(PlacementCandidate, candidate_id, with_for_update=True, populate_existing=True), pl


def lock_housekeeper(session: Session, housekeeper_id: int | None) -> None:
    """Her row locked before her term is re-checked and taken: a visit accepted at the same moment
    (offers.accept locks her first too) queues behind, and sees the hold or the term booking."""
    if housekeeper_id is not None:
        session.get(Housekeeper, housekeeper_id, with_for_update=True, populate_existing=True)


def answer(ctx: Context, session: Session, housekeeper_id: int, candidate_id: int, willing: bool) -> PlacementCandidate:
    cand, pl = lock_candidate(session, candidate_id)
    if cand is None:
        raise DomainError("ask_not_found")
    if cand.housekeeper_id != housekeeper_id:
        raise DomainError("not_your_ask")
    now = ctx.clock.now()
    if cand.state != "asked":
        raise DomainError("ask_expired" if cand.state in ("expired", "released", "passed") else "ask_answered")
    if (cand.ask_expires_at is not None and cand.ask_expires_at <= now) or pl is None \
            or pl.status not in ("shortlisting", "interviewing"):
        raise DomainError("ask_expired")
    timers.cancel(session, f"placement_ask:{cand.id}")
    cand.responded_at = now
    if not willing:
        cand.state = "declined"
        record(session, now, "placement_candidate", cand.id, "asked", "declined", f"housekeeper:{housekeeper_id}")
        fill(ctx, session, pl)
        return cand
    # Willing: is she still free for the whole term (she may have taken a visit since she was asked)?
    # Not an error (that would roll the answer back): the row says why, and the next one is asked.
    lock_housekeeper(session, housekeeper_id)
    again = placement_matching.match(ctx, session, pl, pl.start_date, pl.end_date, only={housekeeper_id})
    if not again.ranked:
        cand.state = "excluded"
        cand.reasons = {**cand.reasons, "excluded": again.excluded.get(housekeeper_id, "gone")}
        fill(ctx, session, pl)
        return cand
    cand.state = "willing"
    hold(ctx, session, cand, now + timedelta(days=ctx.placements.hold_days))
    record(session, now, "placement_candidate", cand.id, "asked", "willing", f"housekeeper:{housekeeper_id}")
    # She answered in chat: the desk's reply says she is held and until when (no second message).
    first = _count(session, pl, "willing") == 1  # the round's first: "your shortlist is ready"
    tell_client_card(ctx, session, pl, cand, first)
    return cand


def hold(ctx: Context, session: Session, cand: PlacementCandidate, until: datetime) -> None:
    """Hold (or keep holding) her until ``until``: an interview after the hold extends it."""
    if cand.hold_expires_at is not None and cand.hold_expires_at >= until:
        return
    cand.hold_expires_at = until
    timers.schedule(session, HOLD_EXPIRY, cand.id, until, f"placement_hold:{cand.id}:{until.isoformat()}")


@timers.handler(ASK_EXPIRY)
def _ask_expired(ctx: Context, session: Session, candidate_id: int) -> None:
    cand, pl = lock_candidate(session, candidate_id)
    now = ctx.clock.now()
    if cand is None or cand.state != "asked" or (cand.ask_expires_at and cand.ask_expires_at > now):
        return
    cand.state = "expired"
    record(session, now, "placement_candidate", cand.id, "asked", "expired", "timer")
    notify(session, now, "housekeeper", cand.housekeeper_id, "placement_ask_expired",
           f"placement_ask:{cand.id}:expired", subject=f"placement:{cand.placement_id}", candidate_id=cand.id,
           placement_id=cand.placement_id)
    replace_card(session, f"placement_ask:{cand.id}:expired", f"placement_ask:{cand.id}")  # no stale buttons
    if pl is not None:
        fill(ctx, session, pl)


@timers.handler(HOLD_EXPIRY)
def _hold_expired(ctx: Context, session: Session, candidate_id: int) -> None:
    cand, pl = lock_candidate(session, candidate_id)
    now = ctx.clock.now()
    if cand is None or cand.state != "willing" or cand.hold_expires_at is None or cand.hold_expires_at > now:
        return  # chosen, released, or held longer since (an interview)
    cand.state = "expired"
    record(session, now, "placement_candidate", cand.id, "willing", "expired", "timer", why="hold")
    notify(session, now, "housekeeper", cand.housekeeper_id, "placement_hold_expired",
           f"placement_hold:{cand.id}:expired", subject=f"placement:{cand.placement_id}",
           placement_id=cand.placement_id)
    if pl is None or pl.status not in ("shortlisting", "interviewing"):
        return
    hk = session.get(Housekeeper, cand.housekeeper_id)
    notify(session, now, "client", pl.client_id, "placement_shortlist_shrank", f"placement_hold:{cand.id}:client",
           subject=subject(pl), placement_id=pl.id, housekeeper_id=cand.housekeeper_id,
           first_name=first_name(hk.name if hk else ""), left=_count(session, pl, "willing", False))
    if waiting(session, pl) == 0:
        fill(ctx, session, pl)  # nobody held any more: ask the next ones (or tell the managers)


def release(ctx: Context, session: Session, pl: Placement, keep: int | None, why: str) -> list[int]:
    """Everyone asked or held for ``pl`` except ``keep`` is let go, and told. Those only ranked stay so:
    never asked, they are no "previous candidates" (a new round may ask them). Returns who was told."""
    told = []
    for cand in session.scalars(select(PlacementCandidate).where(
            PlacementCandidate.placement_id == pl.id,
            PlacementCandidate.state.in_(("asked", "willing"))).with_for_update()):
        if cand.housekeeper_id == keep:
            continue
        release_one(ctx, session, pl, cand, why)
        told.append(cand.housekeeper_id)
    return told


def release_one(ctx: Context, session: Session, pl: Placement, cand: PlacementCandidate, why: str) -> None:
    now = ctx.clock.now()
    was, cand.state = cand.state, "released"
    timers.cancel(session, f"placement_ask:{cand.id}")
    for iv in session.scalars(select(Interview).where(  # no reminder for an interview with someone let go
            Interview.placement_id == pl.id, Interview.housekeeper_id == cand.housekeeper_id,
            Interview.status == "scheduled")):
        iv.status = "cancelled"
    record(session, now, "placement_candidate", cand.id, was, "released", "system", why=why)
    notify(session, now, "housekeeper", cand.housekeeper_id, "placement_released",
           f"placement_released:{cand.id}", subject=subject(pl), placement_id=pl.id, service=pl.service,
           reason=why)
    if was == "asked":  # the question on her screen becomes the news, without its buttons
        replace_card(session, f"placement_released:{cand.id}", f"placement_ask:{cand.id}")


# --- what a client may see -----------------------------------------------------------------------
def cards(ctx: Context, session: Session, pl: Placement, states: tuple[str, ...] = ("willing",),
          all_rounds: bool = True) -> list[dict[str, Any]]:
    q = select(PlacementCandidate).where(PlacementCandidate.placement_id == pl.id,
                                         PlacementCandidate.state.in_(states))
    if not all_rounds:
        q = q.where(PlacementCandidate.round == pl.round)
    rows = list(session.scalars(q.order_by(PlacementCandidate.round, PlacementCandidate.rank)))
    return card_views(ctx, session, rows)


def card_views(ctx: Context, session: Session, rows: list[PlacementCandidate]) -> list[dict[str, Any]]:
    """Candidate cards: first name, age band, experience, certificates, verified badges, rating and
    survey count, languages — never a phone, an address or a birth year."""
    if not rows:
        return []
    ids = [c.housekeeper_id for c in rows]
    hks = {h.id: h for h in session.scalars(select(Housekeeper).where(Housekeeper.id.in_(ids)))}
    today = ctx.clock.now().astimezone(ctx.tz).date()
    certs: dict[int, set[str]] = {}
    for hk_id, kind in session.execute(select(Certificate.housekeeper_id, Certificate.kind).where(
            Certificate.housekeeper_id.in_(ids), Certificate.expires_on >= today)):
        certs.setdefault(hk_id, set()).add(kind)
    badges = vetting.badges(ctx, session, ids, today)
    out = []
    for c in rows:
        hk = hks.get(c.housekeeper_id)
        if hk is None:
            continue
        out.append({"housekeeper_id": hk.id, "candidate_id": c.id, "first_name": first_name(hk.name),
                    "age_band": age_band(hk.birth_year, today), "experience_years": hk.experience_years,
                    "certificates": sorted(certs.get(hk.id, set())), "badges": list(badges.get(hk.id, [])),
                    "rating": round(hk.rating, 1), "survey_count": hk.survey_count,
                    "languages": list(hk.languages or []), "state": c.state,
                    "hold_expires_at": c.hold_expires_at.isoformat() if c.hold_expires_at else None,
                    "reasons": c.reasons or {}})
    return out


def lang_of(session: Session, kind: str, person_id: int) -> str:
    model = {"client": Client, "housekeeper": Housekeeper, "manager": Manager}[kind]
    return getattr(session.get(model, person_id), "lang", None) or "zh"


def localised(ctx: Context, lang: str, **codes: str) -> dict[str, str]:
    """Our words for codes (interview mode, live-in, settlement …) in the recipient's language
    (config/placements.yaml labels): the same param names in every language's text."""
    return {k: ctx.placements.label(v, lang) for k, v in codes.items()}


def card_params(ctx: Context, card: dict[str, Any], lang: str) -> dict[str, Any]:
    """A card as notification params, its lists (certificates, badges, languages) as words in ``lang``
    (``*_codes`` keep the codes)."""
    p = ctx.placements

    def words(items: list[str]) -> str:
        return ("、" if lang != "en" else ", ").join(p.label(i, lang) for i in items) or "—"

    out = {k: v for k, v in card.items() if k not in ("reasons", "hold_expires_at", "state")}
    out.update(age_band=card["age_band"] or "—", experience_years=card["experience_years"] or 0)
    for k in ("certificates", "badges", "languages"):
        out[f"{k}_codes"], out[k] = card[k], words(card[k])
    return out


def tell_client_card(ctx: Context, session: Session, pl: Placement, cand: PlacementCandidate, first: bool) -> None:
    now = ctx.clock.now()
    card = card_views(ctx, session, [cand])
    if not card:
        return
    if first:
        notify(session, now, "client", pl.client_id, "placement_shortlist_ready",
               f"placement:{pl.id}:ready:{pl.round}", subject=subject(pl), placement_id=pl.id, service=pl.service,
               start_date=pl.start_date.isoformat(), hold_days=ctx.placements.hold_days)
    notify(session, now, "client", pl.client_id, "placement_candidate", f"placement_card:{cand.id}:{pl.round}",
           subject=subject(pl), placement_id=pl.id, hold_expires_at=cand.hold_expires_at.isoformat()
           if cand.hold_expires_at else None, **card_params(ctx, card[0], lang_of(session, "client", pl.client_id)))


@stale_when("placement_ask")
def _ask_stale(session: Session, params: dict[str, Any]) -> bool:
    """An ask not sent yet whose candidate is no longer asked (answered, expired, released)."""
    c = session.get(PlacementCandidate, params.get("candidate_id") or 0)
    return c is None or c.state != "asked"


@stale_when("placement_candidate")
def _card_stale(session: Session, params: dict[str, Any]) -> bool:
    """A card not sent yet whose candidate is no longer held (another was chosen, the hold ended)."""
    c = session.get(PlacementCandidate, params.get("candidate_id") or 0)
    return c is None or c.state != "willing"
