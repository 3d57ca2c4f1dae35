"""The notifier's configuration, taken from ``Settings`` once at start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ecm.notify.backoff import RetryPolicy
from ecm.notify.exceptions import NotifyConfigError
from ecm.notify.routing import Endpoints
from ecm.settings import KafkaSettings, Settings


@dataclass(frozen=True)
class NotifierConfig:
    """Everything the consumer and the delivery loop need."""

    kafka: KafkaSettings
    dsn: str
    endpoints: Endpoints
    secret: bytes
    policy: RetryPolicy
    group_id: str = "ecm-notify"
    timeout_seconds: float = 10.0
    batch_size: int = 50
    poll_seconds: float = 1.0
    max_alert_age: timedelta = timedelta(days=1)


def config_from_settings(settings: Settings, dsn: str | None = None) -> NotifierConfig:
    """Build the notifier configuration.

    Raises:
        NotifyConfigError: no signing secret, or no endpoint configured at all.

    """
    notify = settings.notify
    if notify.signing_secret is None or not notify.signing_secret.get_secret_value():
        raise NotifyConfigError("ECM_NOTIFY__SIGNING_SECRET is required to send webhooks")
    if not (notify.duty_team_url or notify.provider_urls or notify.default_provider_url):
        raise NotifyConfigError(
            "no webhook configured: set ECM_NOTIFY__DUTY_TEAM_URL and/or "
            "ECM_NOTIFY__PROVIDER_URLS / ECM_NOTIFY__DEFAULT_PROVIDER_URL"
        )
    return NotifierConfig(
        kafka=settings.kafka,
        dsn=dsn or settings.db.dsn_for("notify"),
        endpoints=Endpoints(
            duty_team_url=notify.duty_team_url,
            provider_urls=dict(notify.provider_urls),
            default_provider_url=notify.default_provider_url,
            manager_url=notify.manager_url,
        ),
        secret=notify.signing_secret.get_secret_value().encode(),
        policy=RetryPolicy(
            max_attempts=notify.max_attempts,
            base_seconds=notify.backoff_base_seconds,
            cap_seconds=notify.backoff_cap_seconds,
            failed_retry_seconds=notify.failed_retry_seconds,
            failed_retry_for_seconds=notify.failed_retry_for_seconds,
        ),
        group_id=notify.group_id,
        timeout_seconds=notify.timeout_seconds,
        batch_size=notify.batch_size,
        poll_seconds=notify.poll_seconds,
        max_alert_age=timedelta(seconds=notify.max_alert_age_seconds),
    )
