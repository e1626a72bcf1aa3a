"""What a connector's tests hand the conformance kit: a way to build the connector against its emulator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.http.stats import CallStats


@dataclass(frozen=True, kw_only=True)
class Harness:
    """One connector wired to its running sandbox emulator.

    `make(bad_credentials=False, stats=CallStats())` builds a connector with good (or wrong)
    credentials; `emulator` is the running `sandbox.server.EmulatorApp` (for faults and the
    request log); `org` is the `sandbox.org.SyntheticOrg` it serves; `secrets` are the secret
    values the connector was given, which must never show in logs or error text;
    `people_path` is a regex of the emulator path that serves people (where faults go);
    `expected_ids(org)` is the set of employee ids a full read must return (everyone, or only
    the active people for an API that lists no leavers).
    """

    make: Callable[..., Any]
    emulator: Any
    org: Any
    secrets: frozenset[str]
    people_path: str
    expected_ids: Callable[[Any], set[str]] = lambda org: set(org.employees)

    def connector(self, *, bad_credentials: bool = False, stats: CallStats | None = None) -> Any:
        """A connector built by `make`."""
        return self.make(bad_credentials=bad_credentials, stats=stats or CallStats())
