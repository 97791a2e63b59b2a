"""Loading a roster of housekeepers and managers (CSV or YAML), with line-numbered errors."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.catalogue import Catalogue
from backend.orm import Certificate, Housekeeper, Manager, WorkingHours
from backend.services.people import bind, new_token

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
FIELDS = ("code", "role", "name", "phone", "skills", "languages", "districts", "rating", "days", "hours",
          "certificates", "lang")


class RosterError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class Row:
    line: int
    code: str
    role: str
    name: str
    phone: str | None = None
    skills: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    districts: list[str] = field(default_factory=list)
    rating: float = 4.5
    days: list[int] = field(default_factory=list)
    hours: tuple[int, int] = (480, 1200)
    certificates: dict[str, date] = field(default_factory=dict)
    lang: str = "zh"


def _list(v: Any) -> list[str]:
    if v is None or v == "":
        return []
    if isinstance(v, list):
        return [str(x).strip() for x in v if str(x).strip()]
    return [x.strip() for x in str(v).replace("；", ";").replace(",", ";").split(";") if x.strip()]


def _clock(s: str) -> int:
    t = time.fromisoformat(s.strip())
    return t.hour * 60 + t.minute


def parse_row(line: int, raw: dict[str, Any], catalogue: Catalogue) -> Row:
    """One roster entry → Row, or ValueError naming the field."""
    code = str(raw.get("code") or "").strip()
    role = str(raw.get("role") or "housekeeper").strip().lower()
    name = str(raw.get("name") or "").strip()
    if not code or len(code) > 32:
        raise ValueError("code is required (at most 32 characters)")
    if role not in ("housekeeper", "manager"):
        raise ValueError(f"role must be housekeeper or manager, not {role!r}")
    if not name:
        raise ValueError("name is required")
    phone = str(raw.get("phone") or "").strip().replace(" ", "").replace("-", "") or None
    if phone and not (phone.isdigit() and len(phone) == 11 and phone.startswith("1")):
        raise ValueError(f"phone must be an 11-digit mainland mobile, not {raw.get('phone')!r}")
    row = Row(line, code, role, name, phone, lang=str(raw.get("lang") or "zh").strip())
    if row.lang not in ("zh", "en"):
        raise ValueError("lang must be zh or en")
    if role == "manager":
        return row
    row.skills = _list(raw.get("skills"))
    unknown = [s for s in row.skills if s not in catalogue]
    if not row.skills or unknown:
        raise ValueError(f"skills must be service ids from config/services.yaml; unknown: {unknown or 'none given'}")
    row.languages = _list(raw.get("languages")) or ["zh"]
    row.districts = _list(raw.get("districts"))
    try:
        row.rating = float(raw.get("rating") or 4.5)
    except ValueError:
        raise ValueError(f"rating must be a number from 0 to 5, not {raw.get('rating')!r}") from None
    if not 0 <= row.rating <= 5:
        raise ValueError("rating must be from 0 to 5")
    days = _list(raw.get("days") or "mon;tue;wed;thu;fri")
    if any(d[:3].lower() not in WEEKDAYS for d in days):
        raise ValueError(f"days must be mon..sun, not {raw.get('days')!r}")
    row.days = sorted({WEEKDAYS[d[:3].lower()] for d in days})
    try:
        start, end = str(raw.get("hours") or "08:00-20:00").split("-")
        row.hours = (_clock(start), _clock(end))
    except ValueError:
        raise ValueError(f"hours must look like 08:00-18:00, not {raw.get('hours')!r}") from None
    if row.hours[0] >= row.hours[1]:
        raise ValueError("hours must end after they start")
    for item in _list(raw.get("certificates")):
        kind, _, expiry = item.partition(":")
        try:
            row.certificates[kind.strip()] = date.fromisoformat(expiry.strip())
        except ValueError:
            raise ValueError(f"certificates must look like health:2027-06-30, not {item!r}") from None
    return row


def read_roster(path: Path, catalogue: Catalogue) -> list[Row]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".yml", ".yaml"):
        data = yaml.safe_load(text) or []
        if isinstance(data, dict):
            data = data.get("staff", [])
        if not isinstance(data, list):
            raise RosterError([f"{path.name}: expected a list of staff entries"])
        lines = [(i + 1, d) for i, d in enumerate(data)]
        where = "entry"
    else:
        reader = csv.DictReader(io.StringIO(text))
        missing = {"code", "name"} - set(reader.fieldnames or [])
        if missing:
            raise RosterError([f"{path.name} line 1: missing columns {sorted(missing)}"])
        lines = [(i + 2, d) for i, d in enumerate(reader)]
        where = "line"
    rows, errors, seen = [], [], set()
    for n, raw in lines:
        if not isinstance(raw, dict):
            errors.append(f"{path.name} {where} {n}: not a mapping")
            continue
        try:
            row = parse_row(n, raw, catalogue)
        except ValueError as exc:
            errors.append(f"{path.name} {where} {n}: {exc}")
            continue
        if row.code in seen:
            errors.append(f"{path.name} {where} {n}: code {row.code} appears twice")
            continue
        seen.add(row.code)
        rows.append(row)
    if errors:
        raise RosterError(errors)
    return rows


def save_rows(session: Session, rows: list[Row]) -> dict[str, str]:
    """Insert or update; returns code → REST token (how staff identify themselves on the REST channel)."""
    tokens = {}
    for r in rows:
        model = Manager if r.role == "manager" else Housekeeper
        person = session.scalar(select(model).where(model.code == r.code))
        if person is None:
            person = model(code=r.code, name=r.name)
            session.add(person)
        person.name, person.lang = r.name, r.lang
        if isinstance(person, Housekeeper):
            person.phone, person.skills, person.languages = r.phone, r.skills, r.languages
            person.districts, person.rating, person.active = r.districts, r.rating, True
        session.flush()
        if isinstance(person, Housekeeper):
            session.execute(delete(WorkingHours).where(WorkingHours.housekeeper_id == person.id))
            session.execute(delete(Certificate).where(Certificate.housekeeper_id == person.id))
            for d in r.days:
                session.add(WorkingHours(housekeeper_id=person.id, weekday=d, start_minute=r.hours[0],
                                         end_minute=r.hours[1]))
            for kind, expiry in r.certificates.items():
                session.add(Certificate(housekeeper_id=person.id, kind=kind, expires_on=expiry))
        token = new_token()
        bind(session, r.role, person.id, "rest", f"staff-{token}")
        tokens[r.code] = f"staff-{token}"
    return tokens


DISTRICTS = ["朝阳", "海淀", "东城", "西城", "丰台", "通州", "浦东", "徐汇", "静安", "闵行"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾"


def demo_rows(today: date | None = None) -> list[dict[str, Any]]:
    """A realistic roster: 32 housekeepers over every service, district and language, plus two managers."""
    today = today or datetime.now().date()
    far = (today + timedelta(days=400)).isoformat()
    soon = (today + timedelta(days=20)).isoformat()
    plan = [("cleaning", 10), ("deep_cleaning", 5), ("housekeeper", 4), ("nanny", 3), ("maternity_nurse", 3),
            ("elderly_care", 3), ("cooking", 3), ("butler", 1)]
    extra_cert = {"housekeeper": "housekeeping", "nanny": "childcare", "maternity_nurse": "maternity",
                  "elderly_care": "eldercare"}
    rows, n = [], 0
    for service, count in plan:
        for _ in range(count):
            n += 1
            skills = [service] + (["cleaning"] if service in ("deep_cleaning", "housekeeper") else [])
            certs = [f"health:{soon if n == 7 else far}"]  # one health certificate about to lapse
            if service in extra_cert:
                certs.append(f"{extra_cert[service]}:{far}")
            days = "mon;tue;wed;thu;fri;sat;sun" if n % 3 == 0 else ("mon;tue;wed;thu;fri" if n % 3 == 1
                                                                      else "wed;thu;fri;sat;sun")
            rows.append({
                "code": f"HK{n:03d}", "role": "housekeeper", "name": f"{SURNAMES[n % len(SURNAMES)]}阿姨",
                "phone": f"139{n:08d}", "skills": skills, "languages": ["zh", "en"] if n % 4 == 0 else ["zh"],
                "districts": [DISTRICTS[n % len(DISTRICTS)], DISTRICTS[(n + 3) % len(DISTRICTS)]],
                "rating": round(4.0 + (n * 37 % 10) / 10, 1), "days": days,
                "hours": "07:00-21:00" if n % 2 else "08:00-18:00", "certificates": certs,
            })
    rows.append({"code": "MGR01", "role": "manager", "name": "周经理", "phone": "13800000001"})
    rows.append({"code": "MGR02", "role": "manager", "name": "Alex Chen", "phone": "13800000002", "lang": "en"})
    return rows
