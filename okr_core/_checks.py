"""Small validation helpers shared by the value objects (private to okr_core)."""

from __future__ import annotations

import math
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from okr_core.errors import InvalidValue


def require_id(subject: str, field: str, value: str) -> None:
    """Refuse an empty or padded id."""
    if not value or value.strip() != value:
        raise InvalidValue(
            subject, field, value, "an id must be a non-empty string without surrounding spaces"
        )


def require_finite(subject: str, field: str, value: float) -> None:
    """Refuse NaN and infinities, which would poison every average they enter."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidValue(subject, field, value, "must be a finite number")


def require_date(subject: str, field: str, value: date) -> None:
    """Refuse a datetime where a calendar date is meant (a datetime silently compares wrong)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidValue(subject, field, value, "must be a calendar date (datetime.date), not a datetime")


_E = TypeVar("_E", bound=StrEnum)


def coerce_enum(target: object, subject: str, field: str, enum: type[_E]) -> None:
    """Turn a stored string into its enum member in place (frozen dataclasses), or refuse it."""
    value = getattr(target, field)
    if isinstance(value, enum):
        return
    try:
        member = enum(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise InvalidValue(subject, field, value, f"use one of: {choices}") from None
    object.__setattr__(target, field, member)
