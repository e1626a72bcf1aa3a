"""Errors of the mapping compiler, each a leaf of the hub's one error tree (`hub.errors`).

```
OkrHubError
├── TemplateError      a query template cannot be compiled safely (loader: becomes a ConfigError)
├── ExpressionError    an `expression:` uses something the safe evaluator refuses (loader: ConfigError)
└── PlanningError      one key result cannot be planned; the compiler records a PlanProblem, others go on
    ├── MissingIdentity  the key result's owner has no id in the system the query needs
    ├── UnsafeValue      a parameter value cannot be rendered safely (newline, NUL, malformed id)
    └── EmptyWindow      the time window has no days yet (the cycle has not started)
```

None of these leaves `mappings/` in normal use: the loader turns template and expression errors
into `ConfigErrors` with file, line and column, and the compiler turns planning errors into
`PlanProblem`s naming the key result.
"""

from __future__ import annotations

from hub.errors import OkrHubError


class TemplateError(OkrHubError):
    """A query template is unsafe or malformed; `offset` is where in the template text, if known."""

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class ExpressionError(OkrHubError):
    """An expression uses syntax or names the safe evaluator does not allow."""


class PlanningError(OkrHubError):
    """One key result cannot be planned; the plan records why and goes on with the others."""


class MissingIdentity(PlanningError):
    """The owner of a key result has no id in the system a query needs."""


class UnsafeValue(PlanningError):
    """A parameter value cannot be rendered as a literal safely, so it is refused, never spliced."""


class EmptyWindow(PlanningError):
    """A time window resolved to no days (it would end before it starts)."""
