"""Body of ``POST /v3/targetGroups/simulate``: a draft group (the create body) and a range."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from milestones.api.target_groups.schemas import Input, Str, TargetGroupCreate

Moment = Annotated[Str, Field(max_length=40)]


class SimulationIn(Input):
    """``{"group": <the create body>, "from": ..., "to": ...}``: ``from`` and ``to`` are ISO
    dates or instants (no offset: the org's zone); a date as ``to`` takes in its whole day."""

    group: TargetGroupCreate
    from_: Moment = Field(alias="from")
    to: Moment
