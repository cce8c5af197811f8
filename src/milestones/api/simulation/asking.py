"""A simulation's body read: the draft checked as a create is, the range, where it stops."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from milestones.api.routing import loads_exact
from milestones.api.simulation.schemas import SimulationIn
from milestones.api.target_groups.inputs import group_input
from milestones.domain.errors import MilestonesError, NameTaken
from milestones.domain.group_rules import draft_group
from milestones.domain.orgs import Org
from milestones.domain.simulation import SimulationAsk, simulation_range
from milestones.store.simulation import held_in_memory, last_event_pk
from milestones.store.target_groups import TargetGroupRepository

Warning = dict[str, object]


def ask_of(
    connection: Connection, org: Org, body: SimulationIn, client_id: int, now: datetime
) -> tuple[SimulationAsk, list[Warning]]:
    """The simulation ``body`` asks for, and its warnings.

    The draft goes through the rules of create (:func:`draft_group`): the same errors, their
    fields under ``group.`` (``group.targets[0].defaultValue``). Its name is not refused when
    taken (nothing is created) but warned about: creating it as it is would be refused.
    """
    try:
        draft, drafted = draft_group(group_input(body.group), org)
    except MilestonesError as error:
        error.field = f"group.{error.field}" if error.field else "group"
        raise
    asked = simulation_range(body.from_, body.to, org.zone)
    warnings: list[Warning] = [{"code": w.code, "message": w.message} for w in drafted]
    if TargetGroupRepository(connection).name_taken(org.id, draft.name):
        warnings.append(
            {
                "code": NameTaken.code,
                "message": f"A target group named '{draft.name}' already exists: "
                "creating this draft as it is would be refused",
            }
        )
    group = held_in_memory(draft, client_id, now)
    ask = SimulationAsk(group, asked, asked.within(group), last_event_pk(connection, org.id))
    return ask, warnings


def stored_ask(
    connection: Connection, org: Org, params: dict[str, object], now: datetime
) -> tuple[SimulationAsk, list[Warning]]:
    """The ask a SIMULATION job keeps (the body as sent, and where the events stop)."""
    body = SimulationIn.model_validate(loads_exact(str(params["body"])))
    client_id, upto_pk = params["clientId"], params["uptoPk"]
    assert isinstance(client_id, int) and isinstance(upto_pk, int)
    ask, warnings = ask_of(connection, org, body, client_id, now)
    return SimulationAsk(ask.group, ask.asked, ask.within, upto_pk), warnings
