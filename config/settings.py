"""Settings are read once, here, and passed down; nothing reads the environment at import time.

Precedence: environment (``FRONTDESK_*``, nested with ``__``) > ``config/frontdesk.yaml`` > defaults.

Relative paths resolve when the settings are loaded, so the CLI works from any directory:
- writable files (``data_dir``, ``key_file``, ``nlu.model_path``) go in the *home folder*: ``FRONTDESK_HOME``
  if set, else the project root when running from a checkout, else the current directory;
- read-only resources (``nlu.data_dir``, ``services_file``, ``config/frontdesk.yaml``) are taken from the
  home folder when a copy exists there, else from the installed package (they ship in the wheel).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config import yamlfile

ROOT = Path(__file__).resolve().parent.parent  # the checkout, or site-packages when installed from a wheel
DEFAULT_FILE = Path(__file__).resolve().parent / "frontdesk.yaml"


def default_home() -> Path:
    """Where writable files go when FRONTDESK_HOME is unset: the checkout, else the current directory."""
    if (ROOT / "pyproject.toml").is_file() and (ROOT / "config" / "settings.py").is_file():
        return ROOT
    return Path.cwd()


def home_from(value: str | Path | None) -> Path:
    return Path(value).expanduser().absolute() if value else default_home()


def resource(p: Path, home: Path) -> Path:
    """A read-only file: the home folder's copy when there is one, else the one shipped in the package."""
    if p.is_absolute():
        return p
    return home / p if (home / p).exists() else ROOT / p


class NLUSettings(BaseModel):
    fallback_threshold: float = Field(0.35, ge=0.0, le=1.0)
    data_dir: Path = Path("nlu_data")
    model_path: Path = Path("models/nlu.pkl")
    max_chars: int = Field(2000, gt=0)


class BookingPolicy(BaseModel):
    travel_buffer_minutes: int = Field(30, ge=0)
    offer_timeout_minutes: int = Field(10, gt=0)
    lead_time_minutes: int = Field(120, ge=0)  # earliest start, counted from now
    max_days_ahead: int = Field(180, gt=0)
    max_area: float = 2000
    alternatives: int = Field(3, ge=1)


class TelegramSettings(BaseModel):
    client_token: str | None = None  # FRONTDESK_TELEGRAM__CLIENT_TOKEN (from BotFather)
    staff_token: str | None = None  # FRONTDESK_TELEGRAM__STAFF_TOKEN
    api_base: str = "https://api.telegram.org"  # or a self-hosted Bot API server
    mode: str = Field("polling", pattern="^(polling|webhook)$")
    webhook_base_url: str | None = None  # public https URL that reaches `frontdesk serve`
    webhook_secret: str | None = None  # FRONTDESK_TELEGRAM__WEBHOOK_SECRET, checked on every update
    staff_bot_username: str | None = None  # for invite links; asked from Telegram when not set
    per_chat_interval: float = 1.0
    per_second: float = 30.0
    polling_timeout: int = 25
    # With REDIS_URL one worker polls (both bots), elected through a Redis lease of this many seconds:
    # a dead poller is replaced within about one lease (bot/election.py).
    election_lease_seconds: float = Field(5.0, gt=0.5)


class WeChatSettings(BaseModel):
    """A WeChat Official Account (公众号) for clients; secrets from the environment only."""

    app_id: str | None = None  # FRONTDESK_WECHAT__APP_ID; the channel is on when app_id, secret and token are set
    app_secret: str | None = None  # FRONTDESK_WECHAT__APP_SECRET
    token: str | None = None  # FRONTDESK_WECHAT__TOKEN: the server-configuration token (signatures)
    encoding_aes_key: str | None = None  # FRONTDESK_WECHAT__ENCODING_AES_KEY: 43 characters, compatible/safe mode
    api_base: str = "https://api.weixin.qq.com"  # overridable for tests and proxies
    reply_budget_seconds: float = Field(4.0, gt=0, le=4.5)  # wait this long for the passive reply (WeChat: 5 s)
    max_body_bytes: int = Field(64 * 1024, gt=0)  # a callback larger than this is refused unread
    window_hours: float = Field(48, gt=0)  # a client's message opens the customer-service window …
    window_quota: int = Field(5, ge=0)  # … with this many messages, reset by each new message
    event_window_seconds: float = Field(60, gt=0)  # a menu click, subscribe or scan opens a short window …
    event_quota: int = Field(3, ge=0)  # … with this many messages
    templates: dict[str, dict[str, Any]] = {}  # notification template → {template_id, fields: {name: param}}
    menu_file: Path = Path("config/wechat_menu.yaml")  # `frontdesk wechat menu push`
    timeout_seconds: float = Field(5.0, gt=0)  # every platform call


class WeComSettings(BaseModel):
    """A WeCom (企业微信) self-built app for housekeepers and managers; secrets from the environment only."""

    corp_id: str | None = None  # FRONTDESK_WECOM__CORP_ID
    agent_id: int | None = None  # FRONTDESK_WECOM__AGENT_ID
    secret: str | None = None  # FRONTDESK_WECOM__SECRET: the app's secret
    token: str | None = None  # FRONTDESK_WECOM__TOKEN: the callback token
    encoding_aes_key: str | None = None  # FRONTDESK_WECOM__ENCODING_AES_KEY
    api_base: str = "https://qyapi.weixin.qq.com"
    timeout_seconds: float = Field(5.0, gt=0)


class AuthSettings(BaseModel):
    """Who may talk on the REST channel (see README "Authentication")."""

    session_secret: str | None = None  # FRONTDESK_AUTH__SESSION_SECRET: HMAC key for public session tokens
    session_days: int = Field(30, gt=0)  # a website visitor's session, renewed on use
    stream_token_seconds: int = Field(300, gt=0)  # short-lived token for EventSource (?token=…)
    api_key: str | None = None  # FRONTDESK_AUTH__API_KEY: trusted back ends only (server to server)
    cors_origins: list[str] = []  # exact origins allowed to call the REST channel from a browser
    trusted_proxies: list[str] = []  # addresses whose X-Forwarded-For is believed


class RateLimits(BaseModel):
    """Limits in the `limits` library's notation ("30/minute"); shared in Redis when REDIS_URL is set."""

    rest_per_sender: str = "30/minute"
    rest_per_address: str = "120/minute"
    sessions_per_address: str = "20/hour"
    platform_per_sender: str = "30/minute"  # Telegram / WeChat, counted after the signature check
    escalations_per_client_hour: int = Field(5, ge=1)


class PrivacySettings(BaseModel):
    retention_days: int = Field(180, gt=0)  # conversation history older than this is pruned
    erase_mode: str = Field("approval", pattern="^(approval|auto)$")  # a manager approves erasure, or not


class AttachmentSettings(BaseModel):
    """Files clients send (complaint photos): larger or other types are refused with a clear reply."""

    max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    allowed_types: list[str] = ["image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf",
                                "video/mp4"]


class OutboxSettings(BaseModel):
    lease_seconds: float = Field(120, gt=0)  # a claimed row comes back after this if its sender died


class TestHooks(BaseModel):
    """Only for the kill-and-restart tests; refused when environment is production."""

    enabled: bool = False
    clock_file: Path | None = None  # the time is read from this file (ISO 8601) on every call
    crash_at: str | None = None  # a named crash point: the process SIGKILLs itself there


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_", env_nested_delimiter="__", extra="ignore")

    environment: str = Field("development", pattern="^(development|production)$")
    home: Path | None = None  # FRONTDESK_HOME: the folder for writable files (see the module docstring)
    timezone: str = "Asia/Shanghai"
    data_dir: Path = Path("data")
    database_url: str | None = Field(None, validation_alias=AliasChoices("DATABASE_URL", "FRONTDESK_DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=AliasChoices("REDIS_URL", "FRONTDESK_REDIS_URL"))
    data_key: str | None = None  # FRONTDESK_DATA_KEY: Fernet key for personal data at rest
    key_file: Path = Path("keys/data.key")  # the generated key when FRONTDESK_DATA_KEY is unset: not in data/
    services_file: Path = Path("config/services.yaml")
    cases_file: Path = Path("config/cases.yaml")  # case clocks, service-desk hours, refund days
    holidays_file: Path = Path("config/holidays.yaml")  # extends the statutory calendar
    surveys_file: Path = Path("config/surveys.yaml")  # call-back survey timing, follow-up thresholds
    profile_file: Path = Path("config/profile.yaml")  # the client profile's coded vocabulary
    day_of_job_file: Path = Path("config/day_of_job.yaml")  # reminders, check-in window, no-show alarm
    cancellation_file: Path = Path("config/cancellation.yaml")  # free cancellation window and the fee
    series_file: Path = Path("config/series.yaml")  # repeat visits: rolling horizon, holiday rule
    service_area_file: Path = Path("config/service_area.yaml")  # cities and districts served, adjacency
    placements_file: Path = Path("config/placements.yaml")  # shortlist, holds, trial, check-ins (issue 12)
    vetting_file: Path = Path("config/vetting.yaml")  # vetting items required per service (issue 12)
    butler_file: Path = Path("config/butler.yaml")  # the butler's on-site and plan clocks (issue 12)
    # Traditional Chinese replies: OpenCC s2tw (Taiwan characters 為/裡/著, the default), s2hk (Hong Kong) or s2t
    traditional_variant: str = Field("s2tw", pattern="^(s2t|s2tw|s2hk)$")
    host: str = "127.0.0.1"
    port: int = 8080
    # `frontdesk serve` processes behind the one port (FRONTDESK_WORKERS); above 1 needs PostgreSQL and Redis.
    workers: int = 1
    nlu: NLUSettings = NLUSettings()
    booking: BookingPolicy = BookingPolicy()
    telegram: TelegramSettings = TelegramSettings()
    wechat: WeChatSettings = WeChatSettings()
    wecom: WeComSettings = WeComSettings()
    auth: AuthSettings = AuthSettings()
    rate_limits: RateLimits = RateLimits()
    privacy: PrivacySettings = PrivacySettings()
    outbox: OutboxSettings = OutboxSettings()
    attachments: AttachmentSettings = AttachmentSettings()
    test_hooks: TestHooks = TestHooks()

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        # Resolved once here so every caller agrees, whatever its working directory.
        self.home = home_from(self.home)
        self.data_dir = self.path(self.data_dir)
        self.key_file = self.path(self.key_file)
        self.services_file = self.resource(self.services_file)
        self.cases_file = self.resource(self.cases_file)
        self.holidays_file = self.resource(self.holidays_file)
        self.surveys_file = self.resource(self.surveys_file)
        self.profile_file = self.resource(self.profile_file)
        self.day_of_job_file = self.resource(self.day_of_job_file)
        self.cancellation_file = self.resource(self.cancellation_file)
        self.series_file = self.resource(self.series_file)
        self.service_area_file = self.resource(self.service_area_file)
        self.placements_file = self.resource(self.placements_file)
        self.vetting_file = self.resource(self.vetting_file)
        self.butler_file = self.resource(self.butler_file)
        self.wechat = self.wechat.model_copy(update={"menu_file": self.resource(self.wechat.menu_file)})
        self.nlu = self.nlu.model_copy(update={"data_dir": self.resource(self.nlu.data_dir),
                                               "model_path": self.path(self.nlu.model_path)})
        if self.test_hooks.clock_file is not None:
            self.test_hooks = self.test_hooks.model_copy(update={"clock_file": self.path(self.test_hooks.clock_file)})
        return self

    @property
    def home_dir(self) -> Path:
        return self.home or default_home()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.path(self.data_dir) / 'frontdesk.db'}"

    def path(self, p: Path) -> Path:
        """A writable path: relative ones live in the home folder."""
        return p if p.is_absolute() else self.home_dir / p

    def resource(self, p: Path) -> Path:
        """A read-only resource: the home folder's copy if present, else the packaged one."""
        return resource(p, self.home_dir)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _YamlSource(settings_cls)


class _YamlSource(PydanticBaseSettingsSource):
    """The YAML file named by FRONTDESK_CONFIG (default: config/frontdesk.yaml)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None = None) -> None:
        super().__init__(settings_cls)
        self._path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env = os.environ.get("FRONTDESK_CONFIG")
        home = home_from(os.environ.get("FRONTDESK_HOME"))
        path = self._path or (Path(env) if env else resource(Path("config/frontdesk.yaml"), home))
        if not path.exists():
            return {}
        data = yamlfile.read(path) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
        return data


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
