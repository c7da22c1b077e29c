"""The settings convention: four plain names, everything else under TSR_."""

from __future__ import annotations

from pathlib import Path

import pytest

from tushare_rollout.config import PLAIN_ENV_NAMES, SecretStr, SettingsBase, plain_env
from tushare_rollout.devcluster.settings import DevClusterSettings


class Example(SettingsBase):
    database_url: SecretStr | None = plain_env("DATABASE_URL")
    kubeconfig: Path | None = plain_env("KUBECONFIG")
    tushare_token: SecretStr | None = plain_env("TUSHARE_TOKEN")
    tushare_api_url: str | None = plain_env("TUSHARE_API_URL")
    startup_timeout: float = 60.0


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PLAIN_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv("TSR_" + name, raising=False)


def test_plain_names_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2@db/x")
    monkeypatch.setenv("KUBECONFIG", "/tmp/kc")
    monkeypatch.setenv("TUSHARE_TOKEN", "t0ken")
    monkeypatch.setenv("TUSHARE_API_URL", "http://127.0.0.1:9000")
    s = Example()
    assert s.database_url.get_secret_value() == "postgresql://u:hunter2@db/x"
    assert s.kubeconfig == Path("/tmp/kc")
    assert s.tushare_token.get_secret_value() == "t0ken"
    assert s.tushare_api_url == "http://127.0.0.1:9000"


def test_secrets_do_not_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2@db/x")
    monkeypatch.setenv("TUSHARE_TOKEN", "t0ken")
    text = repr(Example()) + str(Example().model_dump())
    assert "hunter2" not in text and "t0ken" not in text


def test_everything_else_uses_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARTUP_TIMEOUT", "1")  # unprefixed: ignored
    assert Example().startup_timeout == 60.0
    monkeypatch.setenv("TSR_STARTUP_TIMEOUT", "5")
    assert Example().startup_timeout == 5.0


def test_plain_name_wins_over_prefixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSR_TUSHARE_API_URL", "http://prefixed")
    assert Example().tushare_api_url == "http://prefixed"
    monkeypatch.setenv("TUSHARE_API_URL", "http://plain")
    assert Example().tushare_api_url == "http://plain"


def test_only_the_four_names_may_be_plain() -> None:
    with pytest.raises(ValueError, match="use the TSR_ prefix"):
        plain_env("CACHE_DIR")


def test_devcluster_ignores_kubeconfig_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "/somewhere/prod")
    s = DevClusterSettings()
    assert s.use_existing_cluster is False
    monkeypatch.setenv("TSR_USE_EXISTING_CLUSTER", "true")
    monkeypatch.setenv("TSR_CACHE_DIR", "/tmp/cache")
    s = DevClusterSettings()
    assert s.use_existing_cluster is True and s.kubeconfig == Path("/somewhere/prod")
    assert s.cache_dir == Path("/tmp/cache")
