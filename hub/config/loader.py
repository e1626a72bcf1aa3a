"""Load `hub.yaml` into a `HubConfig`, reporting every mistake at once with its file, line and column.

Example:
    ```python
    loaded = load_config(default_config_path())
    loaded.config.connections["bamboohr"]  # validated connector settings
    loaded.secrets  # every resolved secret value, for the log redaction filter
    ```

A config with problems raises `ConfigErrors`; each `ConfigError` in `errors` carries `file`,
`line`, `column` (1-based) and `field` (`connections.hr.api_key`), and a message that says what
to change, e.g. ``unknown key `max_deactivate_ration`; did you mean `max_deactivate_ratio`?``.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from hub.config.context import ValidationContext
from hub.config.messages import describe_value, unwrap_annotation, validation_errors
from hub.config.models import HubConfig
from hub.config.paths import DATABASE_URL_ENV_VAR
from hub.config.yaml_source import Loc, TreeLocator, parse_yaml, to_plain
from hub.errors import ConfigError, ConfigErrors
from hub.registry import ConnectorRegistry

_TOP_LEVEL_KEYS = ", ".join(HubConfig.model_fields)


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A validated config, the file it came from, and the secret values it resolved.

    Example:
        ```python
        loaded = load_config(Path("config/hub.yaml"))
        install_redaction(loaded.secrets)
        run_org_sync(loaded.config)
        ```
    """

    config: HubConfig
    path: Path
    secrets: frozenset[str]


def load_config(
    path: Path, *, registry: ConnectorRegistry | None = None, env: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Read, parse and validate the config file at `path`.

    Args:
        path: The YAML file; relative `${file:...}` secrets start from its folder.
        registry: Connector types; every installed connector (entry points) when None.
        env: Environment for `${VAR}` secrets and `OKRHUB_DATABASE_URL`; `os.environ` when None.

    Returns:
        The validated config with the secret values it resolved.

    Raises:
        ConfigErrors: Every problem found, each with file, line, column and field.
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _single(
            "config file not found; create it (config/hub.yaml in the okrhub repository is a commented "
            "example) or point OKRHUB_CONFIG at it",
            source,
        ) from None
    except UnicodeDecodeError:
        raise _single("config file is not UTF-8 text", source) from None
    except OSError as exc:
        raise _single(f"cannot read config file: {exc.strerror or type(exc).__name__}", source) from None
    return _load(text, source=source, path=path, base_dir=path.parent, registry=registry, env=env)


def load_config_text(
    text: str,
    *,
    source_name: str = "<config>",
    base_dir: Path | None = None,
    registry: ConnectorRegistry | None = None,
    env: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Validate config YAML given as text; `source_name` is the file name errors report.

    Args:
        text: The YAML.
        source_name: Name used in error positions and as `LoadedConfig.path`.
        base_dir: Folder relative `${file:...}` secrets start from; the working directory when None.
        registry: Connector types; every installed connector (entry points) when None.
        env: Environment for `${VAR}` secrets and `OKRHUB_DATABASE_URL`; `os.environ` when None.

    Returns:
        The validated config with the secret values it resolved.

    Raises:
        ConfigErrors: Every problem found, each with file, line, column and field.
    """
    return _load(
        text, source=source_name, path=Path(source_name), base_dir=base_dir, registry=registry, env=env
    )


def _single(message: str, source: str, line: int | None = None, column: int | None = None) -> ConfigErrors:
    return ConfigErrors([ConfigError(message, file=source, line=line, column=column)])


def _load(
    text: str,
    *,
    source: str,
    path: Path,
    base_dir: Path | None,
    registry: ConnectorRegistry | None,
    env: Mapping[str, str] | None,
) -> LoadedConfig:
    try:
        root = parse_yaml(text, source=source)
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    if root is None:
        raise _single(
            f"config file is empty; it needs at least `version: 1` (top-level keys: {_TOP_LEVEL_KEYS})",
            source,
            1,
            1,
        )
    if not isinstance(root, CommentedMap):
        line, column = (root.lc.line + 1, root.lc.col + 1) if isinstance(root, CommentedSeq) else (1, 1)
        raise _single(
            f"the top level must be a mapping of keys ({_TOP_LEVEL_KEYS}), found {describe_value(root)}",
            source,
            line,
            column,
        )
    registry = ConnectorRegistry.from_entry_points() if registry is None else registry
    env = os.environ if env is None else env
    secrets: set[str] = set()
    context: ValidationContext = {
        "registry": registry,
        "env": env,
        "base_dir": base_dir if base_dir is not None else Path.cwd(),
        "secrets": secrets,
    }
    plain = to_plain(root)
    try:
        config = HubConfig.model_validate(plain, context=context)
    except ValidationError as exc:
        # The error's inputs may hold a literal secret, so it is not chained.
        errors = validation_errors(
            exc, TreeLocator(source, root), known_keys_at=lambda loc: _field_names_at(loc, plain, registry)
        )
        raise ConfigErrors(errors) from None
    database_url = env.get(DATABASE_URL_ENV_VAR)
    if database_url:
        config = config.model_copy(update={"store": config.store.model_copy(update={"url": database_url})})
    password = urlsplit(config.store.url).password if config.store.url else None
    if password:
        secrets.add(password)
    return LoadedConfig(config=config, path=path, secrets=frozenset(secrets))


def _field_names_at(loc: Loc, plain: Any, registry: ConnectorRegistry) -> list[str]:
    """The keys the model at `loc` accepts (for did-you-mean), or none when `loc` is not a model."""
    annotation: Any = HubConfig
    value = plain
    for part in loc:
        model = _model_of(annotation, value, registry)
        if model is not None:
            field = model.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation := unwrap_annotation(annotation)) is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return []
        value = value.get(part) if isinstance(value, Mapping) else None
    model = _model_of(annotation, value, registry)
    if model is None:
        return []
    return sorted(field.alias or name for name, field in model.model_fields.items())


def _model_of(annotation: Any, value: Any, registry: ConnectorRegistry) -> type[BaseModel] | None:
    annotation = unwrap_annotation(annotation)
    if annotation is BaseModel:  # a connection: its model is the connector's, named by `type`
        type_name = value.get("type") if isinstance(value, Mapping) else None
        if isinstance(type_name, str) and type_name in registry.names():
            return registry.get(type_name).settings_model
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None
