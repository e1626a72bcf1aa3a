"""Load mapping files into a `MappingSet`, reporting every mistake at once with file, line and column.

It reuses the config loader's YAML helpers (`hub.config.yaml_source`: ruamel positions and
`locate`), validates each file with the `mappings.model` models, then checks and compiles each
mapping (`mappings.build`). Problems from every file are collected and raised together as one
`ConfigErrors`, each naming file, line, column and field, e.g.
``acme.yaml:14:5: field `mappings[2].connection`: unknown connection `jria`; did you mean `jira`?``.

Example:
    ```python
    mapping_set = load_mappings(
        Path("config/mappings"),
        connections={"salesforce": "salesforce", "jira": "jira", "ga": "ga4"},
        identity_systems={"salesforce", "jira"},
    )
    ```
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml.comments import CommentedMap

from hub.config.messages import KEY_ERRORS, validation_message
from hub.config.yaml_source import Loc, TreeLocator, field_path, locate, parse_yaml, to_plain
from hub.errors import ConfigError, ConfigErrors
from mappings.build import build_mapping
from mappings.mapping_set import DEFAULT_QUERY_KINDS, MappingSet, MetricMapping, QueryKind
from mappings.model import MappingFile, MappingModel
from mappings.positions import in_scalar, normalise_loc

_QUERY_KEYS: frozenset[str | int] = frozenset(
    {"id", "connection", "soql", "jql", "ga4", "queries", "value", "expression", "targets"}
)
"""Keys the query checks need: with an error in one of them, the mapping's other checks wait."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    connections: Mapping[str, str]
    query_kinds: Mapping[str, QueryKind]
    identity_systems: Collection[str] | None


def load_mappings(
    paths_or_dir: Path | str | Sequence[Path | str],
    *,
    connections: Mapping[str, str],
    identity_systems: Collection[str] | None = None,
    query_kinds: Mapping[str, QueryKind] = DEFAULT_QUERY_KINDS,
) -> MappingSet:
    """Read, check and compile mapping files.

    Args:
        paths_or_dir: A folder (every `*.yaml` and `*.yml` in it, sorted by name), one file, or
            several files.
        connections: Connection name to connector type, from hub.yaml (`salesforce`, `jira`, `ga4`).
        identity_systems: The org sync's identity systems (hub.yaml `org_sync.identities`), so
            `{owner.<system>_id}` is checked; None accepts any system.
        query_kinds: Connector type to the query language its connections answer.

    Returns:
        Every mapping of every file, in order.

    Raises:
        ConfigErrors: Every problem found, each with file, line, column and field.
    """
    sources: list[tuple[str, str]] = []
    errors: list[ConfigError] = []
    for path in _files(paths_or_dir):
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            errors.append(ConfigError("mapping file is not UTF-8 text", file=str(path)))
        except OSError as exc:
            errors.append(
                ConfigError(f"cannot read mapping file: {exc.strerror or type(exc).__name__}", file=str(path))
            )
    context = _Context(connections=connections, query_kinds=query_kinds, identity_systems=identity_systems)
    return _load(sources, context, errors)


def load_mappings_text(
    text: str,
    *,
    connections: Mapping[str, str],
    source_name: str = "<mappings>",
    identity_systems: Collection[str] | None = None,
    query_kinds: Mapping[str, QueryKind] = DEFAULT_QUERY_KINDS,
) -> MappingSet:
    """Check and compile mapping YAML given as text; `source_name` is the file name errors report.

    Raises:
        ConfigErrors: Every problem found, each with file, line, column and field.
    """
    context = _Context(connections=connections, query_kinds=query_kinds, identity_systems=identity_systems)
    return _load([(source_name, text)], context, [])


def _files(paths_or_dir: Path | str | Sequence[Path | str]) -> list[Path]:
    if isinstance(paths_or_dir, str | Path):
        path = Path(paths_or_dir)
        if path.is_dir():
            return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        return [path]
    return [Path(path) for path in paths_or_dir]


def _load(sources: list[tuple[str, str]], context: _Context, errors: list[ConfigError]) -> MappingSet:
    mappings: list[MetricMapping] = []
    seen: dict[str, str] = {}
    for source, text in sources:
        mappings.extend(_load_file(source, text, context, errors, seen))
    if errors:
        order = {source: index for index, (source, _) in enumerate(sources)}
        errors.sort(key=lambda err: (order.get(err.file or "", -1), err.line or 0, err.column or 0))
        raise ConfigErrors(errors)
    return MappingSet(tuple(mappings))


def _load_file(
    source: str, text: str, context: _Context, errors: list[ConfigError], seen: dict[str, str]
) -> list[MetricMapping]:
    try:
        root = parse_yaml(text, source=source)
    except ConfigError as exc:
        errors.append(exc)
        return []
    if root is None:
        errors.append(
            ConfigError("mapping file is empty; it needs `mappings:` with a list of mappings", file=source)
        )
        return []
    if not isinstance(root, CommentedMap):
        errors.append(
            ConfigError(
                "the top level must be a mapping with the key `mappings`", file=source, line=1, column=1
            )
        )
        return []
    plain = to_plain(root)
    bad_keys: dict[int, set[str | int]] = {}
    try:
        MappingFile.model_validate(plain)
    except ValidationError as exc:
        locator = TreeLocator(source, root)
        for error in exc.errors():
            errors.append(_pydantic_error(error, locator))
            loc = tuple(error["loc"])
            if len(loc) >= 2 and loc[0] == "mappings" and isinstance(loc[1], int):
                bad_keys.setdefault(loc[1], set()).add(loc[2] if len(loc) > 2 else "")
    raw_items = plain.get("mappings")
    if not isinstance(raw_items, list):
        return []
    _check_duplicates(raw_items, root, source, errors, seen)
    mappings: list[MetricMapping] = []
    for index, raw in enumerate(raw_items):
        model = _model(raw, bad_keys.get(index))
        if model is None:
            continue
        line = locate(root, ("mappings", index), at_key=False).line
        mapping, problems = build_mapping(
            model,
            connections=context.connections,
            query_kinds=context.query_kinds,
            identity_systems=context.identity_systems,
            source=f"{source}:{line}",
        )
        for problem in problems:
            position = locate(root, ("mappings", index, *problem.loc), at_key=problem.at_key)
            line, column = position.line, position.column
            if problem.offset is not None:
                query = _value_at(raw, problem.loc)
                if isinstance(query, str):
                    line, column = in_scalar(text, query, problem.offset, line=line, column=column)
            errors.append(
                ConfigError(
                    problem.message,
                    file=source,
                    line=line,
                    column=column,
                    field=field_path(position.path) or None,
                )
            )
        if mapping is not None and index not in bad_keys:
            mappings.append(mapping)
    return mappings


def _model(raw: Any, bad_keys: set[str | int] | None) -> MappingModel | None:
    """The mapping's model; with errors only in keys the query checks do not need, a model without them.

    So a mistake in `window` does not hide a mistake in the query of the same mapping.
    """
    if not bad_keys:
        return MappingModel.model_validate(raw)
    if not isinstance(raw, dict) or bad_keys & _QUERY_KEYS or "" in bad_keys:
        return None
    try:
        return MappingModel.model_validate({key: value for key, value in raw.items() if key not in bad_keys})
    except ValidationError:
        return None


def _value_at(node: Any, loc: Loc) -> Any:
    for part in loc:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _check_duplicates(
    raw_items: list[Any], root: Any, source: str, errors: list[ConfigError], seen: dict[str, str]
) -> None:
    for index, raw in enumerate(raw_items):
        mapping_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(mapping_id, str | int) or isinstance(mapping_id, bool):
            continue
        key = str(mapping_id)
        position = locate(root, ("mappings", index, "id"), at_key=False)
        here = f"{source}:{position.line}:{position.column}"
        first = seen.get(key)
        if first is None:
            seen[key] = here
            continue
        errors.append(
            ConfigError(
                f"duplicate mapping id `{key}`; it is also defined at {first}; mapping ids must be unique "
                "across all mapping files",
                file=source,
                line=position.line,
                column=position.column,
                field=field_path(position.path),
            )
        )


def _pydantic_error(error: ErrorDetails, locator: TreeLocator) -> ConfigError:
    loc, known = normalise_loc(tuple(error["loc"]))
    message = validation_message(error, loc, lambda _: known)
    return locator.error(message, loc, at_key=error["type"] in KEY_ERRORS)
