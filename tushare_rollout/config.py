"""The settings convention every process follows.

Four variables keep the plain names users already have in their shells:
``DATABASE_URL``, ``KUBECONFIG``, ``TUSHARE_TOKEN`` and ``TUSHARE_API_URL``.
Everything else is read under the ``TSR_`` prefix, nested with ``__``
(``TSR_DB__POOL_SIZE`` <-> ``db.pool_size``), mirroring the Helm values.

Each process builds exactly one settings class (a subclass of
:class:`SettingsBase`) in its entrypoint and passes it down; nothing reads the
environment at import time.

>>> import os
>>> class Example(SettingsBase):
...     database_url: SecretStr | None = plain_env("DATABASE_URL")
...     startup_timeout: float = 60.0
>>> os.environ["DATABASE_URL"] = "postgresql://u:pw@h/db"; os.environ["TSR_STARTUP_TIMEOUT"] = "5"
>>> s = Example()
>>> s.database_url, s.startup_timeout
(SecretStr('**********'), 5.0)
>>> del os.environ["DATABASE_URL"], os.environ["TSR_STARTUP_TIMEOUT"]
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "TSR_"
PLAIN_ENV_NAMES = ("DATABASE_URL", "KUBECONFIG", "TUSHARE_TOKEN", "TUSHARE_API_URL")

__all__ = ["ENV_PREFIX", "PLAIN_ENV_NAMES", "SecretStr", "SettingsBase", "plain_env"]


class SettingsBase(BaseSettings):
    """Base of every process's settings class: ``TSR_`` prefix, ``__`` nesting."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )


def plain_env(name: str, default: Any = None, **kwargs: Any) -> Any:
    """A field read from one of the plain, well-known variable names.

    The ``TSR_``-prefixed spelling is accepted as well, so a Helm chart may set
    either; the plain name wins when both are set.
    """
    if name not in PLAIN_ENV_NAMES:
        raise ValueError(f"{name} is not one of the plain settings names {PLAIN_ENV_NAMES}; use the TSR_ prefix")
    return Field(default, validation_alias=AliasChoices(name, ENV_PREFIX + name), **kwargs)
