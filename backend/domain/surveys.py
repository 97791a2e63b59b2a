"""Call-back surveys (回访): the policy from ``config/surveys.yaml`` and the pure rules around it.

When a survey goes out (after the job, never in quiet hours), what a set of scores asks for (a follow-up
case, the never-again or ask-for-her-again offer) and a housekeeper's running rating.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.domain.cases import _duration
from backend.domain.clock import parse_window

DIMENSIONS = ("attitude", "skill", "result")  # the service standard's order: 服务态度、技能、效果
# A survey's life: scheduled (timer armed) → sent → reminded → answered | expired; cancelled when the job
# it asks about is no longer finished (e.g. marked so by mistake and corrected).
STATUSES = ("scheduled", "sent", "reminded", "answered", "expired", "cancelled")
# Awaiting an answer: a typed score goes to the survey in one of these. A late answer (a button tapped, or
# feedback about the visit, after expiry) is still taken: it counts as answered, just not in time.
OPEN = ("sent", "reminded")


def valid_score(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5


@dataclass(frozen=True)
class SurveyPolicy:
    delay: timedelta = timedelta(hours=2)          # job finished → survey sent
    quiet: tuple[int, int] = (21 * 60, 9 * 60)     # local minutes [start, end): nothing is sent inside
    remind_after: timedelta = timedelta(hours=24)  # one reminder when unanswered
    close_after: timedelta = timedelta(hours=72)   # then it counts as not answered
    auto_finish_grace: timedelta = timedelta(hours=1)  # checked in, never finished: done at end + grace
    followup_below: int = 4                        # any score below this → a follow-up case
    followup_mean_below: float = 4.0               # or the mean below this
    never_again_at: int = 2                        # any score ≤ this offers "don't send her again"
    preferred_at: int = 5                          # every score ≥ this offers "ask for her again"
    rating_prior_weight: float = 5.0               # the roster rating counts as this many surveys
    coverage_target: float = 0.9
    mean_target: float = 4.5

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SurveyPolicy:
        known = {"delay", "quiet_hours", "remind_after", "close_after", "auto_finish_grace", "followup_below",
                 "followup_mean_below", "never_again_at", "preferred_at", "rating_prior_weight", "targets"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        d = cls()
        targets = raw.get("targets") or {}

        def span(key: str, default: timedelta) -> timedelta:
            # 0 is a real setting (send at once), so only a missing key takes the default
            v = _duration(raw.get(key))
            if v is not None and v < timedelta(0):
                raise ValueError(f"{key} must not be negative")
            return default if v is None else v

        p = cls(delay=span("delay", d.delay),
                quiet=_quiet(raw["quiet_hours"]) if "quiet_hours" in raw else d.quiet,
                remind_after=span("remind_after", d.remind_after),
                close_after=span("close_after", d.close_after),
                auto_finish_grace=span("auto_finish_grace", d.auto_finish_grace),
                followup_below=int(raw.get("followup_below", d.followup_below)),
                followup_mean_below=float(raw.get("followup_mean_below", d.followup_mean_below)),
                never_again_at=int(raw.get("never_again_at", d.never_again_at)),
                preferred_at=int(raw.get("preferred_at", d.preferred_at)),
                rating_prior_weight=float(raw.get("rating_prior_weight", d.rating_prior_weight)),
                coverage_target=float(targets.get("coverage", d.coverage_target)),
                mean_target=float(targets.get("mean", d.mean_target)))
        if p.remind_after >= p.close_after:
            raise ValueError("remind_after must be shorter than close_after")
        if not 1 <= p.never_again_at < p.preferred_at <= 5:
            raise ValueError("never_again_at and preferred_at must satisfy 1 <= never_again_at < preferred_at <= 5")
        if p.rating_prior_weight < 0:
            raise ValueError("rating_prior_weight must not be negative")
        return p

    def in_quiet(self, at: datetime, tz: ZoneInfo) -> bool:
        start, end = self.quiet
        if start == end:
            return False
        m = at.astimezone(tz).hour * 60 + at.astimezone(tz).minute
        return (start <= m < end) if start < end else (m >= start or m < end)

    def out_of_quiet(self, at: datetime, tz: ZoneInfo) -> datetime:
        """``at``, or the end of the quiet hours it falls in (the morning after 21:00–09:00)."""
        if not self.in_quiet(at, tz):
            return at
        local = at.astimezone(tz)
        end = time(self.quiet[1] // 60, self.quiet[1] % 60)
        morning = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if morning <= local:
            morning += timedelta(days=1)
        return morning.astimezone(at.tzinfo)

    def send_time(self, finished_at: datetime, tz: ZoneInfo) -> datetime:
        return self.out_of_quiet(finished_at + self.delay, tz)

    def needs_followup(self, scores: dict[str, int]) -> bool:
        vals = [scores[d] for d in DIMENSIONS if d in scores]
        return bool(vals) and (min(vals) < self.followup_below or sum(vals) / len(vals) < self.followup_mean_below)

    def offers(self, scores: dict[str, int]) -> tuple[str, ...]:
        """What the client is offered after answering: ("never_again",), ("preferred",) or ()."""
        vals = [scores[d] for d in DIMENSIONS if d in scores]
        if not vals:
            return ()
        if min(vals) <= self.never_again_at:
            return ("never_again",)
        if len(vals) == len(DIMENSIONS) and min(vals) >= self.preferred_at:
            return ("preferred",)
        return ()


def _quiet(value: Any) -> tuple[int, int]:
    """"21:00-09:00" (may wrap past midnight) → (1260, 540); none/"" → no quiet hours."""
    if value in (None, "", "none", False):
        return (0, 0)
    start, _, end = str(value).partition("-")
    a = parse_window(f"{start}-24:00")[0]
    b = parse_window(f"00:00-{end}")[1] if end.strip() not in ("0:00", "00:00") else 0
    if a == b:
        raise ValueError(f"quiet_hours must not be empty: {value!r}")
    return a, b


def survey_mean(scores: dict[str, int]) -> float | None:
    vals = [scores[d] for d in DIMENSIONS if scores.get(d) is not None]
    return sum(vals) / len(vals) if vals else None


def running_rating(prior: float, weight: float, means: list[float]) -> float:
    """A Bayesian mean: the roster rating counts as ``weight`` surveys, each answered survey's mean as one."""
    if not means:
        return prior
    return (prior * weight + sum(means)) / (weight + len(means))
