"""Request bodies of the webhook API (SPEC §15)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool

from milestones.api.target_groups.schemas import Input, Str
from milestones.domain.notifications import MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH

Url = Annotated[Str, Field(min_length=1, max_length=MAX_URL_LENGTH)]
TypeName = Annotated[Str, Field(max_length=100)]
Types = Annotated[list[TypeName], Field(max_length=50)]
Description = Annotated[Str, Field(max_length=MAX_DESCRIPTION_LENGTH)]


class WebhookCreate(Input):
    """Body of ``POST /v3/webhooks``: ``types`` left out means every type."""

    url: Url
    types: Types | None = None
    description: Description | None = None
    active: StrictBool = True
    includeReplayed: StrictBool = False


class WebhookChange(Input):
    """Body of ``PUT /v3/webhooks/{id}``: the fields given change, the others stay."""

    url: Url | None = None
    types: Types | None = None
    description: Description | None = None
    active: StrictBool | None = None
    includeReplayed: StrictBool | None = None
