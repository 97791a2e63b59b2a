"""`frontdesk shell`: a terminal chat, like `rasa shell`, with numbered buttons and proactive messages."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from bot.bootstrap import App
from dialogs.messages import IncomingMessage


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


async def run_shell(app: App, channel: str, sender: str) -> None:
    buttons: list[dict[str, str]] = []
    print("Type a message (Chinese or English). A number presses a button. Ctrl-D quits.")
    while True:
        await asyncio.to_thread(app.backend.run_due_timers)
        show(await app.desk.pull(channel, sender), buttons)
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
        show(await app.desk.handle(IncomingMessage(channel, sender, line)), buttons)
