"""Vetted staff records (issue 12): what a housekeeper's file holds, what each service requires, the
hard constraints matching applies and the badges the bot may claim.

Matching reads files in bulk (one query of the non-personal columns for any number of housekeepers:
numbers and names are encrypted and not needed to judge). Recording an item goes through ``record``;
two failed assessments in a row suspend her from matching (staff_status, reason failed_assessment)
until a manager reinstates her. A daily durable timer (``vetting_daily``) warns managers (a digest) and
the housekeeper (a reminder) ``warn_days`` before anything lapses, each warning once, and on the 1st
sends the managers the on-site quality checks of the month before.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, bindparam, func, select, true, type_coerce
from sqlalchemy.orm import Session

from backend.domain import vetting as dom
from backend.orm import Certificate, Housekeeper, Manager, Notification, Timer, VettingRecord
from backend.services import Context, DomainError, outbox
from backend.services.timers import handler, schedule

# The notifier fills templates from params alone (as staff_requests does): the few words a digest line
# or the confirmation's badge line needs are written here in the recipient's language.
WORDS = {
    "zh": {"identity": "实名认证", "background": "背景调查", "certified": "持证上岗", "insured": "保险",
           "insurance": "保险", "training": "培训学时", "assessment": "季度考核", "certificate": "证书",
           "accident": "意外险", "liability": "责任险", "health": "健康证", "badges": "已核验："},
    "en": {"identity": "ID verified", "background": "background checked", "certified": "certified",
           "insured": "insured", "insurance": "insurance", "training": "training hours",
           "assessment": "quarterly assessment", "certificate": "certificate", "accident": "accident insurance",
           "liability": "liability insurance", "health": "health certificate", "badges": "Verified: "},
}


def words(lang: str | None) -> dict[str, str]:
    return WORDS["en" if lang == "en" else "zh"]


def label(item: str, lang: str | None) -> str:
    """"insurance:accident" → 意外险 / accident insurance; "certificate:health" → 健康证."""
    w = words(lang)
    kind, _, sub = item.partition(":")
    if sub:
        if sub in w:
            return w[sub]
        return f"{sub}{w[kind]}" if lang != "en" else f"{sub} {w[kind]}"
    return w.get(kind, kind)


def local_day(ctx: Context, when: date | datetime) -> date:
    return when.astimezone(ctx.tz).date() if isinstance(when, datetime) else when


# --- reading files in bulk --------------------------------------------------------------------------
BULK = 50  # more ids than this: one read of the table instead of a long IN list


def files(session: Session, ids: list[int]) -> dict[int, list[dom.Record]]:
    """Housekeeper id → her records, oldest first (one query; no encrypted column is read)."""
    out: dict[int, list[dom.Record]] = {i: [] for i in ids}
    if not ids:
        return out
    if len(ids) > BULK:  # matching asks about most of the roster: the whole table, parsed once
        everyone = _all_files(session)[0]
        return {i: everyone.get(i, []) for i in ids}
    for hk_id, rec in _read(session, _OF_SOME, {"ids": ids}):
        out[hk_id].append(rec)
    return out


def _records(where: Any) -> Any:
    v = VettingRecord
    return (select(v.housekeeper_id, v.kind, _raw(v.on), v.subkind, _raw(v.expires_on), v.result, v.hours)
            .where(v.kind != "quality_check", where).order_by(v.on, v.id))  # quality checks judge nobody


def _read(session: Session, q: Any, params: dict[str, Any] | None = None) -> Any:
    for hk_id, kind, on, sub, exp, result, hours in session.connection().execute(q, params):  # Core rows: cheaper
        yield hk_id, dom.Record(kind, _date(on), sub, _date(exp) if exp else None, result, hours)


# Every file, parsed, per database, with the checks already made of them (policy, service, day → id →
# Check): records are history (only ever added), so the newest id and the count say whether anything
# changed; a bulk check then costs one tiny query instead of reading and judging 7,000 rows.
Files = dict[int, list[dom.Record]]
Memo = dict[tuple[Any, ...], dict[int, dom.Check]]
_FILES: dict[str, tuple[tuple[Any, ...], Files, Memo]] = {}


def _all_files(session: Session) -> tuple[Files, Memo]:
    v = VettingRecord
    stamp = tuple(session.connection().execute(select(func.max(v.id), func.count(v.id))).one())
    where = str(session.get_bind().url)
    hit = _FILES.get(where)
    if hit is None or hit[0] != stamp:
        everyone: dict[int, list[dom.Record]] = defaultdict(list)
        for hk_id, rec in _read(session, _OF_ALL):
            everyone[hk_id].append(rec)
        hit = _FILES[where] = (stamp, dict(everyone), {})
    return hit[1], hit[2]


def _raw(col: Any) -> Any:
    """A date column read as stored: SQLite's ISO text skips SQLAlchemy's per-value regex (most of the
    time of a bulk read); PostgreSQL's driver gives dates anyway."""
    return type_coerce(col, String)


# Built once (a new booking's ranking reads its candidates' files): only the ids change.
_OF_SOME = _records(VettingRecord.housekeeper_id.in_(bindparam("ids", expanding=True)))
_OF_ALL = _records(true())


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def certificates(session: Session, ids: list[int]) -> dict[int, dict[str, date]]:
    out: dict[int, dict[str, date]] = {i: {} for i in ids}
    if ids:
        q = select(Certificate.housekeeper_id, Certificate.kind, _raw(Certificate.expires_on))
        q = q.where(Certificate.housekeeper_id.in_(ids)) if len(ids) <= BULK else q
        for hk_id, kind, exp in session.execute(q):
            if hk_id in out:
                out[hk_id][kind] = _date(exp)
    return out


def checks(ctx: Context, session: Session, hk_ids: list[int], service: str,
           start: date | datetime) -> dict[int, dom.Check]:
    """Housekeeper id → her file checked for ``service`` on the job's (local) date; nothing when the
    service requires nothing."""
    if not ctx.vetting.items_for(service) or not hk_ids:
        return {}
    day = local_day(ctx, start)
    if len(hk_ids) > BULK:  # the whole roster's checks for this day, kept with the parsed files
        everyone, memo = _all_files(session)
        key = (repr(ctx.vetting), service, day)  # the policy's content: tests run several side by side
        if key not in memo:
            if len(memo) > 256:  # services × days asked since the last change: keep it small
                memo.clear()
            memo[key] = {i: dom.check(ctx.vetting, recs, service, day) for i, recs in everyone.items()}
        done, empty = memo[key], dom.check(ctx.vetting, [], service, day)
        return {i: done.get(i, empty) for i in hk_ids}
    return {i: dom.check(ctx.vetting, recs, service, day) for i, recs in files(session, hk_ids).items()}


def problems(ctx: Context, session: Session, hks: list[Housekeeper], service: str, start: date | datetime,
             end: date | datetime | None = None) -> dict[int, str]:
    """Housekeeper id → why her vetting file does not allow ``service`` from ``start`` to ``end`` (e.g.
    "vetting:insurance", "vetting:training"); absent when it does (or before the policy's enforce_from).
    Items must hold on the first day; lapsing during a long term is the digests' business (renewal)."""
    if not ctx.vetting.enforced(local_day(ctx, start)):
        return {}
    return {i: c.reason for i, c in checks(ctx, session, [h.id for h in hks], service, start).items() if c.reason}


def warnings(ctx: Context, session: Session, hk_ids: list[int], service: str, start: date | datetime) -> dict[int, str]:
    """Before enforce_from: housekeeper id → the items missing or lapsed ("insurance,training"), so
    managers see them in /candidates while she is still matched."""
    if ctx.vetting.enforced(local_day(ctx, start)):
        return {}
    return {i: c.warning for i, c in checks(ctx, session, hk_ids, service, start).items() if c.warning}


def badges(ctx: Context, session: Session, hk_ids: list[int], on: date | datetime) -> dict[int, list[str]]:
    """Housekeeper id → the verified badges her record shows on ``on``: identity, background, certified,
    insured (only those the data backs)."""
    if not hk_ids:
        return {}
    day = local_day(ctx, on)
    recs, certs = files(session, hk_ids), certificates(session, hk_ids)
    q = select(Housekeeper.id, Housekeeper.skills)
    skills = dict(session.execute(q.where(Housekeeper.id.in_(hk_ids)) if len(hk_ids) <= BULK else q).all())
    out = {}
    for i in hk_ids:
        needed = {c for s in skills.get(i) or [] if s in ctx.catalogue for c in ctx.catalogue[s].certificates}
        out[i] = dom.badges(ctx.vetting, recs[i], certs[i], needed, day)
    return out


def badges_text(codes: list[str], lang: str | None) -> str:
    """The confirmation's line (a line break first), "" when her record backs no badge."""
    if not codes:
        return ""
    w = words(lang)
    return "\n" + w["badges"] + ("、" if lang != "en" else ", ").join(w[c] for c in codes)


# --- recording items --------------------------------------------------------------------------------
def _housekeeper(session: Session, code: str) -> Housekeeper:
    hk = session.scalar(select(Housekeeper).where(Housekeeper.code == code))
    if hk is None:
        raise DomainError("no_such_staff")
    return hk


def code_of(session: Session, housekeeper_id: int) -> str:
    hk = session.get(Housekeeper, housekeeper_id)
    if hk is None:
        raise DomainError("no_such_staff")
    return hk.code


def record(ctx: Context, session: Session, code: str, kind: str, actor: str, *, on: date | None = None,
           subkind: str | None = None, expires_on: date | None = None, result: str | None = None,
           number: str | None = None, by: str | None = None, hours: float | None = None,
           notes: str | None = None) -> dict[str, Any]:
    """Add one item to her file (``certificate`` replaces that certificate). A failed assessment that
    makes ``assessments_failed_to_suspend`` in a row suspends her from matching. Returns what was
    stored plus ``suspended`` (True when this record suspended her)."""
    hk = _housekeeper(session, code)
    on = on or ctx.clock.now().astimezone(ctx.tz).date()
    kind = kind.replace("-", "_")
    if kind not in (*dom.KINDS, "certificate"):
        raise DomainError("bad_vetting_item")
    if kind in dom.RESULTS:
        result = result or ("pass" if kind == "identity" else None)
        if result not in dom.RESULTS[kind]:
            raise DomainError("bad_vetting_result")
    if kind in ("insurance", "certificate") and (not subkind or expires_on is None):
        raise DomainError("vetting_kind_and_expiry_needed")
    if kind == "training" and not hours:
        raise DomainError("vetting_hours_needed")
    if kind == "certificate":
        old = session.scalar(select(Certificate).where(Certificate.housekeeper_id == hk.id,
                                                       Certificate.kind == subkind))
        if old is None:
            session.add(Certificate(housekeeper_id=hk.id, kind=subkind, expires_on=expires_on, number=number))
        else:
            old.expires_on, old.number = expires_on, number or old.number
    else:
        session.add(VettingRecord(housekeeper_id=hk.id, kind=kind, subkind=subkind, on=on, expires_on=expires_on,
                                  result=result, number=number, by=by, hours=hours, notes=notes,
                                  recorded_by=actor[:64], created_at=ctx.clock.now()))
    session.flush()
    suspended = kind == "assessment" and result == "fail" and _suspend_after_failures(ctx, session, hk, actor)
    ensure(ctx, session)  # a file exists: its expiries are watched
    return {"code": hk.code, "kind": kind, "subkind": subkind, "on": on.isoformat(), "result": result,
            "expires_on": expires_on.isoformat() if expires_on else None, "suspended": suspended}


def _suspend_after_failures(ctx: Context, session: Session, hk: Housekeeper, actor: str) -> bool:
    need = ctx.vetting.assessments_failed_to_suspend
    if need <= 0 or dom.failed_in_a_row(files(session, [hk.id])[hk.id]) < need or hk.status == "deactivated":
        return False
    if "failed_assessment" in (hk.hold_reasons or []):
        return False
    from backend.services import staff_status  # it imports offers → roster → this module

    staff_status.suspend(ctx, session, hk.code, "failed_assessment", actor)
    now = ctx.clock.now()
    for m in session.scalars(select(Manager).where(Manager.status == "active").order_by(Manager.id)):
        outbox.notify(session, now, "manager", m.id, "vetting_suspended",
                      f"vetting_suspended:{hk.id}:{now.date().isoformat()}:{m.id}", subject=f"housekeeper:{hk.id}",
                      housekeeper=hk.name, code=hk.code, failures=need)
    return True


def save_roster_items(ctx: Context | None, session: Session, now: datetime, hk: Housekeeper,
                      items: dict[str, Any]) -> None:
    """The roster's vetting columns for one housekeeper (see staff.parse_row): a record is added only
    when it differs from the latest of its kind, so re-importing the same file changes nothing.
    ``ctx`` None (an import without a context): stored, but two failed assessments suspend nobody."""
    recs = files(session, [hk.id])[hk.id]
    today = now.astimezone(ctx.tz).date() if ctx is not None else now.date()

    def add(kind: str, **f: Any) -> None:
        session.add(VettingRecord(housekeeper_id=hk.id, kind=kind, recorded_by="roster", created_at=now, **f))

    if "identity" in items:
        on, by = items["identity"]
        last = dom.latest(recs, "identity")
        if last is None or last.on != on:
            add("identity", on=on, by=by, result="pass")
    if "background" in items:
        on, result = items["background"]
        last = dom.latest(recs, "background")
        if last is None or (last.on, last.result) != (on, result):
            add("background", on=on, result=result)
    for kind, number, expiry in items.get("insurance", []):
        last = dom.latest(recs, "insurance", kind)
        if last is None or last.expires_on != expiry:
            add("insurance", subkind=kind, number=number, expires_on=expiry, on=today)
    if "training_hours" in items:
        diff = items["training_hours"] - dom.training_hours(recs)
        if abs(diff) > 1e-9:  # the roster states her total: the difference is recorded (history stays)
            add("training", subkind="roster", hours=diff, on=today)
    known = {(r.on, r.result) for r in recs if r.kind == "assessment"}
    new_fail = False
    for on, result in items.get("assessment", []):
        if (on, result) not in known:
            add("assessment", on=on, result=result)
            new_fail = new_fail or result == "fail"
    session.flush()
    # Only a failure this import added can suspend her: re-importing the same file after a manager
    # reinstated her must not suspend her again.
    if ctx is not None and new_fail and items["assessment"][-1][1] == "fail":
        _suspend_after_failures(ctx, session, hk, "roster")


# --- the file, for managers and for her ---------------------------------------------------------------
def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def view(ctx: Context, session: Session, code: str) -> dict[str, Any]:
    """Her whole file: each item as stored (latest first where it is history), the problems per skill,
    the badges and what lapses next."""
    hk = _housekeeper(session, code)
    today = ctx.clock.now().astimezone(ctx.tz).date()
    rows = list(session.scalars(select(VettingRecord).where(VettingRecord.housekeeper_id == hk.id)
                                .order_by(VettingRecord.on, VettingRecord.id)))
    recs = files(session, [hk.id])[hk.id]
    certs = list(session.scalars(select(Certificate).where(Certificate.housekeeper_id == hk.id)
                                 .order_by(Certificate.kind)))

    def last(kind: str) -> VettingRecord | None:
        found = [r for r in rows if r.kind == kind]
        return found[-1] if found else None

    ident, bg = last("identity"), last("background")
    insurance = {}
    for r in rows:
        if r.kind == "insurance" and r.subkind:
            insurance[r.subkind] = r
    month_start = today.replace(day=1)
    qcs = [r for r in rows if r.kind == "quality_check"]
    expiring = [{"item": item, "expires_on": d.isoformat(), "days": (d - today).days}
                for item, d in dom.expiries(ctx.vetting, recs, {c.kind: c.expires_on for c in certs})]
    problems_by_service = {}
    for s in hk.skills or []:
        found = [f.reason + (f":{f.detail}" if f.detail and f.item == "insurance" else "")
                 for item in ctx.vetting.items_for(s) for f in dom.finding(ctx.vetting, recs, item, today)]
        if found:
            problems_by_service[s] = found
    return {
        "code": hk.code, "name": hk.name, "lang": hk.lang, "status": hk.status,
        "hold_reasons": list(hk.hold_reasons or []),
        "birth_year": hk.birth_year, "experience_years": hk.experience_years,
        "identity": {"on": _iso(ident.on), "by": ident.by, "result": ident.result} if ident else None,
        "background": {"on": _iso(bg.on), "result": bg.result, "by": bg.by} if bg else None,
        "insurance": [{"kind": k, "number": r.number, "expires_on": _iso(r.expires_on)}
                      for k, r in sorted(insurance.items())],
        "training_hours": dom.training_hours(recs), "min_training_hours": ctx.vetting.min_training_hours,
        "assessments": [{"on": _iso(r.on), "result": r.result, "by": r.by}
                        for r in reversed([r for r in rows if r.kind == "assessment"][-4:])],
        "certificates": [{"kind": c.kind, "number": c.number, "expires_on": _iso(c.expires_on)} for c in certs],
        "quality_checks_this_month": sum(1 for r in qcs if r.on >= month_start),
        "last_quality_check": ({"on": _iso(qcs[-1].on), "by": qcs[-1].by, "result": qcs[-1].result} if qcs else None),
        "problems": problems_by_service, "enforced": ctx.vetting.enforced(today),
        "enforce_from": _iso(ctx.vetting.enforce_from),
        "badges": badges(ctx, session, [hk.id], today)[hk.id], "expiring": expiring,
    }


def quality_due(ctx: Context, session: Session, month: date) -> list[dict[str, Any]]:
    """Housekeepers (not deactivated) with fewer than ``quality_checks_per_month`` on-site checks in the
    month of ``month``, fewest first: code, name, count, ever (any check at all)."""
    start = month.replace(day=1)
    end = (start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1))
    counts: dict[int, int] = defaultdict(int)
    ever: set[int] = set()
    v = VettingRecord
    for hk_id, on in session.execute(select(v.housekeeper_id, v.on).where(v.kind == "quality_check", v.on < end)):
        ever.add(hk_id)
        if on >= start:
            counts[hk_id] += 1
    need = ctx.vetting.quality_checks_per_month
    out = [{"code": h.code, "name": h.name, "count": counts[h.id], "ever": h.id in ever}
           for h in session.scalars(select(Housekeeper).where(Housekeeper.status != "deactivated")
                                    .order_by(Housekeeper.code)) if counts[h.id] < need]
    return sorted(out, key=lambda r: (r["count"], r["ever"], r["code"]))


# --- the daily clock --------------------------------------------------------------------------------
KIND = "vetting_daily"


def _managers(session: Session) -> list[Manager]:
    return list(session.scalars(select(Manager).where(Manager.status == "active").order_by(Manager.id)))


def ensure(ctx: Context, session: Session) -> None:
    """One pending daily run at ``digest_hour`` local (idempotent; each run arms the next). Called at
    start-up and whenever a file changes; no digests (``digest_hour: null``) → no timer."""
    if ctx.vetting.digest_hour is None:
        return
    if session.scalar(select(Timer.id).where(Timer.kind == KIND, Timer.status.in_(("pending", "running")))):
        return
    _arm(ctx, session)


def _arm(ctx: Context, session: Session) -> None:
    local = ctx.clock.now().astimezone(ctx.tz)
    run = datetime.combine(local.date(), time(ctx.vetting.digest_hour or 0), ctx.tz)
    if run <= local:
        run += timedelta(days=1)
    schedule(session, KIND, 0, run, f"{KIND}:{run.date().isoformat()}")


@handler(KIND)
def run_daily(ctx: Context, session: Session, _ref: int) -> None:
    today = ctx.clock.now().astimezone(ctx.tz).date()
    expiry_warnings(ctx, session, today)
    if today.day == 1:
        quality_digest(ctx, session, today - timedelta(days=1))
    if ctx.vetting.digest_hour is not None:
        _arm(ctx, session)


def due_warnings(ctx: Context, session: Session, today: date) -> list[dict[str, Any]]:
    """Every warning due today and not yet given: housekeeper, item, expiry, days left and stage."""
    hks = list(session.scalars(select(Housekeeper).where(Housekeeper.status != "deactivated")
                               .order_by(Housekeeper.code)))
    ids = [h.id for h in hks]
    recs, certs = files(session, ids), certificates(session, ids)
    due = []
    for h in hks:
        for item, expiry in dom.expiries(ctx.vetting, recs[h.id], certs[h.id]):
            days = (expiry - today).days
            st = dom.stage(ctx.vetting, days)
            if st is not None:
                due.append({"hk": h, "item": item, "expires_on": expiry, "days": days, "stage": st,
                            "key": f"vetting:{h.id}:{item}:{expiry.isoformat()}:{st}"})
    if not due:
        return []
    sent = set(session.scalars(select(Notification.key).where(Notification.key.in_([d["key"] for d in due]))))
    return [d for d in due if d["key"] not in sent]


def expiry_warnings(ctx: Context, session: Session, today: date) -> int:
    """Her reminder per item (its key marks the warning given) and one digest per manager; returns the
    number of warnings given."""
    due = due_warnings(ctx, session, today)
    now = ctx.clock.now()
    for d in due:
        hk = d["hk"]
        template = "vetting_lapsed" if d["stage"] == 0 else "vetting_reminder"
        outbox.notify(session, now, "housekeeper", hk.id, template, d["key"], subject=f"housekeeper:{hk.id}",
                      item=label(d["item"], hk.lang), expires_on=d["expires_on"].isoformat(), days=d["days"],
                      stage=d["stage"])
    if due:
        for m in _managers(session):
            lines = "\n".join(_digest_line(d, m.lang) for d in due)
            outbox.notify(session, now, "manager", m.id, "vetting_digest", f"vetting_digest:{today.isoformat()}:{m.id}",
                          subject="vetting", count=len(due), lines=lines, date=today.isoformat())
    return len(due)


def _digest_line(d: dict[str, Any], lang: str | None) -> str:
    hk, days = d["hk"], d["days"]
    if lang == "en":
        when = f"expired {d['expires_on']}" if days <= 0 else f"{d['expires_on']} (in {days} days)"
    else:
        when = f"{d['expires_on']} 已到期" if days <= 0 else f"{d['expires_on']}（还有 {days} 天）"
    return f"{hk.code} {hk.name} · {label(d['item'], lang)} · {when}"


def quality_digest(ctx: Context, session: Session, month: date) -> int:
    """The managers' list of who had fewer than the standard's on-site quality checks in ``month``."""
    due = quality_due(ctx, session, month)
    if not due:
        return 0
    now, ym = ctx.clock.now(), month.strftime("%Y-%m")
    need = ctx.vetting.quality_checks_per_month
    for m in _managers(session):
        never = " (never checked)" if m.lang == "en" else "（从未检查）"
        lines = "\n".join(f"{r['code']} {r['name']} · {r['count']}/{need}{'' if r['ever'] else never}" for r in due)
        outbox.notify(session, now, "manager", m.id, "vetting_quality_digest", f"vetting_qc:{ym}:{m.id}",
                      subject="vetting", month=ym, count=len(due), need=need, lines=lines)
    return len(due)
