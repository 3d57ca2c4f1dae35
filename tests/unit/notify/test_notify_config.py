"""Notifier settings: required secret and endpoints, JSON provider URLs from the env."""

from __future__ import annotations

import pytest

from ecm.notify.config import config_from_settings
from ecm.notify.exceptions import NotifyConfigError
from ecm.settings import Settings


def test_settings_read_provider_urls_as_json_and_mask_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ECM_NOTIFY__PROVIDER_URLS", '{"P1": "http://127.0.0.1:1/p1"}')
    monkeypatch.setenv("ECM_NOTIFY__DUTY_TEAM_URL", "http://127.0.0.1:1/duty")
    monkeypatch.setenv("ECM_NOTIFY__SIGNING_SECRET", "topsecret")
    monkeypatch.setenv("ECM_NOTIFY__MAX_ATTEMPTS", "3")
    settings = Settings()
    assert "topsecret" not in repr(settings)
    config = config_from_settings(settings, dsn="postgresql://x/y")
    assert config.secret == b"topsecret"
    assert config.endpoints.provider_urls == {"P1": "http://127.0.0.1:1/p1"}
    assert config.policy.max_attempts == 3
    assert config.group_id == "ecm-notify"
    assert config.dsn == "postgresql://x/y"


def test_the_notifier_refuses_to_run_unsigned_or_with_nowhere_to_send() -> None:
    with pytest.raises(NotifyConfigError, match="SIGNING_SECRET"):
        config_from_settings(Settings(notify={"duty_team_url": "http://x"}))
    with pytest.raises(NotifyConfigError, match="no webhook"):
        config_from_settings(Settings(notify={"signing_secret": "s"}))


def test_the_manager_url_is_the_webhook_of_the_last_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECM_NOTIFY__DUTY_TEAM_URL", "http://127.0.0.1:1/duty")
    monkeypatch.setenv("ECM_NOTIFY__MANAGER_URL", "http://127.0.0.1:1/manager")
    monkeypatch.setenv("ECM_NOTIFY__SIGNING_SECRET", "s")
    config = config_from_settings(Settings(), dsn="postgresql://x/y")
    assert config.endpoints.url_for("manager") == "http://127.0.0.1:1/manager"
