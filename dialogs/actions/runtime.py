"""What actions need at run time, set once by the bootstrap (rasa-sdk builds the action objects)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from backend.api import Backend

T = TypeVar("T")
_backend: Backend | None = None


def configure(backend: Backend) -> None:
    global _backend
    _backend = backend


def backend() -> Backend:
    if _backend is None:
        raise RuntimeError("actions are not configured: bootstrap must call dialogs.actions.runtime.configure")
    return _backend


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Backend calls are blocking database work: run them off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def service_name(service: str | None, lang: str) -> str:
    be = backend()
    if not service or service not in be.catalogue:
        return service or ""
    return be.catalogue[service].name.get(lang, service)


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
