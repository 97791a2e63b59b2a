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
ONCE = "once:"  # crash_at "once:<point>": only the first process of a run to reach it dies (tests/scale)
_once_marker: Path | None = None


class TestHooksRefused(RuntimeError):
    pass


def configure(settings: Any) -> None:
    """Arm the hooks named by the settings; refuse them outright in production."""
    global _crash_at, _once_marker
    hooks = settings.test_hooks
    if not hooks.enabled:
        _crash_at = _once_marker = None
        return
    if settings.environment == "production":
        raise TestHooksRefused("test_hooks.enabled is refused when environment is production")
    _crash_at, _once_marker = hooks.crash_at or None, None
    if _crash_at and _crash_at.startswith(ONCE):
        # Several workers share the armed setting, and a restarted worker gets it again: a marker file
        # beside the clock file (or in the data folder) records that the crash has happened.
        _crash_at = _crash_at.removeprefix(ONCE)
        folder = hooks.clock_file.parent if hooks.clock_file else settings.path(settings.data_dir)
        _once_marker = Path(folder) / f"crashed-{_crash_at}"


def crash_point(name: str) -> None:
    """Where the suite may kill the process: a SIGKILL, as `kill -9` would, nothing flushed or closed."""
    if _crash_at is not None and _crash_at == name:
        if _once_marker is not None:
            try:  # O_EXCL: of all the processes reaching it, exactly one creates the marker and dies
                os.close(os.open(_once_marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
        os.kill(os.getpid(), signal.SIGKILL)


def clock_for(settings: Any) -> FileClock | None:
    """The shared file clock when the hooks name one, else None (the system clock)."""
    hooks = settings.test_hooks
    return FileClock(hooks.clock_file) if hooks.enabled and hooks.clock_file else None


class FileClock:
    """The time is whatever ISO 8601 instant the test last wrote to the file (read on every call)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        t = datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())
        if t.tzinfo is None:
            raise ValueError(f"{self.path}: the test clock needs a time with a zone")
        return t
