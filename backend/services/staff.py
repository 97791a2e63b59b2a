"""The roster file (format 1, CSV or YAML): an upsert of the columns present, with line-numbered errors.

A column absent from the file (or an empty cell) keeps the stored value; a new person needs ``code``,
``name`` and, for housekeepers, ``skills``. Unknown columns are an error. Later issues add columns;
``format`` stays 1 as long as old files still mean the same thing.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.catalogue import Catalogue
from backend.domain.places import canonical_city, canonical_district, districts_of
from backend.domain.surveys import SurveyPolicy
from backend.orm import Certificate, Housekeeper, Manager, WorkingHours
from backend.services import Context, people, ratings, staff_tokens, vetting

FORMAT = 1
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
FIELDS = ("code", "role", "name", "phone", "skills", "languages", "districts", "rating", "days", "hours",
          "certificates", "lang", "pets_ok", "attributes", "city", "wecom_userid",
          # the vetting file (issue 12; backend/services/vetting.py), see VETTING_COLUMNS
          "birth_year", "experience_years", "identity_checked", "background", "insurance", "training_hours",
          "assessment")
# Vetting columns → how a cell looks (the error names it). Several items are separated by ";".
VETTING_COLUMNS = {
    "identity_checked": "2026-01-05/王经理 (date checked / by whom)",
    "background": "2026-01-06:clear (date:clear|record)",
    "insurance": "accident:PA123:2027-06-30;liability:LB9:2027-06-30 (kind:policy number:expiry)",
    "training_hours": "48 (her total training hours)",
    "assessment": "2026-07-01:pass;2026-10-01:pass (date:pass|fail, each quarterly assessment)",
}
YES, NO = ("yes", "true", "1", "y", "是"), ("no", "false", "0", "n", "否")
REQUIRED_NEW = {"housekeeper": ("name", "skills"), "manager": ("name",)}
MANAGER_ROLES = ("manager", "supervisor")  # a supervisor is a manager one level up: breaches go to her
CLEAR = "-"  # in phone, districts, certificates or attributes: remove the stored value
DEFAULT_DAYS, DEFAULT_HOURS = [0, 1, 2, 3, 4], (480, 1200)


class RosterError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class Row:
    """One roster entry. ``present`` names the columns the file gave a value; only those change an
    existing person. The other attributes hold the value or the default a new person gets."""

    line: int
    code: str
    role: str  # "" when absent: an existing person keeps hers, a new one is a housekeeper; or manager|supervisor
    name: str
    phone: str | None = None
    skills: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=lambda: ["zh"])
    districts: list[str] = field(default_factory=list)
    rating: float = 4.5
    days: list[int] = field(default_factory=lambda: list(DEFAULT_DAYS))
    hours: tuple[int, int] = DEFAULT_HOURS
    certificates: dict[str, date] = field(default_factory=dict)
    lang: str = "zh"
    pets_ok: bool = True  # works in homes with pets (a profile's cat or dog needs it)
    attributes: list[str] = field(default_factory=list)  # words a profile term may need, e.g. non_smoker
    city: str | None = None  # canonical (北京市): the city she works in; None → the company's only city / any
    wecom_userid: str | None = None  # her WeCom (企业微信) UserID: offers and alerts reach her there
    certificate_numbers: dict[str, str] = field(default_factory=dict)  # kind → number, when the cell gave one
    birth_year: int | None = None  # the shortlist shows an age band, never the year
    experience_years: int | None = None
    vetting: dict[str, Any] = field(default_factory=dict)  # parsed vetting columns (vetting.save_roster_items)
    present: frozenset[str] = frozenset()
    where: str = ""

    def __post_init__(self) -> None:
        self.where = self.where or f"line {self.line}"


def _given(raw: dict[str, Any], key: str) -> bool:
    v = raw.get(key)
    return v is not None and str(v).strip() != "" and v != []


def _list(v: Any) -> list[str]:
    if v is None or v == "" or v == CLEAR:
        return []
    if isinstance(v, list):
        return [str(x).strip() for x in v if str(x).strip()]
    return [x.strip() for x in str(v).replace("；", ";").replace(",", ";").split(";") if x.strip()]


def _clock(s: str) -> int:
    t = time.fromisoformat(s.strip())
    return t.hour * 60 + t.minute


def parse_row(line: int, raw: dict[str, Any], catalogue: Catalogue) -> Row:
    """One roster entry → Row, or ValueError naming the field. Only the given columns are checked."""
    unknown = sorted(str(k) for k in raw if k not in FIELDS)
    if unknown:
        raise ValueError(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    present = frozenset(k for k in FIELDS if _given(raw, k))
    code = str(raw.get("code") or "").strip()
    if not code or len(code) > 32 or not code.isprintable() or " " in code:
        raise ValueError("code is required (at most 32 characters, no spaces)")
    role = str(raw.get("role") or "").strip().lower()
    if role not in ("", "housekeeper", *MANAGER_ROLES):
        raise ValueError(f"role must be housekeeper, manager or supervisor, not {role!r}")
    name = str(raw.get("name") or "").strip()
    if len(name) > 64:
        raise ValueError("name must be at most 64 characters")
    row = Row(line, code, role, name, present=present)
    if "phone" in present:
        phone = str(raw["phone"]).strip().replace(" ", "").replace("-", "") if raw["phone"] != CLEAR else ""
        if phone and not (phone.isdigit() and len(phone) == 11 and phone.startswith("1")):
            raise ValueError(f"phone must be an 11-digit mainland mobile (or - to clear), not {raw.get('phone')!r}")
        row.phone = phone or None
    if "lang" in present:
        row.lang = str(raw["lang"]).strip()
        if row.lang not in ("zh", "en"):
            raise ValueError("lang must be zh or en")
    if "days" in present:
        days = _list(raw["days"])
        if not days or any(d[:3].lower() not in WEEKDAYS for d in days):
            raise ValueError(f"days must be mon..sun, not {raw.get('days')!r}")
        row.days = sorted({WEEKDAYS[d[:3].lower()] for d in days})
    if "hours" in present:
        try:
            start, end = str(raw["hours"]).split("-")
            row.hours = (_clock(start), _clock(end))
        except ValueError:
            raise ValueError(f"hours must look like 08:00-18:00, not {raw.get('hours')!r}") from None
        if row.hours[0] >= row.hours[1]:
            raise ValueError("hours must end after they start")
    if role in MANAGER_ROLES:
        return row  # a manager's days and hours are her duty window (who gets a case's first alerts)
    if "skills" in present:
        row.skills = _list(raw["skills"])
        unknown = [s for s in row.skills if s not in catalogue]
        if not row.skills or unknown:
            raise ValueError(f"skills must be service ids from config/services.yaml; unknown: {unknown or 'none'}")
    if "languages" in present:
        row.languages = _list(raw["languages"]) or ["zh"]
    if "city" in present:
        row.city = canonical_city(str(raw["city"]))
        if row.city is None:
            raise ValueError(f"city must be a city name such as 北京市, 北京 or Beijing, not {raw.get('city')!r}")
    if "districts" in present:
        # Canonical names (朝阳 / Chaoyang → 朝阳区), the same as bookings carry; within her city when given.
        row.districts = [str(canonical_district(row.city, d)) for d in _list(raw["districts"])]
        if districts_of(row.city):
            wrong = [d for d in row.districts if d not in districts_of(row.city)]
            if wrong:
                raise ValueError(f"districts {', '.join(wrong)} are not in {row.city}")
    if "rating" in present:
        try:
            row.rating = float(raw["rating"])
        except ValueError:
            raise ValueError(f"rating must be a number from 0 to 5, not {raw.get('rating')!r}") from None
        if not 0 <= row.rating <= 5:
            raise ValueError("rating must be from 0 to 5")
    if "pets_ok" in present:
        word = str(raw["pets_ok"]).strip().lower()
        if word not in YES + NO:
            raise ValueError(f"pets_ok must be yes or no (true/false, 1/0), not {raw.get('pets_ok')!r}")
        row.pets_ok = word in YES
    if "attributes" in present:
        row.attributes = list(dict.fromkeys(_list(raw["attributes"])))
        bad = [a for a in row.attributes if len(a) > 32 or " " in a]
        if bad:
            raise ValueError(f"attributes must be single words of at most 32 characters, not {bad}")
    if "wecom_userid" in present:
        uid = str(raw["wecom_userid"]).strip() if raw["wecom_userid"] != CLEAR else ""
        if uid and (len(uid) > 64 or not re.fullmatch(r"[A-Za-z0-9_.@-]+", uid)):
            raise ValueError("wecom_userid must be a WeCom UserID (at most 64 letters, digits, _ . @ -)")
        row.wecom_userid = uid or None
    if "certificates" in present:
        for item in _list(raw["certificates"]):
            kind, _, rest = item.partition(":")
            expiry, _, number = rest.partition(":")
            try:
                row.certificates[kind.strip()] = date.fromisoformat(expiry.strip())
            except ValueError:
                raise ValueError(f"certificates must look like health:2027-06-30 or health:2027-06-30:NO123 "
                                 f"(kind:expiry[:number]), not {item!r}") from None
            if number.strip():
                row.certificate_numbers[kind.strip()] = number.strip()
    _parse_vetting(row, raw, present)
    return row


def _year(raw: Any, column: str, low: int, high: int) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"{column} must be a whole number from {low} to {high}, not {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{column} must be from {low} to {high}, not {value}")
    return value


def _day(text: str, column: str, item: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{column} must look like {VETTING_COLUMNS[column]}, not {item!r}") from None


def _parse_vetting(row: Row, raw: dict[str, Any], present: frozenset[str]) -> None:
    """The vetting columns present → ``row.vetting`` (and birth_year, experience_years)."""
    if "birth_year" in present:
        row.birth_year = _year(raw["birth_year"], "birth_year", 1940, date.today().year - 16)
    if "experience_years" in present:
        row.experience_years = _year(raw["experience_years"], "experience_years", 0, 60)
    v = row.vetting
    if "identity_checked" in present:
        item = str(raw["identity_checked"]).strip()
        on, _, by = item.partition("/")
        v["identity"] = (_day(on, "identity_checked", item), by.strip() or None)
    if "background" in present:
        item = str(raw["background"]).strip()
        on, _, result = item.partition(":")
        if result.strip() not in ("clear", "record"):
            raise ValueError(f"background must look like {VETTING_COLUMNS['background']}, not {item!r}")
        v["background"] = (_day(on, "background", item), result.strip())
    if "insurance" in present:
        policies = []
        for item in _list(raw["insurance"]):
            parts = [x.strip() for x in item.split(":")]
            if len(parts) != 3 or not parts[0] or not parts[1] or " " in parts[0]:
                raise ValueError(f"insurance must look like {VETTING_COLUMNS['insurance']}, not {item!r}")
            policies.append((parts[0], parts[1], _day(parts[2], "insurance", item)))
        if len({p[0] for p in policies}) != len(policies):
            raise ValueError("insurance names the same kind twice")
        v["insurance"] = policies
    if "training_hours" in present:
        try:
            hours = float(str(raw["training_hours"]).strip())
        except ValueError:
            hours = -1
        if not 0 <= hours <= 10000:
            raise ValueError(f"training_hours must be a number of hours (0 or more), not {raw['training_hours']!r}")
        v["training_hours"] = hours
    if "assessment" in present:
        runs = []
        for item in _list(raw["assessment"]):
            on, _, result = item.partition(":")
            if result.strip() not in ("pass", "fail"):
                raise ValueError(f"assessment must look like {VETTING_COLUMNS['assessment']}, not {item!r}")
            runs.append((_day(on, "assessment", item), result.strip()))
        v["assessment"] = sorted(runs, key=lambda x: x[0])


def _format(value: Any, where: str) -> None:
    if str(value).strip() != str(FORMAT):
        raise RosterError([f"{where}: roster format {value!r} is not supported; this version reads format {FORMAT}"])


def _yaml_entries(name: str, text: str) -> list[tuple[int, Any]]:
    try:
        # A roster comes from outside: the pure-Python parser, whose nesting ends in a RecursionError, not
        # libyaml's (config/yamlfile.py), whose C recursion has no limit and crashes the process.
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RosterError([f"{name} line {mark.line + 1 if mark else 1}: not valid YAML"]) from None
    except RecursionError:
        raise RosterError([f"{name}: nested too deeply to be a roster"]) from None
    if isinstance(data, dict):
        extra = sorted(str(k) for k in data if k not in ("format", "staff"))
        if extra:
            raise RosterError([f"{name}: unknown top-level key(s) {', '.join(extra)}; expected format and staff"])
        _format(data.get("format", FORMAT), name)
        data = data.get("staff") or []
    if data is None:
        data = []
    if not isinstance(data, list):
        raise RosterError([f"{name}: expected a list of staff entries under 'staff:'"])
    return [(i + 1, d) for i, d in enumerate(data)]


def _csv_entries(name: str, text: str) -> list[tuple[int, Any]]:
    offset = 0
    if text.startswith("#"):
        first, _, text = text.partition("\n")
        key, _, value = first.lstrip("#").partition(":")
        if key.strip().lower() != "format":
            raise RosterError([f"{name} line 1: the only comment allowed is '# format: {FORMAT}'"])
        _format(value, f"{name} line 1")
        offset = 1
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    unknown = [h for h in header if h not in FIELDS]
    if unknown or "code" not in header:
        problem = (f"unknown column(s) {', '.join(repr(h) for h in unknown)}" if unknown else "missing column 'code'")
        raise RosterError([f"{name} line {offset + 1}: {problem}; known columns: {', '.join(FIELDS)}"])
    entries: list[tuple[int, Any]] = []
    for raw in reader:
        n = offset + reader.line_num
        if None in raw:
            entries.append((n, "more cells than columns"))
        elif any(v for v in raw.values()):
            entries.append((n, raw))
    return entries


def read_roster(path: Path, catalogue: Catalogue) -> list[Row]:
    """Parse and check a roster file; RosterError lists every bad entry with its line (CSV) or entry number."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError([f"{path.name}: not UTF-8 text"]) from None
    if path.suffix.lower() in (".yml", ".yaml"):
        entries, where = _yaml_entries(path.name, text), "entry"
    else:
        entries, where = _csv_entries(path.name, text), "line"
    rows, errors, seen = [], [], set()
    for n, raw in entries:
        at = f"{path.name} {where} {n}"
        if not isinstance(raw, dict):
            errors.append(f"{at}: {raw if isinstance(raw, str) else 'not a mapping'}")
            continue
        try:
            row = parse_row(n, raw, catalogue)
        except ValueError as exc:
            errors.append(f"{at}: {exc}")
            continue
        row.where = at
        if row.code in seen:
            errors.append(f"{at}: code {row.code} appears twice")
            continue
        seen.add(row.code)
        rows.append(row)
    if errors:
        raise RosterError(errors)
    return rows


def _existing(session: Session, code: str) -> tuple[str, Housekeeper | Manager] | None:
    for kind, model in people.STAFF_MODELS.items():
        p = session.scalar(select(model).where(model.code == code))
        if p is not None:
            return kind, p
    return None


def save_rows(session: Session, now: datetime, rows: list[Row], ctx: Context | None = None) -> dict[str, str]:
    """Upsert; returns code → staff token for the people this import created (shown once). Existing
    people keep their tokens and every value whose column is absent. RosterError when a new person
    lacks a required column or a row would change someone's role (nothing is saved).
    ``rating`` is her roster rating, the prior of the running one, which is recomputed from her
    surveys (``ctx.surveys``; the shipped policy without a context): a re-import never resets them."""
    found = {r.code: _existing(session, r.code) for r in rows}
    errors = []
    for r in rows:
        hit = found[r.code]
        if hit is not None and r.role and kind_of(r.role) != hit[0]:
            errors.append(f"{r.where}: {r.code} is a {hit[0]}; a roster cannot change someone's role")
        elif hit is None:
            missing = [f for f in REQUIRED_NEW[kind_of(r.role)] if f not in r.present]
            if missing:
                errors.append(f"{r.where}: new {r.role or 'housekeeper'} {r.code} needs {', '.join(missing)}")
    if errors:
        raise RosterError(errors)
    tokens = {}
    for r in rows:
        hit = found[r.code]
        new = hit is None
        if hit is None:
            kind = kind_of(r.role)
            person = people.STAFF_MODELS[kind](code=r.code, name=r.name, lang=r.lang, status="active")
            session.add(person)
        else:
            kind, person = hit
        given = set(FIELDS) if new else set(r.present)
        if "name" in given:
            person.name = r.name
        if "lang" in given:
            person.lang = r.lang
        if isinstance(person, Housekeeper):
            for attr in ("phone", "skills", "languages", "districts", "pets_ok", "attributes", "city"):
                if attr in given:
                    setattr(person, attr, getattr(r, attr))
            if "rating" in given:
                person.roster_rating = r.rating
            for attr in ("birth_year", "experience_years"):
                if attr in r.present:
                    setattr(person, attr, getattr(r, attr))
            if new:
                person.active, person.hold_reasons = True, []
        else:
            _save_duty(person, r)
        session.flush()
        if isinstance(person, Housekeeper):
            _save_schedule(session, person.id, r, given)
            if r.vetting:
                vetting.save_roster_items(ctx, session, now, person, r.vetting)
            if "rating" in given:
                ratings.recompute(ctx or _policy_only(), session, person.id)
        _rest_identity(session, kind, person)
        if "wecom_userid" in r.present:
            _wecom_identity(session, kind, person, r.wecom_userid, r.where)
        if new:
            tokens[r.code] = staff_tokens.issue(session, now, kind, person.id)
    return tokens


def _wecom_identity(session: Session, kind: str, person: Any, userid: str | None, where: str) -> None:
    """The roster names her WeCom account: it is her identity there (another one, or none, replaces it).
    An account already someone else's is refused (a typo or a copied line must not move a colleague's
    offers to her): clear it on that person's row first."""
    held = people.identify(session, "wecom", userid) if userid else None
    if held is not None and (held.kind, held.id) != (kind, person.id):
        raise RosterError([f"{where}: wecom_userid {userid} is already bound to someone else on the roster; "
                           "clear it there first (wecom_userid: -)"])
    for ident in people.identities_of(session, kind, person.id):
        if ident.channel == "wecom" and ident.external_id != userid:
            session.delete(ident)
    session.flush()
    if userid and getattr(person, "status", "") != "deactivated":
        people.bind(session, kind, person.id, "wecom", userid)


def _policy_only() -> Context:
    """A stand-in context carrying only the shipped survey policy (all ``ratings.recompute`` reads) for
    callers that import without one."""
    return cast(Context, SimpleNamespace(surveys=SurveyPolicy()))


def kind_of(role: str) -> str:
    """A roster role → the kind of person it makes (a supervisor is a manager)."""
    return "manager" if role in MANAGER_ROLES else "housekeeper"


def _save_duty(m: Manager, r: Row) -> None:
    """Role and duty window of a manager: only the columns the file gave (no days/hours: always on duty)."""
    if r.role in MANAGER_ROLES:
        m.role = r.role
    if "days" in r.present:
        m.duty_days = list(r.days)
    if "hours" in r.present:
        m.duty_start_minute, m.duty_end_minute = r.hours


def _save_schedule(session: Session, hk_id: int, r: Row, given: set[str]) -> None:
    if {"days", "hours"} & given:
        stored = list(session.scalars(select(WorkingHours).where(WorkingHours.housekeeper_id == hk_id)))
        days = r.days if "days" in given else sorted({w.weekday for w in stored}) or DEFAULT_DAYS
        hours = r.hours if "hours" in given else (
            (stored[0].start_minute, stored[0].end_minute) if stored else DEFAULT_HOURS)
        session.execute(delete(WorkingHours).where(WorkingHours.housekeeper_id == hk_id))
        for d in days:
            session.add(WorkingHours(housekeeper_id=hk_id, weekday=d, start_minute=hours[0], end_minute=hours[1]))
    if "certificates" in given:
        session.execute(delete(Certificate).where(Certificate.housekeeper_id == hk_id))
        for kind, expiry in r.certificates.items():
            session.add(Certificate(housekeeper_id=hk_id, kind=kind, expires_on=expiry,
                                    number=r.certificate_numbers.get(kind)))


def _rest_identity(session: Session, kind: str, person: Housekeeper | Manager) -> None:
    """Staff speak on REST as "staff:CODE" (no secret in it; the Bearer token proves it). Older
    "staff-<hex>" sender ids were secrets in the sender and are removed."""
    for ident in people.identities_of(session, kind, person.id):
        if ident.channel == "rest" and ident.external_id != people.rest_sender(person.code):
            session.delete(ident)
    session.flush()
    if person.status != "deactivated":
        people.bind(session, kind, person.id, "rest", people.rest_sender(person.code))


DISTRICTS = ["朝阳", "海淀", "东城", "西城", "丰台", "通州", "浦东", "徐汇", "静安", "闵行"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾"


def demo_rows(today: date | None = None) -> list[dict[str, Any]]:
    """A realistic roster: 32 housekeepers over every service, district and language, plus two managers.
    Everyone's vetting file is complete (identity, background, insurance, training, a recent assessment)."""
    today = today or datetime.now().date()
    far = (today + timedelta(days=400)).isoformat()
    soon = (today + timedelta(days=20)).isoformat()
    checked = (today - timedelta(days=200)).isoformat()
    assessed = (today - timedelta(days=30)).isoformat()
    plan = [("cleaning", 10), ("deep_cleaning", 5), ("housekeeper", 4), ("nanny", 3), ("maternity_nurse", 3),
            ("elderly_care", 3), ("cooking", 3), ("butler", 1)]
    extra_cert = {"housekeeper": "housekeeping", "nanny": "childcare", "maternity_nurse": "maternity",
                  "elderly_care": "eldercare"}
    rows, n = [], 0
    for service, count in plan:
        for _ in range(count):
            n += 1
            skills = [service] + (["cleaning"] if service in ("deep_cleaning", "housekeeper") else [])
            certs = [f"health:{soon if n == 7 else far}:JK{n:05d}"]  # one health certificate about to lapse
            if service in extra_cert:
                certs.append(f"{extra_cert[service]}:{far}:ZS{n:05d}")
            days = "mon;tue;wed;thu;fri;sat;sun" if n % 3 == 0 else ("mon;tue;wed;thu;fri" if n % 3 == 1
                                                                      else "wed;thu;fri;sat;sun")
            rows.append({
                "code": f"HK{n:03d}", "role": "housekeeper", "name": f"{SURNAMES[n % len(SURNAMES)]}阿姨",
                "phone": f"139{n:08d}", "skills": skills, "languages": ["zh", "en"] if n % 4 == 0 else ["zh"],
                "districts": [DISTRICTS[n % len(DISTRICTS)], DISTRICTS[(n + 3) % len(DISTRICTS)]],
                "rating": round(4.0 + (n * 37 % 10) / 10, 1), "days": days,
                "hours": "07:00-21:00" if n % 2 else "08:00-18:00", "certificates": certs,
                "pets_ok": "no" if n % 6 == 2 else "yes",  # a few who don't work with pets: the profile's cat bites
                "birth_year": 1968 + n % 20, "experience_years": 2 + n % 12,
                "identity_checked": f"{checked}/周经理", "background": f"{checked}:clear",
                "insurance": f"accident:PA{n:05d}:{far};liability:LB{n:05d}:{far}",
                "training_hours": 40 + 8 * (n % 4), "assessment": f"{assessed}:pass",
            })
    rows.append({"code": "MGR01", "role": "manager", "name": "周经理", "phone": "13800000001"})
    rows.append({"code": "MGR02", "role": "manager", "name": "Alex Chen", "phone": "13800000002", "lang": "en"})
    return rows
