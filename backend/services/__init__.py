"""Service layer: plain functions taking a context and a session; each caller runs them in one unit
of work, so a change and the notifications it causes commit together or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from backend.catalogue import Catalogue
from backend.clock import SystemClock
from backend.domain.area import ServiceArea
from backend.domain.butler import ButlerPolicy
from backend.domain.cancellation import CancellationPolicy
from backend.domain.cases import CasePolicy
from backend.domain.clock import DeskHours, WorkCalendar
from backend.domain.day_of_job import DayOfJobPolicy
from backend.domain.placements import PlacementPolicy
from backend.domain.profile import Vocabulary
from backend.domain.series import SeriesPolicy
from backend.domain.surveys import SurveyPolicy
from backend.domain.vetting import VettingPolicy


class DomainError(Exception):
    """A request the domain refuses; ``code`` is stable for callers to choose a message."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


@dataclass
class Context:
    catalogue: Catalogue
    tz: ZoneInfo
    clock: SystemClock
    travel_buffer_minutes: int = 30
    offer_timeout_minutes: int = 10
    lead_time_minutes: int = 120
    max_days_ahead: int = 180
    max_area: float = 2000
    alternatives: int = 3
    retention_days: int = 180  # conversation history older than this is pruned (backend.services.retention)
    erase_mode: str = "approval"  # a client's erasure request waits for a manager, or runs at once ("auto")
    escalations_per_client_hour: int = 5  # beyond this a client's new request joins the ones the team has
    cases: CasePolicy = field(default_factory=lambda: CasePolicy({}))  # config/cases.yaml
    calendar: WorkCalendar = field(default_factory=WorkCalendar)  # statutory holidays, swapped workdays
    desk: DeskHours | None = None  # service-desk hours (None: always open)
    surveys: SurveyPolicy = field(default_factory=SurveyPolicy)  # config/surveys.yaml
    profile: Vocabulary = field(default_factory=Vocabulary)  # config/profile.yaml
    day_of_job: DayOfJobPolicy = field(default_factory=DayOfJobPolicy)  # config/day_of_job.yaml
    cancellation: CancellationPolicy = field(default_factory=CancellationPolicy)  # config/cancellation.yaml
    series: SeriesPolicy = field(default_factory=SeriesPolicy)  # config/series.yaml
    area: ServiceArea = field(default_factory=ServiceArea)  # config/service_area.yaml
    placements: PlacementPolicy = field(default_factory=PlacementPolicy)  # config/placements.yaml
    vetting: VettingPolicy = field(default_factory=VettingPolicy)  # config/vetting.yaml
    butler: ButlerPolicy = field(default_factory=ButlerPolicy)  # config/butler.yaml
