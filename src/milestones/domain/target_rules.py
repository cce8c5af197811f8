"""The rules of one target (SPEC §4, §6.2): what it measures, its expression, values, triggers.

Errors name the field at fault from ``where``, the target's place in the request
(``targets[0]``).
"""

from __future__ import annotations

from decimal import Decimal

from milestones.domain.errors import InvalidInput
from milestones.domain.expressions import (
    ExpressionError,
    expression_from_json,
    expression_to_json,
    parse_expression,
    print_expression,
)
from milestones.domain.group_input import DefaultValueInput, ExtendedFieldInput, TargetInput
from milestones.domain.periods import EvaluationType
from milestones.domain.target_groups import (
    ATTRIBUTE_KPIS,
    DEFAULT_EVENT_NAMES,
    SYSTEM_TRIGGER_NAME,
    TARGET_TYPES,
    EnrolmentMethod,
    TargetDraft,
    TargetEntity,
    TriggerDraft,
    TriggerValueType,
)


def draft_target(
    target: TargetInput, where: str, evaluation: EvaluationType, period_count: int
) -> TargetDraft:
    """A new target checked and filled in: its event, both expression forms, one value per
    period and the system trigger ``targetAchieved``."""
    entity = target.entity
    target_type = target.target_type
    if target_type not in TARGET_TYPES[entity]:
        allowed = ", ".join(sorted(TARGET_TYPES[entity]))
        raise InvalidInput(
            f"targetType {target_type[:40]} does not apply to {entity.value}; use one of {allowed}",
            f"{where}.targetType",
        )
    event_name = target.event_name or DEFAULT_EVENT_NAMES.get(entity)
    if event_name is None:
        raise InvalidInput("EVENT targets must name their eventName", f"{where}.eventName")
    if entity is TargetEntity.ALTERNATE_CURRENCIES:
        for required, value in (
            ("alternateCurrencyIdentifier", target.alternate_currency_identifier),
            ("programId", target.program_id),
        ):
            if value is None:
                raise InvalidInput(
                    f"ALTERNATE_CURRENCIES targets need {required}", f"{where}.{required}"
                )
    method = target.enrolment_method
    if (
        method is not EnrolmentMethod.TRANSACTION
        and evaluation is EvaluationType.PERIOD_AGNOSTIC_WINDOW
    ):
        raise InvalidInput(
            f"{method.value} enrolment cannot be used with PERIOD_AGNOSTIC_WINDOW",
            f"{where}.enrolmentMethod",
        )
    if method is EnrolmentMethod.AUDIENCE_FILTER and not target.audience_group_ids:
        raise InvalidInput(
            "AUDIENCE_FILTER targets need targetAudienceFilter (audienceGroupId)",
            f"{where}.targetAudienceFilter",
        )
    info = target.extended_field
    if target_type in ATTRIBUTE_KPIS and (
        info is None or info.name is None or info.aggregate_function is None
    ):
        raise InvalidInput(
            f"{target_type} targets need extendedFieldInfo with name and aggregateFunction",
            f"{where}.extendedFieldInfo",
        )
    expression, expression_json = expression_pair(target.expression, target.expression_json, where)
    return TargetDraft(
        name=target.name,
        description=target.description,
        active=target.active,
        entity=entity,
        target_type=target_type,
        event_name=event_name,
        expression=expression,
        expression_json=expression_json,
        filters=[
            {"entityType": f.entity_type.value, "entityIds": list(f.entity_ids)}
            for f in target.filters
        ],
        enrolment_method=method,
        audience_filter=[{"audienceGroupId": id_} for id_ in target.audience_group_ids],
        extended_field_info=_extended_field_info(info),
        alternate_currency_identifier=target.alternate_currency_identifier,
        program_id=target.program_id,
        default_values=default_values(
            target.default_value, target.default_values, period_count, where
        ),
        triggers=triggers(target, where),
    )


def _extended_field_info(info: ExtendedFieldInput | None) -> dict[str, object] | None:
    if info is None:
        return None
    function = info.aggregate_function
    return {
        "name": info.name,
        "aggregateFunction": function.value if function is not None else None,
        "aggregateWindow": info.aggregate_window,
    }


def expression_pair(
    text: str | bool | None, tree_json: str | dict[str, object] | None, where: str
) -> tuple[str, str]:
    """The stored ``(expression, expressionJson)``: either form given fills in the other.

    >>> expression_pair(None, None, "targets[0]")
    ('true', '{"arity":"literal","value":"true","type":"boolean:primitive"}')
    """
    if isinstance(text, bool):
        text = "true" if text else "false"
    try:
        from_text = parse_expression(text) if text is not None else None
    except ExpressionError as exc:
        raise InvalidInput(f"expression: {exc.message}", f"{where}.expression") from exc
    try:
        from_json = expression_from_json(tree_json) if tree_json is not None else None
    except ExpressionError as exc:
        raise InvalidInput(f"expressionJson: {exc.message}", f"{where}.expressionJson") from exc
    if from_text is not None and from_json is not None and from_text != from_json:
        raise InvalidInput(
            "expression and expressionJson say different things; send one, or both alike",
            f"{where}.expressionJson",
        )
    tree = from_text or from_json or parse_expression("true")
    if "\x00" in (text or "") or "\x00" in print_expression(tree):
        raise InvalidInput("expressions may not contain NUL characters", f"{where}.expression")
    return (text if text is not None else print_expression(tree)), expression_to_json(tree)


def default_values(
    single: Decimal | None,
    listed: tuple[DefaultValueInput, ...] | None,
    period_count: int,
    where: str,
) -> list[Decimal]:
    """One value per period: ``defaultValues`` in period order, or one value for all.

    >>> default_values(Decimal(5), None, 3, "targets[0]")
    [Decimal('5'), Decimal('5'), Decimal('5')]
    """
    values: list[Decimal]
    if listed:
        values = [entry.value for entry in listed]
        if len(values) == 1 and period_count > 1:
            values = values * period_count
        elif len(values) != period_count:
            raise InvalidInput(
                f"defaultValues has {len(values)} entries for {period_count} periods; "
                "give one per period",
                f"{where}.defaultValues",
            )
    elif single is not None:
        values = [single] * period_count
    else:
        raise InvalidInput("a target needs defaultValue or defaultValues", f"{where}.defaultValue")
    for position, value in enumerate(values):
        if value <= 0:
            field = f"{where}.defaultValues[{position}]" if listed else f"{where}.defaultValue"
            raise InvalidInput("target values must be above 0", field)
    return values


def triggers(target: TargetInput, where: str) -> list[TriggerDraft]:
    """The target's triggers, names unique and values above 0, with ``targetAchieved``
    (100 %) first unless the target names it itself."""
    drafts: list[TriggerDraft] = []
    names: set[str] = set()
    for index, trigger in enumerate(target.triggers):
        field = f"{where}.targetMilestoneTriggers[{index}]"
        if trigger.name in names:
            raise InvalidInput(
                f"trigger name '{trigger.name}' is used twice", f"{field}.triggerName"
            )
        names.add(trigger.name)
        if trigger.value <= 0:
            raise InvalidInput("triggerValue must be above 0", f"{field}.triggerValue")
        system = trigger.name == SYSTEM_TRIGGER_NAME
        drafts.append(
            TriggerDraft(
                name=trigger.name,
                trigger_type="SYSTEM_TRIGGER" if system else "USER_TRIGGER",
                value_type=trigger.value_type,
                value=trigger.value,
                is_active=trigger.is_active,
            )
        )
    if SYSTEM_TRIGGER_NAME not in names:
        drafts.insert(
            0,
            TriggerDraft(
                SYSTEM_TRIGGER_NAME,
                "SYSTEM_TRIGGER",
                TriggerValueType.PERCENTAGE,
                Decimal(100),
                True,
            ),
        )
    return drafts
