"""What every entry point (CLI, embedded scheduler, Celery task) builds first: config, store, connectors.

Example:
    ```python
    runtime = open_runtime(Path("config/hub.yaml"))
    stats = CallStats()
    with runtime.connector("hr", stats) as source:
        run_org_sync(runtime.engine, connection="hr", source=source, ...)
    ```
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from hub.config.loader import LoadedConfig, load_config
from hub.contracts import Capability, ConnectorContext
from hub.errors import ConfigError
from hub.http.stats import CallStats
from hub.redact import RedactingFilter
from hub.registry import ConnectorRegistry
from hub.store.engine import resolve_database_url
from hub.store.migrate import open_store

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class Runtime:
    """A loaded config, an open store and the connector registry."""

    loaded: LoadedConfig
    engine: Engine
    registry: ConnectorRegistry
    transport: httpx.BaseTransport | None = None

    @contextmanager
    def connector(
        self, name: str, stats: CallStats, *, capability: Capability | None = None
    ) -> Iterator[Any]:
        """Build the connector of connection `name`, closing it afterwards."""
        connections = self.loaded.config.connections
        if name not in connections:
            known = ", ".join(sorted(connections)) or "none"
            raise ConfigError(
                f"no connection named `{name}` (connections: {known})", file=str(self.loaded.path)
            )
        settings = connections[name]
        type_name: str = settings.type  # type: ignore[attr-defined]
        spec = self.registry.get(type_name)
        if capability is not None and capability not in spec.capabilities:
            raise ConfigError(
                f"connection `{name}` is a {type_name} connection, which cannot act as {capability.value}",
                file=str(self.loaded.path),
            )
        context = ConnectorContext(
            connection=name, stats=stats, transport=self.transport, secrets=self.loaded.secrets
        )
        connector = self.registry.create(type_name, settings, context=context)
        try:
            yield connector
        finally:
            connector.close()


def open_runtime(
    config_path: Path,
    *,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    registry: ConnectorRegistry | None = None,
) -> Runtime:
    """Load the config (installing secret redaction on the root logger) and open the store."""
    registry = registry or ConnectorRegistry.from_entry_points()
    loaded = load_config(config_path, registry=registry, env=env)
    install_redaction(loaded.secrets)
    url = resolve_database_url(database_url or loaded.config.store.url, env=env)
    engine = open_store(url, echo=loaded.config.store.echo)
    return Runtime(loaded=loaded, engine=engine, registry=registry)


_FILTER = RedactingFilter(())


def configure_logging(level: str = "WARNING") -> None:
    """Send logs to stderr through the redacting filter (called once by the CLI and workers)."""
    root = logging.getLogger()
    if not any(getattr(h, "_okrhub", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(_FILTER)
        handler._okrhub = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def install_redaction(secrets: frozenset[str]) -> None:
    """Mask these secret values in everything the okrhub log handler writes."""
    _FILTER.add(secrets)
