"""Typed template parameters: what `{window.start}` or `{owner.salesforce_id}` means, and its value.

Every placeholder has a type. Dates (`{window.start}`, `{window.end}`, `{cycle.start}`,
`{cycle.end}`, `{today}`) come from the run and the key result's cycle; text (`{owner.email}`)
and ids (`{owner.employee_id}`, `{owner.<system>_id}`) come from the owner's identity. A value
is checked here once, before any renderer sees it: text with a control character, a line break
or an invisible format character is refused, and an id must match its system's pattern
(Salesforce: 15 or 18 letters and digits, normalised to the 18-character form Salesforce answers
with). The renderers (`mappings.soql`, `mappings.jql`, `mappings.ga4`) then turn a value into a
literal of their language; nothing is ever spliced into query text any other way.

Example:
    ```python
    spec = param_spec("owner.salesforce_id")       # ParamSpec(kind="id", system="salesforce")
    value = resolve_param(spec, context)           # ParamValue(kind="id", value="005A00000012345AAA")
    ```
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Literal

from hub.metrics import TimeWindow
from mappings.errors import MissingIdentity, TemplateError, UnsafeValue
from mappings.targets import OwnerIdentity

ParamKind = Literal["date", "text", "id"]
"""A parameter's type: a calendar date, free text (an email) or an id in some system."""

DATE_PARAMS: tuple[str, ...] = ("window.start", "window.end", "cycle.start", "cycle.end", "today")
"""The date parameters, all known up front."""
OWNER_PARAMS: tuple[str, ...] = ("owner.email", "owner.employee_id")
"""The owner parameters that do not depend on an identity system."""
_SYSTEM_ID = re.compile(r"owner\.([a-z][a-z0-9_]*)_id")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_JIRA_ACCOUNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_-]{0,127}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_MAX_TEXT = 320


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """What a placeholder names: its full name, its type and, for ids, the identity system."""

    name: str
    kind: ParamKind
    system: str | None = None

    @property
    def is_owner(self) -> bool:
        """True for the owner's email and ids: the parameters a fan-out coalesces."""
        return self.name.startswith("owner.")


@dataclass(frozen=True, slots=True)
class ParamValue:
    """A checked parameter value, ready for a renderer."""

    kind: ParamKind
    value: date | str
    system: str | None = None

    def text(self) -> str:
        """The value as plain text (dates as ISO `YYYY-MM-DD`)."""
        return self.value.isoformat() if isinstance(self.value, date) else self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamContext:
    """Everything parameter values come from for one key result on one run."""

    window: TimeWindow
    cycle_start: date
    cycle_end: date
    today: date
    owner: OwnerIdentity | None = None


def known_params(identity_systems: Collection[str] | None = None) -> list[str]:
    """Every parameter name a template may use (owner ids for `identity_systems`, else for none)."""
    names = [*DATE_PARAMS, *OWNER_PARAMS]
    for system in sorted(identity_systems or ()):
        names.append(f"owner.{system}_id")
        if system == "jira":
            names.append("owner.jira_account_id")
    return names


def param_spec(name: str, *, identity_systems: Collection[str] | None = None) -> ParamSpec:
    """The type of the placeholder `{name}`.

    Args:
        name: The placeholder without braces, e.g. `owner.jira_account_id`.
        identity_systems: The identity systems the org sync knows (hub.yaml `org_sync.identities`);
            None accepts any `owner.<system>_id`.

    Returns:
        The parameter's spec.

    Raises:
        TemplateError: The name is not a parameter; the message suggests the closest one.
    """
    if name in DATE_PARAMS:
        return ParamSpec(name, "date")
    if name == "owner.email":
        return ParamSpec(name, "text")
    if name == "owner.employee_id":
        return ParamSpec(name, "id", "employee")
    match = _SYSTEM_ID.fullmatch(name)
    system = "jira" if name == "owner.jira_account_id" else match.group(1) if match else None
    if system is not None and (identity_systems is None or system in identity_systems):
        return ParamSpec(name, "id", system)
    known = known_params(identity_systems if identity_systems is not None else ("jira", "salesforce"))
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        hint = f"did you mean `{{{close[0]}}}`?"
    else:
        hint = "known parameters: " + ", ".join(f"{{{known_name}}}" for known_name in known)
    if system is not None:
        hint = f"`{system}` is not an identity system of the org sync; {hint}"
    raise TemplateError(f"unknown parameter `{{{name}}}`; {hint}")


def resolve_param(spec: ParamSpec, context: ParamContext) -> ParamValue:
    """The checked value of `spec` for one key result.

    Args:
        spec: The parameter.
        context: The window, cycle, run date and owner of the key result.

    Returns:
        The value, checked for its type (ids normalised, e.g. Salesforce ids to 18 characters).

    Raises:
        MissingIdentity: The key result has no owner, or the owner has no id in the needed system.
        UnsafeValue: The value cannot be rendered safely or is malformed for its system.
    """
    if spec.kind == "date":
        return ParamValue("date", _date_value(spec.name, context))
    owner = context.owner
    if owner is None:
        raise MissingIdentity(f"the key result has no owner, and the query needs `{{{spec.name}}}`")
    if spec.name == "owner.email":
        if not owner.email:
            raise MissingIdentity(f"owner {owner.employee_id} has no email in the people table")
        return ParamValue("text", check_email(owner.email, owner=owner.employee_id))
    system = spec.system or "employee"
    raw = owner.employee_id if spec.name == "owner.employee_id" else owner.ids.get(system)
    if not raw:
        raise MissingIdentity(f"owner {owner.employee_id} has no {system} id in the identity table")
    return ParamValue("id", check_id(system, raw, owner=owner.employee_id), system)


def _date_value(name: str, context: ParamContext) -> date:
    values = {
        "window.start": context.window.start,
        "window.end": context.window.end,
        "cycle.start": context.cycle_start,
        "cycle.end": context.cycle_end,
        "today": context.today,
    }
    return values[name]


def check_text(text: str, *, what: str) -> str:
    """`text` unchanged if it can be rendered safely as a literal in any query language.

    Args:
        text: The value.
        what: What the value is, for the message (`owner 1042's email`).

    Returns:
        The same text.

    Raises:
        UnsafeValue: Empty, too long, or holds a control, line-break, private-use or invisible
            format character (which could end a literal or hide what a query does).
    """
    if not text:
        raise UnsafeValue(f"{what} is empty")
    if len(text) > _MAX_TEXT:
        raise UnsafeValue(f"{what} is {len(text)} characters long; at most {_MAX_TEXT} are accepted")
    for char in text:
        if unicodedata.category(char) in _UNSAFE_CATEGORIES:
            name = unicodedata.name(char, "a control character")
            raise UnsafeValue(
                f"{what} contains U+{ord(char):04X} ({name.lower()}); it cannot be put into a query "
                "safely, so the value is refused: fix it at its source"
            )
    return text


def check_email(email: str, *, owner: str) -> str:
    """A safe email address, or `UnsafeValue` naming the owner."""
    what = f"owner {owner}'s email `{email!r}`"
    check_text(email, what=what)
    if not _EMAIL.fullmatch(email):
        raise UnsafeValue(f"{what} is not an email address")
    return email


def check_id(system: str, raw: str, *, owner: str) -> str:
    """A safe, normalised id of `owner` in `system`, or `UnsafeValue` saying what is wrong.

    Salesforce ids must be 15 or 18 letters and digits and come back in their 18-character form
    (what Salesforce answers with, so grouped results match); Jira account ids are letters,
    digits, `:`, `_` and `-`; ids of other systems only need to be safe text.
    """
    what = f"owner {owner}'s {system} id {raw!r}"
    check_text(raw, what=what)
    if system == "salesforce":
        if not _SALESFORCE_ID.fullmatch(raw):
            raise UnsafeValue(f"{what} is not a Salesforce id (15 or 18 letters and digits)")
        full = salesforce_id_18(raw[:15])
        if len(raw) == 18 and raw[15:].upper() != full[15:]:
            raise UnsafeValue(f"{what} has a wrong checksum suffix; expected {full}")
        return full
    if system == "jira" and not _JIRA_ACCOUNT_ID.fullmatch(raw):
        raise UnsafeValue(f"{what} is not a Jira account id (letters, digits, `:`, `_`, `-`)")
    return raw


def salesforce_id_18(id15: str) -> str:
    """The case-insensitive 18-character form of a 15-character Salesforce id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        part = id15[chunk * 5 : chunk * 5 + 5]
        bits = sum(1 << index for index, char in enumerate(part) if "A" <= char <= "Z")
        suffix += alphabet[bits]
    return id15 + suffix
