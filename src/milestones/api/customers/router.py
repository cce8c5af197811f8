"""``/v3/customers/{userId}``: the customer profile the user view shows (SPEC §3, §12)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from milestones.api.auth import CurrentCaller, scope_org_ids
from milestones.api.customers import service
from milestones.api.customers.models import CustomerAnswer
from milestones.api.customers.schemas import CustomerIn
from milestones.api.customers.views import customer_client_ids, customer_view
from milestones.api.dependencies import AppClock, AppDatabase
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.store.orgs import clients_by_id

router = APIRouter(prefix="/v3/customers", tags=["customers"], route_class=ExactRoute)
UserId = Annotated[int, Path(ge=1, le=2**62, description="the customer's userId")]


@router.put(
    "/{userId}",
    response_model=CustomerAnswer,
    responses=error_responses(400, 401, 413, 500),
    summary="Create or update a customer of the caller's org",
)
def put_customer(
    userId: UserId,
    body: CustomerIn,
    caller: CurrentCaller,
    database: AppDatabase,
    clock: AppClock,
) -> EnvelopeResponse:
    now = clock.now()
    with database.transaction() as connection:
        customer = service.save_customer(connection, caller, userId, body, now)
        clients = clients_by_id(connection, customer_client_ids(customer))
    return ok(customer_view(customer, clients))


@router.get(
    "/{userId}",
    response_model=CustomerAnswer,
    responses=error_responses(400, 401, 403, 404, 500),
    summary="A customer, from the first org of the data scope that knows them",
)
def get_customer(
    userId: UserId, request: Request, caller: CurrentCaller, database: AppDatabase
) -> EnvelopeResponse:
    org_ids = scope_org_ids(caller, request.headers, database)
    with database.transaction(write=False) as connection:
        customer = service.find_customer(connection, org_ids, userId)
        clients = clients_by_id(connection, customer_client_ids(customer))
    return ok(customer_view(customer, clients))
