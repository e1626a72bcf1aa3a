"""Secret fields in connector settings: the config names where a secret lives, never the secret.

A `SecretRef` field accepts `${ENV_VAR}` (read from the environment) or `${file:PATH}` (read
from a file; a relative PATH starts at the config file's folder), and holds a `SecretStr` once
validated. A literal value is refused, so no API key ever lands in a YAML file or a git diff.

Example:
    ```python
    class BambooHRSettings(BaseModel):
        api_key: SecretRef
        \"\"\"API key, as `${BAMBOOHR_API_KEY}` or `${file:/run/secrets/bamboohr}`.\"\"\"

    found: set[str] = set()
    settings = BambooHRSettings.model_validate(raw, context={"env": os.environ, "secrets": found})
    settings.api_key.get_secret_value()  # the key; `found` holds it too, for log redaction
    ```

Code that builds settings directly may pass a `SecretStr`, which is taken as it is.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, SecretStr, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from hub.config.context import ValidationContext, context_of

REFERENCE_PATTERN = r"^\$\{(?:file:[^}]+|[A-Za-z_][A-Za-z0-9_]*)\}$"
"""What a secret reference looks like: `${ENV_VAR}` or `${file:PATH}`."""

_REFERENCE = re.compile(REFERENCE_PATTERN)
_FILE_PREFIX = "file:"
_EXAMPLES = "${BAMBOOHR_API_KEY} or ${file:/run/secrets/bamboohr}"


def _refuse(kind: str, message: str, **context: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message, context or None)


def _remember(secret: str, context: ValidationContext) -> None:
    found = context.get("secrets")
    if found is not None:
        found.add(secret)


def _from_env(name: str, context: ValidationContext) -> str:
    env = context.get("env", os.environ)
    value = env.get(name)
    if value is None:
        raise _refuse(
            "secret_env_missing",
            "environment variable `{name}` is not set; export it where okrhub runs "
            "(or reference a file with ${file:PATH})",
            name=name,
        )
    if not value:
        raise _refuse("secret_empty", "environment variable `{name}` is set but empty", name=name)
    return value


def _from_file(raw_path: str, context: ValidationContext) -> str:
    path = Path(raw_path).expanduser()
    if not path.is_absolute():
        path = context.get("base_dir", Path.cwd()) / path
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        raise _refuse("secret_file_missing", "secret file `{path}` does not exist", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise _refuse(
            "secret_file_unreadable",
            "cannot read secret file `{path}`: {reason}",
            path=str(path),
            reason=reason,
        ) from None
    if not value:
        raise _refuse("secret_empty", "secret file `{path}` is empty", path=str(path))
    return value


def _resolve(value: Any, info: ValidationInfo) -> SecretStr:
    context = context_of(info.context)
    if isinstance(value, SecretStr):
        _remember(value.get_secret_value(), context)
        return value
    if not isinstance(value, str):
        raise _refuse("secret_reference_type", f"must be a secret reference such as {_EXAMPLES}")
    if not _REFERENCE.fullmatch(value):
        raise _refuse(
            "secret_literal",
            f"must be a secret reference such as {_EXAMPLES}, never the secret itself",
        )
    target = value[2:-1]
    if target.startswith(_FILE_PREFIX):
        secret = _from_file(target.removeprefix(_FILE_PREFIX), context)
    else:
        secret = _from_env(target, context)
    _remember(secret, context)
    return SecretStr(secret)


SecretRef = Annotated[
    SecretStr,
    BeforeValidator(_resolve),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": REFERENCE_PATTERN,
            "description": (
                "A secret reference: ${ENV_VAR} reads an environment variable, ${file:PATH} reads a "
                "file (relative to the config file's folder). Never the secret itself."
            ),
        }
    ),
]
"""A secret setting: `${ENV_VAR}` or `${file:PATH}` in the config, a `SecretStr` once validated."""
