"""`frontdesk wechat menu push`: the Official Account's custom menu from config (the console's menu
editor is off once the server URL is configured, in developer mode)."""

from __future__ import annotations

import asyncio

import typer
import yaml

from bot.cli import app, fail
from config import yamlfile

wechat_app = typer.Typer(help="WeChat Official Account set-up.", no_args_is_help=True)
menu_app = typer.Typer(help="The custom menu.", no_args_is_help=True)
wechat_app.add_typer(menu_app, name="menu")
app.add_typer(wechat_app, name="wechat")


def menu_body(data: dict) -> dict:
    """What WeChat's menu/create takes: the buttons only (our `keys` map stays here)."""
    buttons = data.get("button") or []
    if not buttons or len(buttons) > 3 or any(len(b.get("sub_button") or []) > 5 for b in buttons):
        raise ValueError("a menu has 1–3 buttons, each with at most 5 sub-buttons")
    return {"button": buttons}


@menu_app.command("push")
def push() -> None:
    """Send config/wechat_menu.yaml to WeChat (menu/create)."""
    from bot.wechat.api import OAClient, WeChatError
    from config import load_settings

    cfg = load_settings().wechat
    if not (cfg.app_id and cfg.app_secret):
        fail("set FRONTDESK_WECHAT__APP_ID and FRONTDESK_WECHAT__APP_SECRET first")
    try:
        body = menu_body(yamlfile.read(cfg.menu_file) or {})
    except (OSError, ValueError, yaml.YAMLError) as e:
        fail(f"{cfg.menu_file}: {e}")

    async def run() -> None:
        client = OAClient(cfg.api_base, cfg.app_id or "", cfg.app_secret or "", cfg.timeout_seconds)
        try:
            await client.create_menu(body)
        finally:
            await client.close()

    try:
        asyncio.run(run())
    except WeChatError as e:
        fail(f"WeChat refused the menu (errcode {e.errcode}: {e.errmsg})")
    typer.echo(f"menu pushed: {len(body['button'])} buttons")
