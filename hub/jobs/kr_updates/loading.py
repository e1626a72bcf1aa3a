"""Load the metric mappings a config points at, checked against its connections and identities."""

from __future__ import annotations

from pathlib import Path

from hub.config.loader import LoadedConfig
from mappings.loader import load_mappings
from mappings.mapping_set import MappingSet


def mappings_path(loaded: LoadedConfig) -> Path:
    """The mapping folder or file, relative paths taken from the config file's folder."""
    path = loaded.config.mappings.path
    return path if path.is_absolute() else loaded.path.parent / path


def load_mapping_set(loaded: LoadedConfig) -> MappingSet:
    """Every mapping under the configured path (none when the path does not exist).

    Raises:
        ConfigErrors: A mapping is wrong; each error names file, line, column and field.
    """
    path = mappings_path(loaded)
    if not path.exists():
        return MappingSet(())
    config = loaded.config
    connections = {name: str(getattr(settings, "type", "")) for name, settings in config.connections.items()}
    identity_systems = list(config.org_sync.identities) if config.org_sync is not None else None
    return load_mappings(path, connections=connections, identity_systems=identity_systems)
