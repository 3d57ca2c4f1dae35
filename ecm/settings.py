"""The one settings class of the service.

Every setting comes from the environment with the ``ECM_`` prefix; nested sections
use a double underscore, e.g. ``ECM_KAFKA__BOOTSTRAP_SERVERS`` or ``ECM_DB__DSN``.
Secrets are ``SecretStr`` so they are masked when settings are printed or logged.
The local stack under ``deploy/local/`` uses the same defaults.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseModel):
    """Where the broker is and how the service's topics are named and sized."""

    model_config = ConfigDict(frozen=True)

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    topic_prefix: str = "ecm"
    partitions: int = Field(default=8, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    input_retention_days: int = Field(default=30, ge=1)
    """How long the input topic (the only place a raw event, with a carer's coordinates,
    lives) and the dead-letter topic (which keeps rejected input's original bytes)
    keep a record; applied when the topics are created."""

    def topic(self, name: str) -> str:
        """Return the full topic name for a logical topic (e.g. ``visit-events``)."""
        return f"{self.topic_prefix}.{name}"


class DatabaseSettings(BaseModel):
    """How to reach PostgreSQL (with TimescaleDB when the extension is present)."""

    model_config = ConfigDict(frozen=True)

    dsn: SecretStr = SecretStr("postgresql://ecm:ecm@127.0.0.1:5433/ecm")
    """The schema owner's URL: migrations and operators' commands."""
    api_dsn: SecretStr | None = None
    """The API's URL, as role ``ecm_api`` (migration 0011); default: ``dsn``."""
    sink_dsn: SecretStr | None = None
    """The database sink's URL, as role ``ecm_sink``; default: ``dsn``."""
    notify_dsn: SecretStr | None = None
    """``ecm notify``'s URL, as role ``ecm_notify``; default: ``dsn``."""
    pool_min_size: int = Field(default=1, ge=1)
    pool_max_size: int = Field(default=8, ge=1)

    def dsn_for(self, component: Literal["api", "sink", "notify"]) -> str:
        """The URL a component connects with: its least-privilege role's, if set."""
        own = {"api": self.api_dsn, "sink": self.sink_dsn, "notify": self.notify_dsn}[component]
        return (own or self.dsn).get_secret_value()


class ApiSettings(BaseModel):
    """The provider-facing HTTP API."""

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = 8000
    max_batch: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=5_000_000, ge=1024)
    rate_limit_per_minute: int = Field(default=6000, ge=1)
    rate_limit_burst: int = Field(default=200, ge=1, description="Token-bucket size per key.")
    max_upload_bytes: int = Field(default=512_000_000, ge=1024, description="CSV upload limit.")
    upload_batch_size: int = Field(default=500, ge=1, le=10_000)
    publish_timeout_seconds: float = Field(default=15.0, gt=0)
    retry_after_seconds: int = Field(default=5, ge=1)
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    workers: int = Field(default=1, ge=1, description="Processes serving the API (set by "
                         "``ecm api --workers``); each enforces 1/workers of a rate limit.")
    ownership_timeout_seconds: float = Field(default=5.0, gt=0, description="How long an "
                                             "unknown visit or carer waits for the topics.")


class MetricsSettings(BaseModel):
    """Where the worker exposes Prometheus metrics."""

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = 9108
    notify_port: int = Field(default=9109, description="Metrics port of ``ecm notify``.")
    sink_port: int = Field(default=9110, description="Metrics port of ``ecm sink``.")


class NotifySettings(BaseModel):
    """Webhook notifications of alerts (``ecm notify``); see README "Alerts and notifications".

    ``provider_urls`` is JSON in the environment, e.g.
    ``ECM_NOTIFY__PROVIDER_URLS='{"P001": "https://oncall.example/ecm"}'``.
    """

    model_config = ConfigDict(frozen=True)

    duty_team_url: str | None = Field(default=None, description="Council duty team (missed).")
    provider_urls: dict[str, str] = Field(default_factory=dict)
    default_provider_url: str | None = Field(
        default=None, description="Used for a provider with no entry in provider_urls."
    )
    manager_url: str | None = Field(
        default=None, description="The named manager alerts escalate to after the duty team."
    )
    signing_secret: SecretStr | None = None
    group_id: str = "ecm-notify"
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=10, ge=1)
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_cap_seconds: float = Field(default=300.0, gt=0)
    failed_retry_seconds: float = Field(default=900.0, gt=0)
    failed_retry_for_seconds: float = Field(default=86_400.0, ge=0)
    max_alert_age_seconds: float = Field(default=86_400.0, gt=0)
    batch_size: int = Field(default=50, ge=1, le=1000)
    poll_seconds: float = Field(default=1.0, gt=0)


class RecalcSettings(BaseModel):
    """The recalculation the database sink records by itself (docs/rules.md, "Recalculation")."""

    model_config = ConfigDict(frozen=True)

    automatic: bool = Field(default=True, description="Whether the sink records a "
                            "recalculation of each backdated rule or rate it stores.")
    settle_seconds: float = Field(default=60.0, ge=0, description="How long after the latest "
                                  "change due was stored the sink waits before judging.")
    check_seconds: float = Field(default=30.0, gt=0, description="How often a sink that has "
                                 "caught up looks for changes due.")
    by: str = Field(default="ecm sink", min_length=1, description="Who the record names.")


class Settings(BaseSettings):
    """All settings of the ecm service, read once from the environment."""

    model_config = SettingsConfigDict(
        env_prefix="ECM_",
        env_nested_delimiter="__",
        frozen=True,
        extra="ignore",
    )

    kafka: KafkaSettings = KafkaSettings()
    db: DatabaseSettings = DatabaseSettings()
    api: ApiSettings = ApiSettings()
    metrics: MetricsSettings = MetricsSettings()
    notify: NotifySettings = NotifySettings()
    recalc: RecalcSettings = RecalcSettings()
    state_dir: Path = Path.home() / ".local" / "state" / "ecm"
    timezone: str = "Europe/London"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment on first use."""
    return Settings()
