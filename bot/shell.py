"""`frontdesk shell`: a terminal chat, like `rasa shell`, with numbered buttons and proactive messages.

Staff (`--as CODE`) authenticate exactly as on the REST channel: a staff token, checked with
``staff_by_token`` before the chat starts and again before every message, so a revoked token or a
deactivated person ends the session at once.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

from bot.bootstrap import App
from dialogs.messages import IncomingMessage

TOKEN_ENV = "FRONTDESK_STAFF_TOKEN"


class ShellAuthError(Exception):
    """Why a staff shell cannot start (the message is for the person at the terminal)."""


def staff_token(given: str | None, code: str, interactive: bool | None = None) -> str:
    """The token from --token, then FRONTDESK_STAFF_TOKEN, then a hidden prompt on a terminal."""
    if given:
        print(f"note: a token on the command line shows in `ps` and the shell history; prefer {TOKEN_ENV} "
              "or the prompt", file=sys.stderr)
    token = given or os.environ.get(TOKEN_ENV, "")
    if not token and (sys.stdin.isatty() if interactive is None else interactive):
        token = getpass.getpass(f"staff token for {code}: ")
    token = token.strip()
    if not token:
        raise ShellAuthError(f"a staff token is required: --token or {TOKEN_ENV}; "
                             f"issue one with `frontdesk staff token {code} --rotate`")
    return token


def authenticate_staff(app: App, code: str, token: str) -> tuple[str, str, Callable[[], bool]]:
    """(channel, sender, still_valid) for a staff shell, or ShellAuthError."""
    person = app.backend.staff_by_token(token)
    if person is None or person.code != code:
        # One answer for every failure: the terminal learns nothing about which codes or tokens exist.
        raise ShellAuthError(f"this token does not let you act as {code} (unknown, revoked, or the person is "
                             "deactivated)")
    sender = f"staff:{code}"

    def still_valid() -> bool:
        p = app.backend.staff_by_token(token)
        return p is not None and p.code == code

    return "rest", sender, still_valid


def show(replies: list[dict[str, Any]], buttons: list[dict[str, str]]) -> None:
    """Print replies; the buttons of the latest replies become the numbered choices."""
    if replies:
        buttons.clear()
    for r in replies:
        print(f"🤖 {r.get('text', '')}")
        for b in r.get("buttons") or []:
            buttons.append(b)
            print(f"   [{len(buttons)}] {b['title']}")
    sys.stdout.flush()


async def run_shell(app: App, channel: str, sender: str, still_valid: Callable[[], bool] | None = None) -> None:
    buttons: list[dict[str, str]] = []
    shown: list[int] = []
    print("Type a message (Chinese or English). A number presses a button. Ctrl-D quits.")

    async def allowed() -> bool:
        if still_valid is None or await asyncio.to_thread(still_valid):
            return True
        print("access ended: the token was revoked or the account deactivated")
        return False

    while True:
        await asyncio.to_thread(app.backend.run_due_timers)
        if not await allowed():
            return
        proactive = await app.desk.pull(channel, sender, ack=shown)  # what was printed is delivered
        show(proactive, buttons)
        shown = [m["id"] for m in proactive if "id" in m]
        try:
            line = await asyncio.to_thread(input, "> ")
        except EOFError:
            print()
            return
        line = line.strip()
        if not line:
            continue
        if line.isdigit() and 0 < int(line) <= len(buttons):
            line = buttons[int(line) - 1]["payload"]
        if not await allowed():
            return
        show(await app.desk.handle(IncomingMessage(channel, sender, line)), buttons)
