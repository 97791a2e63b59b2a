"""The client profile (客户档案): items a client told us, kept for every visit (see backend.domain.profile)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.contact import first_name
from backend.domain.profile import KINDS, SOURCES
from backend.orm import Client, Housekeeper, ProfileItem
from backend.services import Context, DomainError
from backend.services.audit import record


def items(session: Session, client_id: int) -> list[ProfileItem]:
    """The client's current items, oldest first (removed ones are not)."""
    return list(session.scalars(select(ProfileItem).where(ProfileItem.client_id == client_id,
                                                          ProfileItem.removed_at.is_(None))
                                .order_by(ProfileItem.id)))


def standing_notes(session: Session, client_id: int) -> list[dict[str, Any]]:
    """What a new booking carries from the profile: [{"id","kind","code","text"}] (``address_as`` is how
    we speak to the client, not a note for the housekeeper)."""
    return [{"id": i.id, "kind": i.kind, "code": i.code, "text": i.text}
            for i in items(session, client_id) if i.kind != "address_as"]


TEXT_MAX = 200  # a client's own words per item: a sentence, not an essay
PREFERENCE_KINDS = ("preferred", "never_again")


def _client(session: Session, client_id: int, lock: bool = False) -> Client:
    c = session.get(Client, client_id, with_for_update=lock)
    if c is None or c.erased_at is not None:
        raise DomainError("client_not_found")
    return c


def _label(ctx: Context, code: str | None) -> dict[str, str] | None:
    """Our words for a coded item, per language (None for the client's own words)."""
    term = ctx.profile.term(code)
    return dict(term.labels) if term is not None else None


def note_views(ctx: Context, notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``standing_notes`` with our words for their codes, as ``item_view`` gives them."""
    return [{**n, "label": _label(ctx, n.get("code"))} for n in notes]


def item_view(ctx: Context, i: ProfileItem) -> dict[str, Any]:
    return {"id": i.id, "kind": i.kind, "code": i.code, "label": _label(ctx, i.code), "text": i.text,
            "source": i.source, "created_at": i.created_at.isoformat() if i.created_at else None}


def _people(session: Session, ids: list[int] | None) -> list[dict[str, Any]]:
    """Housekeepers by id, in the list's order (one that no longer exists is left out)."""
    ids = [int(i) for i in ids or []]
    if not ids:
        return []
    names = dict(session.execute(select(Housekeeper.id, Housekeeper.name).where(Housekeeper.id.in_(ids))).all())
    return [{"id": i, "name": first_name(names[i])} for i in ids if i in names]  # what a client may see


def profile(ctx: Context, session: Session, client_id: int) -> dict[str, Any]:
    c = _client(session, client_id)
    return {"client_id": c.id, "address_as": c.address_as, "lang": c.lang,
            "items": [item_view(ctx, i) for i in items(session, client_id)],
            "preferred": _people(session, c.preferred), "never_again": _people(session, c.never_again)}


def _checked(ctx: Context, raw: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(kind, code, text) of one item to add, or DomainError. A coded item takes its term's kind."""
    kind, code = raw.get("kind"), raw.get("code") or None
    text = str(raw["text"]).strip() if raw.get("text") is not None else None
    if kind not in KINDS:
        raise DomainError("invalid_profile_kind")
    if code is not None:
        term = ctx.profile.term(str(code))
        if term is None:
            raise DomainError("invalid_profile_code")
        kind, code = term.kind, term.code
    if text is not None and len(text) > TEXT_MAX:
        raise DomainError("profile_text_too_long")
    if not code and not text:
        raise DomainError("invalid_profile_item")
    return kind, code, text or None


def add_items(ctx: Context, session: Session, client_id: int, new: list[dict[str, Any]],
              source: str = "chat") -> list[dict[str, Any]]:
    """Add items to the client's file; returns the views of those added. All are checked before any is
    stored. A coded item already held (or the same words for an uncoded one) is not added twice; an
    ``address_as`` item sets how we address the client instead of becoming a note for the housekeeper."""
    if source not in SOURCES:
        raise DomainError("invalid_profile_source")
    c = _client(session, client_id, lock=True)  # two captures at once queue here: no duplicate codes
    checked = [_checked(ctx, raw) for raw in new]
    held = items(session, client_id)
    codes = {i.code for i in held if i.code}
    words = {(i.kind, (i.text or "").casefold()) for i in held if not i.code}
    now, added = ctx.clock.now(), []
    for kind, code, text in checked:
        if kind == "address_as":
            c.address_as = text
            continue
        if (code and code in codes) or (not code and (kind, (text or "").casefold()) in words):
            continue
        item = ProfileItem(client_id=client_id, kind=kind, code=code, text=text, source=source, created_at=now)
        session.add(item)
        session.flush()
        if code:
            codes.add(code)
        else:
            words.add((kind, (text or "").casefold()))
        added.append(item_view(ctx, item))
    if added:  # the audit names how many and from where, never the client's words
        record(session, now, "client", client_id, None, "profile_items_added", f"client:{client_id}",
               count=len(added), source=source)
    return added


def remove_item(ctx: Context, session: Session, client_id: int, item_id: int) -> dict[str, Any]:
    """Soft removal: the item stops applying to new bookings; its row stays until erasure."""
    _client(session, client_id)
    item = session.get(ProfileItem, item_id, with_for_update=True)
    if item is None or item.client_id != client_id or item.removed_at is not None:
        raise DomainError("profile_item_not_found")
    item.removed_at = ctx.clock.now()
    record(session, item.removed_at, "profile_item", item.id, "held", "removed", f"client:{client_id}")
    return item_view(ctx, item)


def set_address_as(ctx: Context, session: Session, client_id: int, text: str | None) -> dict[str, Any]:
    c = _client(session, client_id, lock=True)
    text = text.strip() if text else None
    if text is not None and len(text) > 32:
        raise DomainError("profile_text_too_long")
    c.address_as = text or None
    return profile(ctx, session, client_id)


def remove_preference(ctx: Context, session: Session, client_id: int, kind: str,
                      housekeeper_id: int) -> dict[str, Any]:
    """Take a housekeeper off the client's preferred or never-again list; returns both lists."""
    if kind not in PREFERENCE_KINDS:
        raise DomainError("invalid_preference_kind")
    c = _client(session, client_id, lock=True)
    current = [int(i) for i in getattr(c, kind) or []]
    if housekeeper_id not in current:
        raise DomainError("not_in_list")
    setattr(c, kind, [i for i in current if i != housekeeper_id])  # a new list: JSON columns track assignment
    record(session, ctx.clock.now(), "client", client_id, kind, "removed", f"client:{client_id}",
           housekeeper_id=housekeeper_id)
    return {"preferred": _people(session, c.preferred), "never_again": _people(session, c.never_again)}


def codes_of(notes: list[dict[str, Any]] | None) -> list[str]:
    return [n["code"] for n in notes or [] if n.get("code")]


def offer_codes(ctx: Context, notes: list[dict[str, Any]] | None) -> list[str]:
    """What the offer card may show before she accepts: codes of terms marked ``offer`` (our own words,
    never the client's), each once, in the booking's order."""
    out: list[str] = []
    for code in codes_of(notes):
        term = ctx.profile.term(code)
        if term is not None and term.offer and code not in out:
            out.append(code)
    return out


def job_notes(notes: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every standing note for the job card after acceptance: the code and the client's own words."""
    return [{"code": n.get("code"), "text": n.get("text")} for n in notes or [] if n.get("code") or n.get("text")]
