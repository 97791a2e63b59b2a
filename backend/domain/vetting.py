"""Vetted staff (issue 12): which vetting items each service requires (config/vetting.yaml) and the pure
check of a housekeeper's file against them.

A file is a list of ``Record`` (history: the latest of a kind counts) plus her certificates. Items:
identity, background, insurance (one policy per kind in ``insurance_kinds``), training (total hours ≥
``min_training_hours``), assessment (the latest quarterly one passed and not older than
``assessment_valid_days``). Certificates stay per service in config/services.yaml (availability checks
them). Before ``enforce_from`` a missing or lapsed item only warns; from that day on it is a hard
constraint of matching, judged on the job's date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

ITEMS = ("identity", "background", "insurance", "training", "assessment")
KINDS = ("identity", "background", "insurance", "training", "assessment", "quality_check")
RESULTS = {"identity": ("pass", "fail"), "background": ("clear", "record"), "assessment": ("pass", "fail"),
           "quality_check": ("pass", "fail")}
BADGES = ("identity", "background", "certified", "insured")


@dataclass(frozen=True)
class VettingPolicy:
    min_training_hours: float = 40
    enforce_from: date | None = None  # None: never enforced, missing items only warn
    required: dict[str, tuple[str, ...]] = field(default_factory=dict)  # service (or "default") → items
    insurance_kinds: tuple[str, ...] = ("accident", "liability")
    assessment_valid_days: int = 100  # a quarter and a little slack
    assessments_failed_to_suspend: int = 2  # failures in a row → suspended from matching
    warn_days: tuple[int, ...] = (30, 7)  # managers' digest and her reminder, days before an expiry
    digest_hour: int | None = 9  # local hour of the daily run; None: no digests (and no timer)
    quality_checks_per_month: int = 2

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> VettingPolicy:
        raw = dict(raw)
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"vetting: unknown key(s) {', '.join(unknown)}")
        if raw.get("enforce_from") is not None and not isinstance(raw["enforce_from"], date):
            raw["enforce_from"] = date.fromisoformat(str(raw["enforce_from"]))
        required = {str(k): tuple(str(i) for i in (v or ())) for k, v in (raw.get("required") or {}).items()}
        for svc, items in required.items():
            bad = [i for i in items if i not in ITEMS]
            if bad:
                raise ValueError(f"vetting: required.{svc}: unknown item(s) {bad}; known: {', '.join(ITEMS)}")
        raw["required"] = required
        for key in ("insurance_kinds", "warn_days"):
            if key in raw:
                raw[key] = tuple(raw[key] or ())
        raw["warn_days"] = tuple(sorted({int(d) for d in raw.get("warn_days", cls.warn_days)}, reverse=True))
        if any(d <= 0 for d in raw["warn_days"]):
            raise ValueError("vetting: warn_days must be positive")
        if raw.get("digest_hour") is not None and not 0 <= int(raw["digest_hour"]) <= 23:
            raise ValueError("vetting: digest_hour must be 0..23 (or null for no digests)")
        return cls(**raw)

    def items_for(self, service: str) -> tuple[str, ...]:
        return self.required.get(service, self.required.get("default", ()))

    def enforced(self, day: date) -> bool:
        return self.enforce_from is not None and day >= self.enforce_from


class Record(NamedTuple):
    """One vetting record, ORM-free (no personal fields: numbers and names stay in storage). A tuple:
    matching builds thousands of them per booking."""

    kind: str
    on: date
    subkind: str | None = None
    expires_on: date | None = None
    result: str | None = None
    hours: float | None = None


@dataclass(frozen=True)
class Finding:
    item: str  # identity | background | insurance | training | assessment
    problem: str  # missing | expired | failed | short
    detail: str = ""  # the insurance kind; the hours so far

    @property
    def reason(self) -> str:
        return f"vetting:{self.item}"


@dataclass(frozen=True)
class Check:
    hard: tuple[Finding, ...] = ()  # after enforce_from: she is not matched
    warnings: tuple[Finding, ...] = ()  # before it: matched, with a warning for managers

    @property
    def reason(self) -> str | None:
        return self.hard[0].reason if self.hard else None

    @property
    def warning(self) -> str | None:
        return ",".join(dict.fromkeys(f.item for f in self.warnings)) or None


def latest(records: list[Record], kind: str, subkind: str | None = None) -> Record | None:
    """The latest record of a kind (records in stored order: a later one of the same day, a correction, wins)."""
    found = [r for r in records if r.kind == kind and (subkind is None or r.subkind == subkind)]
    if not found:
        return None
    best = found[0]
    for r in found[1:]:
        if r.on >= best.on:  # a later record of the same day (a correction) wins
            best = r
    return best


def training_hours(records: list[Record]) -> float:
    return sum(r.hours or 0 for r in records if r.kind == "training")


Index = tuple[dict[tuple[str, str | None], Record], float]


def index(records: list[Record]) -> Index:
    """The latest record per (kind, None) and (kind, subkind), and her training hours, in one pass:
    matching checks a thousand files per booking."""
    last: dict[tuple[str, str | None], Record] = {}
    hours = 0.0
    for r in records:
        if r.kind == "training":
            hours += r.hours or 0
        for key in ((r.kind, None), (r.kind, r.subkind)) if r.subkind else ((r.kind, None),):
            best = last.get(key)
            if best is None or r.on >= best.on:
                last[key] = r
    return last, hours


def finding(policy: VettingPolicy, records: list[Record], item: str, day: date,
            idx: Index | None = None) -> list[Finding]:
    """What is wrong with one item on ``day`` ([] when it is in order)."""
    last, hours = idx or index(records)
    if item == "insurance":
        out = []
        for kind in policy.insurance_kinds:
            r = last.get(("insurance", kind))
            if r is None:
                out.append(Finding(item, "missing", kind))
            elif r.expires_on is not None and r.expires_on < day:
                out.append(Finding(item, "expired", kind))
        return out
    if item == "training":
        return [] if hours >= policy.min_training_hours else [Finding(item, "short", f"{hours:g}")]
    r = last.get((item, None))
    if r is None:
        return [Finding(item, "missing")]
    if item == "identity" and r.result == "fail":
        return [Finding(item, "failed")]
    if item == "background" and r.result != "clear":
        return [Finding(item, "failed")]
    if item == "assessment":
        if r.result == "fail":
            return [Finding(item, "failed")]
        if r.on + timedelta(days=policy.assessment_valid_days) < day:
            return [Finding(item, "expired")]
    if r.expires_on is not None and r.expires_on < day:
        return [Finding(item, "expired")]
    return []


def check(policy: VettingPolicy, records: list[Record], service: str, day: date) -> Check:
    """Her file against what ``service`` requires on ``day``: hard problems after enforce_from, else warnings."""
    idx = index(records)
    found = [f for item in policy.items_for(service) for f in finding(policy, records, item, day, idx)]
    return Check(hard=tuple(found)) if policy.enforced(day) else Check(warnings=tuple(found))


def badges(policy: VettingPolicy, records: list[Record], certificates: dict[str, date],
           needed_certs: set[str], day: date) -> list[str]:
    """The verified badges her record backs on ``day`` (never claimed without the data)."""
    out = []
    idx = index(records)
    if not finding(policy, records, "identity", day, idx):
        out.append("identity")
    if not finding(policy, records, "background", day, idx):
        out.append("background")
    valid = {k for k, exp in certificates.items() if exp >= day}
    if valid and needed_certs <= valid:
        out.append("certified")
    if policy.insurance_kinds and not finding(policy, records, "insurance", day, idx):
        out.append("insured")
    return out


def expiries(policy: VettingPolicy, records: list[Record], certificates: dict[str, date]) -> list[tuple[str, date]]:
    """(label, date) of everything in her file that lapses: "insurance:accident", "certificate:health",
    "assessment" (the next one is due when the latest stops counting)."""
    out = [(f"certificate:{k}", exp) for k, exp in certificates.items()]
    for kind in sorted({r.subkind for r in records if r.kind == "insurance" and r.subkind}):
        r = latest(records, "insurance", kind)
        if r is not None and r.expires_on is not None:
            out.append((f"insurance:{kind}", r.expires_on))
    a = latest(records, "assessment")
    if a is not None:
        out.append(("assessment", a.on + timedelta(days=policy.assessment_valid_days)))
    return sorted(out, key=lambda x: (x[1], x[0]))


def stage(policy: VettingPolicy, days_left: int) -> int | None:
    """Which warning is due with ``days_left`` to an expiry (the last valid day): the smallest of
    ``warn_days`` it is within (30, then 7); 0 once it has lapsed (the week after, if a run was
    missed); None otherwise. Keyed by stage, each warning goes out once even when a daily run is late."""
    if days_left < 0:
        return 0 if days_left >= -7 else None
    within = [d for d in policy.warn_days if days_left <= d]
    return min(within) if within else None


def failed_in_a_row(records: list[Record]) -> int:
    """How many of her latest assessments failed, counting back from the newest."""
    runs = sorted((r for r in records if r.kind == "assessment"), key=lambda r: r.on)
    n = 0
    for r in reversed(runs):
        if r.result != "fail":
            break
        n += 1
    return n
