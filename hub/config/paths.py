"""Where okrhub looks for its config, and the environment variables that override the file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CONFIG_ENV_VAR = "OKRHUB_CONFIG"
"""Environment variable holding the config file's path."""
DATABASE_URL_ENV_VAR = "OKRHUB_DATABASE_URL"
"""Environment variable holding the store's SQLAlchemy URL; wins over `store.url` in the file."""
DEFAULT_CONFIG_PATH = Path("config") / "hub.yaml"
"""The config file used when `OKRHUB_CONFIG` is unset, relative to the working directory."""


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file to load: `$OKRHUB_CONFIG` if set, else `./config/hub.yaml`.

    Args:
        env: Environment to read; `os.environ` when None.

    Returns:
        The path, not checked for existence.
    """
    value = (os.environ if env is None else env).get(CONFIG_ENV_VAR)
    return Path(value) if value else DEFAULT_CONFIG_PATH
