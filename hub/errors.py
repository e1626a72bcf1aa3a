"""The one error tree of okrhub, grouped by what the runner must do.

```
OkrHubError                      base of everything okrhub raises on purpose
├── ConfigError                  bad YAML/config: names file, line, column, field; an admin fixes the file
├── ConnectorError               a vendor call failed for a reason retrying will not fix
│   ├── AuthError                credentials rejected (401, bad key, refresh token revoked)
│   ├── PermissionDenied         credentials fine, access refused (403)
│   ├── SourceDataError          the vendor answered, but with a body we cannot use (truncated, malformed)
│   ├── QueryRejected            the vendor refused one query (bad SOQL/JQL, unknown metric); names it
│   └── QuotaExhausted           a vendor quota or our own API budget is spent; stop that scope for the run
├── TransientError               worth retrying: 5xx, timeouts, connection resets
│   └── RateLimited              429 (or 503 with Retry-After); carries `retry_after` seconds
├── RecordRejected               one record is bad: skip it, write it to the ledger, go on
├── GuardTripped                 a job would do damage (mass deactivation); it stopped before writing
├── StoreError                   the store is missing, unmigrated or unreachable
├── JobBusy                      the job is already running in another process; try again when it ends
└── UnknownConnectorError        a connection names a connector type nobody registered
```

Every exception keeps its constructor arguments in `args` and defines `__reduce__`, so it
survives pickling (Celery ships exceptions between processes). Messages are written for the admin
who reads them at 7am: they name the object, the value and what to do next, and never hold a
secret (the HTTP layer redacts before building them).
"""

from __future__ import annotations

from typing import Any


class OkrHubError(Exception):
    """Base of every error okrhub raises on purpose.

    Subclasses store their structured fields as attributes; `attrs()` returns them for the
    run ledger and `--json` output.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error, for the ledger and JSON output."""
        return {"type": type(self).__name__, "message": self.message}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.__dict__.copy()))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[OkrHubError], state: dict[str, Any]) -> OkrHubError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


class ConfigError(OkrHubError):
    """A configuration or mapping file is wrong; the message says where and how to fix it."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        location = ":".join(str(part) for part in (file, line, column) if part is not None)
        where = f"{location}: " if location else ""
        what = f"field `{field}`: " if field else ""
        super().__init__(f"{where}{what}{message}")
        self.reason = message
        self.file = file
        self.line = line
        self.column = column
        self.field = field

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {
            **super().attrs(),
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "reason": self.reason,
        }


class ConfigErrors(ConfigError):
    """Several configuration errors found in one pass; `errors` holds each one."""

    def __init__(self, errors: list[ConfigError]) -> None:
        count = len(errors)
        lines = "\n".join(f"  {err.message}" for err in errors)
        super().__init__(f"{count} configuration error{'s' if count != 1 else ''}:\n{lines}")
        self.errors = errors

    def attrs(self) -> dict[str, Any]:
        """Structured fields of every error."""
        return {"type": "ConfigErrors", "errors": [err.attrs() for err in self.errors]}


class ConnectorError(OkrHubError):
    """A vendor call failed in a way retrying will not fix; an admin must act."""

    def __init__(self, message: str, *, connection: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.connection = connection
        self.status = status

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {**super().attrs(), "connection": self.connection, "status": self.status}


class AuthError(ConnectorError):
    """The vendor rejected the credentials."""


class PermissionDenied(ConnectorError):
    """The credentials work but lack a permission the job needs."""


class SourceDataError(ConnectorError):
    """The vendor answered with a body that cannot be used (truncated, malformed, wrong shape)."""


class QueryRejected(ConnectorError):
    """The vendor refused one query as written; the message quotes the vendor's reason."""


class QuotaExhausted(ConnectorError):
    """A quota is spent (a GA4 property's tokens, the org's daily API calls, our configured share).

    `scope` says what stops: one GA4 property, or the whole connection for this run.
    """

    def __init__(
        self,
        message: str,
        *,
        connection: str | None = None,
        status: int | None = None,
        scope: str = "connection",
    ) -> None:
        super().__init__(message, connection=connection, status=status)
        self.scope = scope

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {**super().attrs(), "scope": self.scope}


class TransientError(OkrHubError):
    """A failure that may pass: a 5xx, a timeout, a reset connection."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {**super().attrs(), "status": self.status}


class RateLimited(TransientError):
    """The vendor asked us to slow down; `retry_after` is how long it asked us to wait, if it said."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {**super().attrs(), "retry_after": self.retry_after}


class RecordRejected(OkrHubError):
    """One record cannot be stored; the run writes it to the ledger and goes on."""

    def __init__(self, record_key: str, reason: str) -> None:
        super().__init__(f"record {record_key!r} rejected: {reason}")
        self.record_key = record_key
        self.reason = reason

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {**super().attrs(), "record_key": self.record_key, "reason": self.reason}


class GuardTripped(OkrHubError):
    """A job stopped before doing damage; `--force` overrides once an admin has looked."""

    def __init__(self, message: str, *, guard: str, observed: float, limit: float) -> None:
        super().__init__(message)
        self.guard = guard
        self.observed = observed
        self.limit = limit

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {**super().attrs(), "guard": self.guard, "observed": self.observed, "limit": self.limit}


class StoreError(OkrHubError):
    """The store cannot be used: unreachable, or at a schema this code does not know."""


class JobBusy(OkrHubError):
    """Another process holds the job's lease (a scheduled run, a worker, another admin)."""

    def __init__(self, message: str, *, job: str, holder: str) -> None:
        super().__init__(message)
        self.job = job
        self.holder = holder

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {**super().attrs(), "job": self.job, "holder": self.holder}


class UnknownConnectorError(OkrHubError):
    """A connection names a connector type that no installed package provides."""

    def __init__(self, name: str, known: list[str], suggestion: str | None = None) -> None:
        hint = f" Did you mean `{suggestion}`?" if suggestion else ""
        super().__init__(
            f"unknown connector type `{name}`.{hint} Known types: {', '.join(sorted(known)) or 'none'}."
        )
        self.name = name
        self.known = sorted(known)
        self.suggestion = suggestion

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {**super().attrs(), "name": self.name, "known": self.known, "suggestion": self.suggestion}
