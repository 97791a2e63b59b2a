"""`frontdesk shell`: a terminal chat, like `rasa shell`, with numbered buttons and proactive messages.

Digits follow dialogs/choices.py, as on every text channel: a choice's buttons are numbered and a digit
presses one; a question that expects a number shows its buttons as values and a digit is the answer.

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
from dialogs import choices
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


def show(replies: list[dict[str, Any]], shown: list[dict[str, Any]]) -> None:
    """Print replies; they replace ``shown``, the replies a typed digit or button word refers to.
    A choice's buttons are numbered; a number question's are listed as the values to type."""
    if not replies:
        return
    shown[:] = replies
    numbered = 0
    for r in replies:
        print(f"🤖 {r.get('text', '')}")
        if choices.is_number_question(r):
            if r.get("buttons"):
                print("   " + " · ".join(b["title"] for b in r["buttons"]))
            continue
        for b in r.get("buttons") or []:
            numbered += 1
            print(f"   [{numbered}] {b['title']}")
    sys.stdout.flush()


def typed(line: str, shown: list[dict[str, Any]]) -> str:
    """What a typed line sends: a pressed button's payload (a digit for a numbered option, a button's
    own title), else the line as typed (a number answering a number question stays a number)."""
    return choices.press(line, choices.offer_of(shown)) or line


async def run_shell(app: App, channel: str, sender: str, still_valid: Callable[[], bool] | None = None) -> None:
    replies: list[dict[str, Any]] = []
    shown: list[int] = []
    print("Type a message (Chinese or English). A number presses a numbered button, or answers a question "
          "that asks for a number. Ctrl-D quits.")

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
        show(proactive, replies)
        shown = [m["id"] for m in proactive if "id" in m]
        try:
            line = await asyncio.to_thread(input, "> ")
        except EOFError:
            print()
            return
        line = line.strip()
        if not line:
            continue
        line = typed(line, replies)
        if not await allowed():
            return
        show(await app.desk.handle(IncomingMessage(channel, sender, line)), replies)
