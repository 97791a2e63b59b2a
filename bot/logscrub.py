"""Secrets and personal data never reach the logs, whoever logs them and at whatever level.

``ScrubFilter`` sits on the log handlers (``install`` puts it on the root logger's handlers; the CLI's
``setup_logging`` calls it). Every record is formatted once — message, arguments and traceback — then
rewritten: bot tokens in library request URLs, ``access_token=…`` and other secret query values,
``Authorization``/API-key header values, staff tokens (``fds_…``), REST session and stream tokens,
Fernet tokens, mainland mobile numbers and platform ids in conversation keys are replaced by
placeholders, and any configured secret value is replaced wherever it appears. Debug records of
network libraries that dump request and response bodies (which carry what clients wrote and where
they live) are dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.settings import Settings

REDACTED = "<redacted>"
_RULES: list[tuple[re.Pattern[str], str]] = [
    # Telegram bot tokens, in API URLs (/bot123:ABC…/sendMessage) and anywhere else
    (re.compile(r"(?<!\d)\d{5,16}:[A-Za-z0-9_-]{30,}"), "<bot-token>"),
    # header values: Authorization: Bearer …, X-Api-Key: …, X-Telegram-Bot-Api-Secret-Token: …
    (re.compile(r"(?i)\b(authorization|proxy-authorization|x-api-key|x-telegram-bot-api-secret-token|cookie)"
                r"(['\"]?\s*[:=]\s*['\"]?)[^\r\n'\",}]*"), r"\1\2" + REDACTED),
    (re.compile(r"(?i)\bbearer\s+[^\s'\",}]+"), "Bearer " + REDACTED),
    # secret query and form values: ?access_token=…&secret=…
    (re.compile(r"(?i)\b(access_token|token|secret|api_key|apikey|key|password|passwd|signature|sig|"
                r"msg_signature|encoding_aes_key)=[^&\s'\"]+"), r"\1=" + REDACTED),
    # staff tokens, REST session (v1.) and stream (s1.) tokens, Fernet tokens (encrypted data)
    (re.compile(r"\bfds_[A-Za-z0-9_-]+"), "fds_" + REDACTED),
    (re.compile(r"\b[vs]1\.[A-Za-z0-9_-]+\.\d+\.[A-Za-z0-9_-]{16,}"), "<session-token>"),
    (re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{20,}"), "<fernet-token>"),
    # mainland mobile numbers, also written with spaces or dashes and a +86 prefix
    (re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)"), "<phone>"),
    # platform ids: named fields (chat_id=…, "openid": "…") and conversation keys ("telegram:123456789")
    (re.compile(r"(?i)\b(chat_id|user_id|from_user_id|openid|fromusername|tousername|sender_id|sender)"
                r"(['\"]?\s*[:=]\s*['\"]?)-?[\w-]+"), r"\1\2<id>"),
    (re.compile(r"\b(telegram|wechat|wecom|rest|shell|staff):[^\s,;:)'\"]+"), r"\1:<id>"),
]
# Loggers whose DEBUG records carry request/response bodies (message texts, addresses, phone numbers).
BODY_LOGGERS = ("telegram", "httpcore", "hpack", "aiogram", "urllib3", "aiohttp.client", "websockets")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    for value in secrets:
        if value and len(value) >= 6:
            text = text.replace(value, REDACTED)
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text


class ScrubFilter(logging.Filter):
    """A handler filter: rewrites each record in place (and drops library body dumps)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO and record.name.startswith(BODY_LOGGERS):
            return False
        if getattr(record, "_scrubbed", False):
            return True  # several handlers share a record: scrub it once
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record, nor leak its arguments
            message = str(record.msg)
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        elif record.exc_text:
            message += "\n" + record.exc_text
        if record.stack_info:
            message += "\n" + record.stack_info
        record.msg, record.args = scrub(message, self.secrets), None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        record._scrubbed = True
        return True


def install(secrets: Iterable[str] = (), logger: logging.Logger | None = None) -> ScrubFilter:
    """Put one ScrubFilter on every handler of ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    flt = ScrubFilter(secrets)
    for h in target.handlers:
        for old in [f for f in h.filters if isinstance(f, ScrubFilter)]:
            h.removeFilter(old)
        h.addFilter(flt)
    return flt


def known_secrets(settings: Settings) -> list[str]:
    """Secret values from the settings, replaced verbatim wherever they appear."""
    tg, auth = settings.telegram, settings.auth
    values = [settings.data_key, tg.client_token, tg.staff_token, tg.webhook_secret, auth.session_secret,
              auth.api_key]
    for platform in (getattr(settings, "wechat", None), getattr(settings, "wecom", None)):
        for name in ("app_secret", "token", "encoding_aes_key", "secret"):
            values.append(getattr(platform, name, None))
    return [v for v in values if isinstance(v, str) and v]
