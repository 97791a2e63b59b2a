"""Test-only hooks for the kill-and-restart suite: named crash points and a clock shared across
processes. Both are off unless ``test_hooks.enabled`` is set, which production refuses (see
``configure``), so they cost one attribute check in normal runs."""

from __future__ import annotations

import os
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

_crash_at: str | None = None


class TestHooksRefused(RuntimeError):
    pass


def configure(settings: Any) -> None:
    """Arm the hooks named by the settings; refuse them outright in production."""
    global _crash_at
    hooks = settings.test_hooks
    if not hooks.enabled:
        _crash_at = None
        return
    if settings.environment == "production":
        raise TestHooksRefused("test_hooks.enabled is refused when environment is production")
    _crash_at = hooks.crash_at or None


def crash_point(name: str) -> None:
    """Where the suite may kill the process: a SIGKILL, as `kill -9` would, nothing flushed or closed."""
    if _crash_at is not None and _crash_at == name:
        os.kill(os.getpid(), signal.SIGKILL)


class FileClock:
    """The time is whatever ISO 8601 instant the test last wrote to the file (read on every call)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        t = datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())
        if t.tzinfo is None:
            raise ValueError(f"{self.path}: the test clock needs a time with a zone")
        return t
