"""A simulation's body read: the draft checked as a create is, the range, where it stops."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from milestones.api.routing import loads_exact
from milestones.api.simulation.schemas import SimulationIn
from milestones.api.target_groups.inputs import group_input
from milestones.domain.errors import HistoryJobRefused, MilestonesError, NameTaken
from milestones.domain.group_rules import draft_group
from milestones.domain.history import dates_start
from milestones.domain.orgs import Org
from milestones.domain.simulation import SimulationAsk, simulation_range
from milestones.domain.times import utc_text
from milestones.store.prune import pruned_before
from milestones.store.replay import last_event_id
from milestones.store.simulation import held_in_memory
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
    pruned = pruned_before(connection, org.id)
    start = dates_start(group)
    if pruned is not None and asked.starts_at < pruned and (start is None or start < pruned):
        warnings.append(
            {
                "code": HistoryJobRefused.code,
                "message": f"the org's events before {utc_text(pruned)} were pruned: these "
                "figures leave them out, and a backfill of this group would be refused",
            }
        )
    return SimulationAsk(group, asked, last_event_id(connection, org.id)), warnings


def options_of(raw: bytes, ask: SimulationAsk) -> dict[str, object]:
    """What a SIMULATION job keeps of its ask (its ``options``): the body's draft and range
    as sent (exact), and where its events stop."""
    body = loads_exact(raw)
    return {key: body[key] for key in ("group", "from", "to")} | {"uptoPk": ask.upto_pk}


def stored_ask(
    connection: Connection, org: Org, options: dict[str, object], now: datetime
) -> tuple[SimulationAsk, list[Warning]]:
    """The ask a SIMULATION job keeps (:func:`options_of`), checked again as it was then."""
    body = SimulationIn.model_validate({key: options[key] for key in ("group", "from", "to")})
    upto_pk = options["uptoPk"]
    assert isinstance(upto_pk, int)
    ask, warnings = ask_of(connection, org, body, 0, now)
    return SimulationAsk(ask.group, ask.asked, upto_pk), warnings
