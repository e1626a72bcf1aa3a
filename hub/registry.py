"""Find connectors through the `okrhub.connectors` entry-point group.

Nothing registers itself at import time: the registry is built explicitly, from entry points
(`ConnectorRegistry.from_entry_points()`) or from classes (`ConnectorRegistry.from_classes(...)`,
for tests and embedding). A duplicate name is an error, never a silent overwrite.

Example:
    ```python
    registry = ConnectorRegistry.from_entry_points()
    spec = registry.get("bamboohr")
    settings = spec.settings_model.model_validate(raw)
    connector = registry.create("bamboohr", settings, context=context)
    ```
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from hub.contracts import Capability, ConnectorContext
from hub.errors import ConfigError, UnknownConnectorError

ENTRY_POINT_GROUP = "okrhub.connectors"


@dataclass(frozen=True, slots=True)
class ConnectorSpec:
    """A registered connector type: its class, settings model and capabilities."""

    type_name: str
    cls: type[Any]
    settings_model: type[BaseModel]
    capabilities: frozenset[Capability]


class ConnectorRegistry:
    """The connector types this installation knows, by name."""

    def __init__(self, specs: Iterable[ConnectorSpec]) -> None:
        self._specs: dict[str, ConnectorSpec] = {}
        for spec in specs:
            if spec.type_name in self._specs:
                first, second = self._specs[spec.type_name].cls, spec.cls
                raise ConfigError(
                    f"connector type `{spec.type_name}` is registered twice "
                    f"({first.__module__}.{first.__qualname__} and "
                    f"{second.__module__}.{second.__qualname__}); "
                    "uninstall one of the packages"
                )
            self._specs[spec.type_name] = spec

    @classmethod
    def from_classes(cls, classes: Iterable[type[Any]]) -> ConnectorRegistry:
        """A registry of the given connector classes (each names itself in `type_name`)."""
        return cls(_spec_of(klass, getattr(klass, "type_name", klass.__name__)) for klass in classes)

    @classmethod
    def from_entry_points(cls) -> ConnectorRegistry:
        """A registry of every connector installed under the `okrhub.connectors` entry-point group."""
        specs = []
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            klass = entry.load()
            declared = getattr(klass, "type_name", entry.name)
            if declared != entry.name:
                raise ConfigError(
                    f"entry point `{entry.name}` loads {entry.value}, whose type_name is `{declared}`; "
                    "the two must match"
                )
            specs.append(_spec_of(klass, entry.name))
        return cls(specs)

    def names(self) -> list[str]:
        """Every known connector type, sorted."""
        return sorted(self._specs)

    def suggest(self, name: str) -> str | None:
        """The known type closest to a misspelt `name`, if any is close."""
        matches = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.6)
        return matches[0] if matches else None

    def get(self, name: str) -> ConnectorSpec:
        """The spec of connector type `name`; `UnknownConnectorError` lists the known ones."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownConnectorError(name, self.names(), self.suggest(name)) from None

    def specs(self) -> list[ConnectorSpec]:
        """Every registered spec, sorted by name."""
        return [self._specs[name] for name in self.names()]

    def create(self, name: str, settings: BaseModel, *, context: ConnectorContext) -> Any:
        """Build a connector of type `name` from validated settings."""
        spec = self.get(name)
        if not isinstance(settings, spec.settings_model):
            settings = spec.settings_model.model_validate(settings.model_dump())
        return spec.cls(settings, context=context)


def _spec_of(klass: type[Any], name: str) -> ConnectorSpec:
    missing = [attr for attr in ("capabilities", "settings_model") if not hasattr(klass, attr)]
    if missing:
        raise ConfigError(
            f"connector `{name}` ({klass.__module__}.{klass.__qualname__}) lacks {', '.join(missing)}"
        )
    return ConnectorSpec(
        type_name=name,
        cls=klass,
        settings_model=klass.settings_model,
        capabilities=frozenset(klass.capabilities),
    )
