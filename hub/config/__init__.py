"""The hub's configuration: `hub.yaml` parsed, validated and located to the line.

Example:
    ```python
    from hub.config import default_config_path, load_config

    loaded = load_config(default_config_path())
    loaded.config.org_sync  # OrgSyncSettings | None
    ```
"""

from __future__ import annotations

from hub.config.loader import LoadedConfig, load_config
from hub.config.models import HubConfig
from hub.config.paths import default_config_path
from hub.config.secrets import SecretRef

__all__ = ["HubConfig", "LoadedConfig", "SecretRef", "default_config_path", "load_config"]
