"""The error tree of the OKR domain.

`okr_core` imports nothing from the rest of okrhub, so it has its own small tree. Every error is
a `ValueError` (the caller passed something the domain refuses) and nothing was changed when
one is raised: every operation builds new values and only returns them once all checks passed.

```
OkrError(ValueError)           base of everything okr_core raises on purpose
├── InvalidValue               a field holds a value the rules refuse (target equals initial, ...)
├── UnknownReference           an id points at a cycle, objective or key result that is not there
├── AlignmentCycleError        setting a parent would make an objective (or cycle) its own ancestor
├── InvalidTransition          a state change the life cycle does not allow (closing a draft cycle)
└── CheckInRefused             a check-in arrived when the key result cannot take one
```

Every error keeps its structured fields as attributes, returns them from `attrs()`, and survives
pickling (`__reduce__`), so a worker can ship it to another process. Messages name the object,
the value and what to do next.

Example:
    try:
        record_check_in(key_result, check_in, cycle=cycle)
    except CheckInRefused as refused:
        ledger.skip(refused.key_result_id, refused.reason)
"""

from __future__ import annotations

from typing import Any


class OkrError(ValueError):
    """Base of every error `okr_core` raises on purpose.

    Subclasses store their structured fields as attributes; `attrs()` returns them for a ledger
    or JSON output.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error, for a ledger or JSON output."""
        return {"type": type(self).__name__, "message": self.message}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.__dict__.copy()))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[OkrError], state: dict[str, Any]) -> OkrError:
    err = cls.__new__(cls)
    ValueError.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


class InvalidValue(OkrError):
    """A field holds a value the domain rules refuse.

    Args:
        subject: What was being built, e.g. ``key result `kr-7```.
        field: The offending field.
        value: The refused value.
        reason: Why it is refused and how to fix it.
    """

    def __init__(self, subject: str, field: str, value: object, reason: str) -> None:
        super().__init__(f"{subject}: `{field}` = {value!r}: {reason}")
        self.subject = subject
        self.field = field
        self.value = value
        self.reason = reason

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {
            **super().attrs(),
            "subject": self.subject,
            "field": self.field,
            "value": self.value,
            "reason": self.reason,
        }


class UnknownReference(OkrError):
    """An id points at something that does not exist.

    Args:
        subject: What holds the reference, e.g. ``key result `kr-7```.
        field: The field holding the id, e.g. ``objective_id``.
        missing: The id that was not found.
    """

    def __init__(self, subject: str, field: str, missing: str) -> None:
        super().__init__(
            f"{subject}: `{field}` points at `{missing}`, which does not exist; "
            f"create `{missing}` first or correct the id"
        )
        self.subject = subject
        self.field = field
        self.missing = missing

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {**super().attrs(), "subject": self.subject, "field": self.field, "missing": self.missing}


class AlignmentCycleError(OkrError):
    """Setting a parent would make something its own ancestor.

    Args:
        kind: ``objective`` or ``cycle``.
        child_id: The one whose parent was being set.
        parent_id: The proposed parent.
        loop: The ids of the loop that would form, starting and ending with `child_id`.
    """

    def __init__(self, kind: str, child_id: str, parent_id: str, loop: tuple[str, ...]) -> None:
        path = " -> ".join(loop)
        super().__init__(
            f"{kind} `{child_id}` cannot align to `{parent_id}`: `{child_id}` would become its own "
            f"ancestor ({path}); choose a parent outside the subtree of `{child_id}`"
        )
        self.kind = kind
        self.child_id = child_id
        self.parent_id = parent_id
        self.loop = loop

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {
            **super().attrs(),
            "kind": self.kind,
            "child_id": self.child_id,
            "parent_id": self.parent_id,
            "loop": list(self.loop),
        }


class InvalidTransition(OkrError):
    """A state change the life cycle does not allow.

    Args:
        subject: What was changing, e.g. ``cycle `2024-q3```.
        current: Its state now.
        requested: The state asked for.
        reason: Why it is refused and what to do instead.
    """

    def __init__(self, subject: str, current: str, requested: str, reason: str) -> None:
        super().__init__(f"{subject}: cannot go from {current} to {requested}: {reason}")
        self.subject = subject
        self.current = current
        self.requested = requested
        self.reason = reason

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {
            **super().attrs(),
            "subject": self.subject,
            "current": self.current,
            "requested": self.requested,
            "reason": self.reason,
        }


class CheckInRefused(OkrError):
    """A check-in cannot be recorded on this key result now.

    Args:
        key_result_id: The key result the check-in was for.
        reason: Why it is refused and what to do instead.
    """

    def __init__(self, key_result_id: str, reason: str) -> None:
        super().__init__(f"check-in on key result `{key_result_id}` refused: {reason}")
        self.key_result_id = key_result_id
        self.reason = reason

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {**super().attrs(), "key_result_id": self.key_result_id, "reason": self.reason}
