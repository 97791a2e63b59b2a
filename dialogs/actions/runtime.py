"""What actions need at run time: the backend, set by the bootstrap (rasa-sdk builds the action objects).

rasa-sdk's action server (`frontdesk actions`) runs actions in Sanic worker processes that the bootstrap
never ran in, so a process that was not configured builds its own backend from the settings on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from backend.api import Backend
from dialogs.domain import base_lang, localise
from dialogs.threads import hop

T = TypeVar("T")
_backend: Backend | None = None
_lock = threading.Lock()  # actions run in threads too (runtime.call): build the backend once


def configure(backend: Backend) -> None:
    global _backend
    with _lock:
        _backend = backend


def backend() -> Backend:
    global _backend
    if _backend is None:
        with _lock:
            if _backend is None:
                _backend = _from_settings()
    return _backend


def _from_settings() -> Backend:
    """The backend of a process the bootstrap did not configure, from the same settings (environment)."""
    from backend import testhooks
    from config import load_settings

    settings = load_settings()
    testhooks.configure(settings)  # refuses test hooks in production, as the bootstrap does
    return Backend.from_settings(settings, clock=testhooks.clock_for(settings))


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Backend calls are blocking database work: run them off the event loop."""
    return await hop(fn, *args, **kwargs)


def service_name(service: str | None, lang: str) -> str:
    be = backend()
    if not service or service not in be.catalogue:
        return service or ""
    return localise(be.catalogue[service].name.get(base_lang(lang), service), lang)


def when(iso: str | None, lang: str) -> str:
    """A start time as people read it, in the configured zone."""
    if not iso:
        return ""
    t = datetime.fromisoformat(iso).astimezone(backend().ctx.tz)
    if lang == "en":
        return t.strftime("%a %d %b, %H:%M").replace(" 0", " ")
    wd = "一二三四五六日"[t.weekday()]
    return f"{t.month}月{t.day}日（周{wd}）{t:%H:%M}"


def price_text(service: str, lang: str) -> str:
    svc = backend().catalogue[service]
    unit = {"hour": ("元/小时", "CNY/hour"), "sqm": ("元/平米", "CNY/sqm"), "day": ("元/天", "CNY/day"),
            "month": ("元/月起", "CNY/month, from")}[svc.unit]
    if lang == "en":
        extra = f", minimum {svc.min_hours:g} hours" if svc.unit == "hour" else (
            f", minimum {svc.min_price} CNY" if svc.unit == "sqm" else "")
        return f"{svc.price} {unit[1]}{extra}"
    extra = f"，{svc.min_hours:g}小时起" if svc.unit == "hour" else (
        f"，{svc.min_price}元起" if svc.unit == "sqm" else "")
    return f"{svc.price}{unit[0]}{extra}"
