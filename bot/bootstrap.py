"""Wiring: settings → backend, NLU, dialogue engine, actions, front desk. Nothing runs at import."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from rasa_sdk.executor import ActionExecutor

from backend import testhooks
from backend.api import Backend
from config import Settings
from dialogs.actions import runtime
from dialogs.actions.booking import booking_required_slots
from dialogs.desk import FrontDesk
from dialogs.domain import Domain, configure_traditional, load_rules
from dialogs.engine import Engine
from dialogs.locks import InProcessLocks, RedisLocks
from dialogs.nlu import load_nlu
from dialogs.notify import Notifier
from dialogs.tracker_store import TrackerStore

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    backend: Backend
    desk: FrontDesk
    notifier: Notifier


def ensure_model(settings: Settings) -> None:
    """Train the NLU model when it is missing or older than nlu_data/ (first run of the embedded default)."""
    from dialogs.nlu.data import load
    from dialogs.nlu.model import ModelError, read_artifact, save, train

    path = settings.path(settings.nlu.model_path)
    data = load(settings.path(settings.nlu.data_dir))
    try:
        if read_artifact(path)["fingerprint"] == data.fingerprint():
            return
    except ModelError:
        pass
    log.warning("training the NLU model (first run or data changed) …")
    save(train(data), path)


def build(settings: Settings, clock: Any = None, db_url: str | None = None, create_tables: bool = True) -> App:
    testhooks.configure(settings)  # refuses test hooks in production
    backend = Backend.from_settings(settings, clock=clock or testhooks.clock_for(settings), db_url=db_url)
    store = TrackerStore(backend.db.engine, now=lambda: backend.now)  # one clock for retention
    if create_tables:
        migrate(backend)
    backend.ensure_retention()  # the daily prune of old conversation history (a durable timer)
    backend.ensure_vetting_clock()  # the daily vetting digests and expiry reminders (issue 12)
    runtime.configure(backend)
    executor = ActionExecutor()
    executor.register_package("dialogs.actions")
    configure_traditional(settings.traditional_variant)  # the OpenCC variant of Traditional replies
    domain = Domain.load()
    rules, after_form = load_rules()
    ensure_model(settings)
    engine = Engine(load_nlu(settings), domain, rules, after_form, executor, store, booking_required_slots,
                    lambda: backend.now, settings.nlu.max_chars)
    # The clock ages case cards; the vocabulary words profile codes on offer and job cards.
    notifier = Notifier(domain, backend.catalogue, backend.ctx.tz, clock=backend.ctx.clock,
                        vocabulary=backend.ctx.profile)
    locks = RedisLocks.from_url(settings.redis_url) if settings.redis_url else InProcessLocks()
    return App(settings, backend, FrontDesk(backend, engine, notifier, locks), notifier)


def migrate(backend: Backend) -> None:
    """Bring the schema to the newest revision (Alembic), as `frontdesk db upgrade` does."""
    from bot.migrate import upgrade

    upgrade(backend.db.engine)
