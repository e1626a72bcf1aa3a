"""Custom objects on workers (Workday Extend) for the Workday emulator: the ratings write-back target.

The emulated tenant defines one custom object on the worker (`CustomObjectDefinition`, alias
`performanceRatings` by default) and serves it over REST under each REST prefix:

- `GET  {prefix}/{tenant}/workers/{worker}/customObjects/{alias}`: multi-instance: the worker's
  instances, `{"total", "data": [instance]}` paged by `limit` (default 20, at most 100) and
  `offset`; single-instance: the instance, or 404 when the worker has none;
- `POST` on that path creates an instance (multi; 201), `PUT` creates or replaces the one
  instance (single; 201 or 200); `GET`/`PATCH .../{alias}/{id}` read and update one instance;
- `{worker}` is a WID or `Employee_ID=...`; terminated workers keep their instances;
- an instance is `{"id", "descriptor", "href", <field alias>: value, ...}`; errors are Workday's
  REST shape `{"error", "errors": [{"error", "field", "location"}]}`: 400 for a field the object
  does not define, a missing review cycle, a date that is not one, or a rating value the
  rating field's list does not hold; 404 for an unknown worker, alias or instance;
- RaaS: a report (`report_name`) listing every instance with `Employee_ID`, `Worker_WID`,
  `Custom_Object_WID` and the fields by alias.

Every stored write is logged in `writes`, so tests can prove each rating was stored once. Faults
(`status_after`, `delay_after`, 429 with Retry-After) come from the emulator's generic injector.

Example:
    ```python
    app = WorkdayEmulator(org, custom_object=CustomObjectDefinition(instances="single"))
    ...
    assert app.custom_objects.writes_for("1001") == 1
    ```
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from werkzeug.wrappers import Request, Response

from sandbox.org import Employee
from sandbox.server import json_response


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomObjectDefinition:
    """The custom object the emulated tenant defines on workers."""

    alias: str = "performanceRatings"
    instances: Literal["multi", "single"] = "multi"
    rating_field: str = "rating"
    review_cycle_field: str = "reviewCycle"
    date_fields: tuple[str, ...] = ("periodStart", "periodEnd")
    text_fields: tuple[str, ...] = ("ratingComment",)
    report_name: str = "okrhub_ratings"

    @property
    def fields(self) -> frozenset[str]:
        """Every field alias the object defines."""
        return frozenset({self.rating_field, self.review_cycle_field, *self.date_fields, *self.text_fields})


@dataclass(slots=True)
class Instance:
    """One stored instance."""

    wid: str
    employee_id: str
    fields: dict[str, str] = field(default_factory=dict)


def error(
    status: int, message: str, *, field_name: str | None = None, location: str | None = None
) -> Response:
    """Workday's REST error body."""
    item = {"error": message, "field": field_name, "location": location or ("body" if field_name else None)}
    errors = [{key: value for key, value in item.items() if value is not None}]
    return json_response({"error": message, "errors": errors}, status=status)


class CustomObjectStore:
    """The instances of one custom object, with the REST semantics the emulator serves."""

    def __init__(
        self, definition: CustomObjectDefinition, valid_ratings: Callable[[], tuple[str, ...]]
    ) -> None:
        self.definition = definition
        self._valid_ratings = valid_ratings
        self._lock = threading.Lock()
        self._instances: dict[str, Instance] = {}
        self._by_worker: dict[str, list[Instance]] = {}
        self._seq = 0
        self.writes: list[tuple[str, str | None]] = []
        """(employee id, rating value) of every stored write (create, update, replace)."""

    # --- for tests --------------------------------------------------------------------------------
    def writes_for(self, employee_id: str) -> int:
        """How many writes were stored for one worker."""
        with self._lock:
            return sum(1 for who, _ in self.writes if who == employee_id)

    def of_worker(self, employee_id: str) -> list[Instance]:
        """A worker's instances, oldest first."""
        with self._lock:
            return list(self._by_worker.get(employee_id, ()))

    def edit(self, employee_id: str, review_cycle: str, **values: str) -> None:
        """Someone edits a worker's instance for a cycle in Workday by hand (not logged as a write)."""
        with self._lock:
            for instance in self._by_worker.get(employee_id, ()):
                if instance.fields.get(self.definition.review_cycle_field) == review_cycle:
                    instance.fields.update(values)
                    return
        raise KeyError(f"worker {employee_id} has no instance for {review_cycle}")

    # --- HTTP ---------------------------------------------------------------------------------------
    def handle_collection(
        self, request: Request, emp: Employee, href: str, paging: tuple[int, int] | Response
    ) -> Response:
        """GET (list or single read), POST (create, multi) or PUT (create or replace, single)."""
        single = self.definition.instances == "single"
        if request.method == "GET":
            if single:
                current = self.of_worker(emp.employee_id)
                if not current:
                    return error(
                        404,
                        f"worker `{emp.workday_id}` has no instance of custom object "
                        f"`{self.definition.alias}`",
                        location="path",
                    )
                return json_response(self._render(current[-1], emp, href))
            if isinstance(paging, Response):
                return paging
            limit, offset = paging
            items = self.of_worker(emp.employee_id)
            page = [self._render(i, emp, href) for i in items[offset : offset + limit]]
            return json_response({"total": len(items), "data": page})
        if request.method == ("POST" if single else "PUT"):
            kind = "single" if single else "multi"
            use = "PUT" if single else "POST to create, PATCH .../{id} to update"
            return error(405, f"custom object `{self.definition.alias}` is {kind}-instance: use {use}")
        values = self._validate(request, creating=True)
        if isinstance(values, Response):
            return values
        with self._lock:
            existing = self._by_worker.setdefault(emp.employee_id, [])
            if single and existing:
                instance, status = existing[-1], 200
                instance.fields = values
            else:
                self._seq += 1
                wid = _wid("customObject", self.definition.alias, emp.employee_id, self._seq)
                instance, status = Instance(wid, emp.employee_id, values), 201
                self._instances[wid] = instance
                existing.append(instance)
            self.writes.append((emp.employee_id, values.get(self.definition.rating_field)))
        return json_response(self._render(instance, emp, href), status=status)

    def handle_instance(self, request: Request, emp: Employee, href: str, instance_id: str) -> Response:
        """GET or PATCH one instance of a worker."""
        with self._lock:
            instance = self._instances.get(instance_id)
        if instance is None or instance.employee_id != emp.employee_id:
            return error(
                404, f"custom object instance `{instance_id}` not found on this worker", location="path"
            )
        if request.method == "GET":
            return json_response(self._render(instance, emp, href))
        values = self._validate(request, creating=False)
        if isinstance(values, Response):
            return values
        with self._lock:
            instance.fields.update(values)
            self.writes.append((emp.employee_id, values.get(self.definition.rating_field)))
        return json_response(self._render(instance, emp, href))

    def report_rows(self, everyone: dict[str, Employee]) -> list[dict[str, str]]:
        """The RaaS rows: one per instance, empty values omitted."""
        with self._lock:
            instances = list(self._instances.values())
        rows = []
        for instance in instances:
            emp = everyone.get(instance.employee_id)
            row = {
                "Employee_ID": instance.employee_id,
                "Worker_WID": emp.workday_id if emp else "",
                "Custom_Object_WID": instance.wid,
                **instance.fields,
            }
            rows.append({key: value for key, value in row.items() if value})
        return rows

    def _validate(self, request: Request, *, creating: bool) -> dict[str, str] | Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return error(400, "the request body must be a JSON object of field aliases and values")
        definition = self.definition
        values: dict[str, str] = {}
        for name, value in body.items():
            if name in ("id", "descriptor", "href"):
                continue
            if name not in definition.fields:
                return error(
                    400, f"`{name}` is not a field of custom object `{definition.alias}`", field_name=name
                )
            if not isinstance(value, str):
                return error(400, f"invalid value for `{name}`: expected text", field_name=name)
            values[name] = value
        rating = values.get(definition.rating_field)
        if rating is not None and rating not in self._valid_ratings():
            return error(
                400,
                f"Invalid ID value. '{rating}' is not a valid ID value for field '{definition.rating_field}' "
                f"of custom object '{definition.alias}'",
                field_name=definition.rating_field,
            )
        for name in definition.date_fields:
            if name in values:
                try:
                    date.fromisoformat(values[name])
                except ValueError:
                    return error(
                        400, f"invalid value for `{name}`: {values[name]!r} is not a date", field_name=name
                    )
        if creating and not values.get(definition.review_cycle_field):
            return error(
                400,
                f"field `{definition.review_cycle_field}` is required",
                field_name=definition.review_cycle_field,
            )
        return values

    def _render(self, instance: Instance, emp: Employee, href: str) -> dict[str, Any]:
        cycle = instance.fields.get(self.definition.review_cycle_field, "")
        return {
            "id": instance.wid,
            "descriptor": f"{emp.display_name} {cycle}".strip(),
            "href": href if self.definition.instances == "single" else f"{href}/{instance.wid}",
            **instance.fields,
        }


def _wid(*parts: object) -> str:
    return hashlib.md5("/".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()
