"""The console's group forms as the API's bodies, and the API's errors beside their fields.

Form fields are named by the API's own paths (``targets[0].defaultValue``), so an error
the API would answer for a field lands beside the input of that name. Text that looks
like a number is sent as one; anything else is sent as the text it is, so the API's own
checks answer it ("must be a number"), not a second copy of them here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from milestones.api.errors import validation_errors
from milestones.domain.errors import MilestonesError
from milestones.domain.target_groups import Target

Model = TypeVar("Model", bound=BaseModel)
TARGET_ROWS = 2
TRIGGER_ROWS = 2
STREAK_ROWS = 3
MAX_FIELD = 10_000  # longer text is cut: the API's limits are all far below it

_INTEGER = re.compile(r"-?\d{1,18}")
_FLAG = ("on", "true", "yes", "1")

_INTEGERS = (
    "frequency",
    "totalPeriods",
    "recurringCycles",
    "repairWindowDays",
    "maxRepairs",
    "atRiskHours",
)
_TEXTS = (
    "name",
    "description",
    "trackingType",
    "targetEvaluationType",
    "frequencyType",
    "targetCycleStartDate",
    "targetCycleEndDate",
    "timeZoneName",
    "combinationType",
    "periodZone",
)
_TARGET_TEXTS = ("name", "targetEntity", "targetType", "eventName", "expression")


class FormErrors(dict[str, str]):
    """Messages by field path; ``""`` holds those that name no field shown."""

    def add(self, field: str | None, message: str) -> None:
        key = field or ""
        message = message.removeprefix(f"{key}: ") if key else message  # shown beside it
        self[key] = f"{self[key]} {message}" if key in self else message


def _text(form: Mapping[str, str], key: str) -> str:
    return form.get(key, "").strip()[:MAX_FIELD]


def _integer(text: str) -> int | str:
    return int(text) if _INTEGER.fullmatch(text) else text


def _number(text: str) -> Decimal | str:
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return text
    return number if number.is_finite() else text


def _put(body: dict[str, Any], key: str, value: object) -> None:
    if value not in ("", None):
        body[key] = value


def create_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The ``POST /v3/targetGroups`` body a new-group form asks for (blank fields left out)."""
    body: dict[str, Any] = {}
    for key in _TEXTS:
        _put(body, key, _text(form, key))
    for key in _INTEGERS:
        _put(body, key, _integer(_text(form, key)))
    body["leaderboardEnabled"] = _text(form, "leaderboardEnabled") in _FLAG
    aggregation = _text(form, "unifiedTargetExpression.aggregation")
    threshold = _text(form, "unifiedTargetExpression.thresholdValue")
    if aggregation or threshold:
        unified: dict[str, Any] = {}
        _put(unified, "aggregation", aggregation)
        _put(unified, "thresholdValue", _number(threshold) if threshold else None)
        body["unifiedTargetExpression"] = unified
    max_held = _text(form, "streakFreezes.maxHeld")
    grant_every = _text(form, "streakFreezes.grantEveryAchieved")
    if max_held or grant_every:
        freezes: dict[str, Any] = {"maxHeld": _integer(max_held) if max_held else None}
        _put(freezes, "grantEveryAchieved", _integer(grant_every) if grant_every else None)
        body["streakFreezes"] = freezes
    streaks = []
    for i in range(STREAK_ROWS):
        name, count = (
            _text(form, f"streaks[{i}].name"),
            _text(form, f"streaks[{i}].targetCountOfSequence"),
        )
        if name or count:
            streaks.append({"name": name, "targetCountOfSequence": _integer(count)})
    if streaks:
        body["streaks"] = streaks
    body["targets"] = [t for i in range(TARGET_ROWS) if (t := _target(form, i))]
    return body


def _target(form: Mapping[str, str], i: int) -> dict[str, Any] | None:
    prefix = f"targets[{i}]."
    target: dict[str, Any] = {}
    for key in _TARGET_TEXTS:
        _put(target, key, _text(form, prefix + key))
    value = _text(form, prefix + "defaultValue")
    _put(target, "defaultValue", _number(value) if value else None)
    triggers = []
    for j in range(TRIGGER_ROWS):
        where = f"{prefix}targetMilestoneTriggers[{j}]."
        name, value = _text(form, where + "triggerName"), _text(form, where + "triggerValue")
        if name or value:
            trigger = {
                "triggerName": name,
                "triggerValueType": _text(form, where + "triggerValueType") or "PERCENTAGE",
                "triggerValue": _number(value) if value else None,
            }
            triggers.append({k: v for k, v in trigger.items() if v is not None})
    if triggers:
        target["targetMilestoneTriggers"] = triggers
    if not target:
        return None
    return target


def update_body(
    form: Mapping[str, str], targets: Sequence[Target], shown_values: Sequence[str]
) -> dict[str, Any]:
    """The ``PUT /v3/targetGroups/{id}`` body of a group's edit form.

    A target's expression and value are sent only when changed from what the form showed
    (``shown_values``: each target's value in its first period not ended): an untouched
    value must not overwrite later periods that ask another one. The PUT then checks and
    stores them as any PUT's."""
    body: dict[str, Any] = {"name": _text(form, "name")}
    body["description"] = _text(form, "description") or None
    body["active"] = _text(form, "active") in _FLAG
    for key in ("repairWindowDays", "maxRepairs", "atRiskHours"):
        _put(body, key, _integer(_text(form, key)))
    edits = []
    for i, stored in enumerate(targets):
        prefix = f"targets[{i}]."
        target: dict[str, Any] = {
            "id": stored.id,
            "active": _text(form, prefix + "active") in _FLAG,
        }
        _put(target, "name", _text(form, prefix + "name"))
        value = _text(form, prefix + "defaultValue")
        if value != shown_values[i]:
            _put(target, "defaultValue", _number(value) if value else None)
        expression = _text(form, prefix + "expression")
        if prefix + "expression" in form and expression != stored.expression:
            target["expression"] = expression
        edits.append(target)
    body["targets"] = edits
    return body


def validated(model: type[Model], body: dict[str, Any], errors: FormErrors) -> Model | None:
    """``body`` as the API reads it, or None with its errors added (the API's words)."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        for item in validation_errors([dict(error) for error in exc.errors()]):
            errors.add(_field(item.get("field")), str(item["message"]))
        return None


def add_error(errors: FormErrors, error: MilestonesError) -> None:
    """A domain refusal beside the field it names."""
    errors.add(_field(error.field), error.message)


def _field(field: object) -> str | None:
    return None if not isinstance(field, str) else field


def shown_values(form: Mapping[str, str]) -> dict[str, str]:
    """What the person typed, to fill the form again (cut to the field's limit)."""
    return {key: value[:MAX_FIELD] for key, value in form.items() if key != "csrf"}
