"""The user view (SPEC §12): every group a customer is in or could join, and where they stand.

The groups come from the engine's catalogue cache (one signature query per org while the
groups are unchanged); the customer's standing is a handful of indexed queries, however
many groups and periods there are.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import Connection

from milestones.api.attribution import audit_client_ids
from milestones.api.customers.views import customer_client_ids, customer_view
from milestones.api.user_view.prepared import PreparedGroup, StandingKeys, ViewCache
from milestones.api.user_view.views import EntryWriter, IdleGroup, Json, ShownGroup
from milestones.domain.errors import NotFound
from milestones.domain.group_progress import group_rules
from milestones.domain.orgs import ApiClient
from milestones.domain.placement import cut_per_customer
from milestones.domain.standing import (
    Known,
    group_periods_in,
    group_periods_of,
    rows_of,
    streak_of,
)
from milestones.domain.streaks import statuses_of
from milestones.domain.target_groups import (
    TrackingType,
)
from milestones.engine.catalogue import Catalogue, CatalogueCache
from milestones.store.engine import SqlEngineStore
from milestones.store.orgs import clients_by_id
from milestones.store.streak_care import StreakCareRepository
from milestones.store.user_view import Standing, UserViewRepository


@dataclass(frozen=True, slots=True)
class ViewOptions:
    """The query of ``GET /v3.1/users/{userId}/targetGroups``."""

    include_inactive: bool = False
    include_inactive_targets: bool = False
    target_rule_id: int | None = None


def user_view(
    connection: Connection,
    org_ids: Sequence[int],
    user_id: int,
    options: ViewOptions,
    now: datetime,
    cache: CatalogueCache,
    views: ViewCache | None = None,
) -> Json:
    """``{userId, customer, targetGroups}`` for one customer in the orgs of the data scope.

    ``views`` keeps what no customer changes (prepared per catalogue, API clients) between
    requests; without it everything is worked out for this request alone.
    """
    views = views if views is not None else ViewCache()
    found = _read_as_last_built(connection, org_ids, user_id, options, cache, views)
    if found is None:
        prepared, keys = scoped_prepared(connection, org_ids, cache, views)
        standing, known = _read_for(connection, org_ids, user_id, prepared, keys, options)
    else:
        prepared, standing, known = found
    if options.target_rule_id is not None and not any(
        target.id == options.target_rule_id for entry in prepared for target in entry.group.targets
    ):
        raise NotFound(
            f"No target {options.target_rule_id} in the caller's data scope", "targetRuleId"
        )
    if not options.include_inactive_targets:
        prepared = [entry for entry in prepared if entry.group.active]
    every_target = options.include_inactive_targets or options.target_rule_id is not None
    shown: list[ShownGroup | IdleGroup] = []
    for entry in prepared:
        group = entry.group
        if entry.open_targets is not None and not every_target:
            targets = entry.open_targets
        else:
            targets = [
                target
                for target in group.targets
                if (options.include_inactive_targets or target.active)
                and options.target_rule_id in (None, target.id)
                and known.can_join(target)
            ]
        if not targets:
            continue
        # A per-customer group's running period is the customer's own: laid out in full.
        periods = (
            None
            if options.include_inactive or cut_per_customer(group)
            else entry.current_periods(now)
        )
        unified = group.tracking_type is TrackingType.UNIFIED
        if periods is not None and not known.touches(group):
            # Nothing stored for the customer here: the group's prepared default entry.
            for period in periods:
                streaks = entry.idle_streaks(now) if group.tracking_type.is_streak else []
                group_periods = group_periods_in(group, known, [period.id]) if unified else []
                shown.append(IdleGroup(entry, targets, period, streaks, group_periods))
            continue
        rows = [
            row
            for row in rows_of(group, targets, known, now, periods)
            if options.include_inactive or row.current
        ]
        if rows:
            streak = streak_of(group, known, now) if group.tracking_type.is_streak else None
            streaks = statuses_of(group_rules(group), streak) if streak else []
            group_periods = group_periods_of(group, known, rows) if unified else []
            shown.append(ShownGroup(entry, rows, streaks, group_periods, streak))
    customer = standing.customer
    client_ids = audit_client_ids([item.prepared.group.audit for item in shown])
    clients = _clients(connection, client_ids | customer_client_ids(customer), views)
    writer = EntryWriter(clients, now)
    return {
        "userId": user_id,
        "customer": customer_view(customer, clients) if customer else None,
        "targetGroups": [writer.write(item) for item in shown],
    }


def _read_as_last_built(
    connection: Connection,
    org_ids: Sequence[int],
    user_id: int,
    options: ViewOptions,
    cache: CatalogueCache,
    views: ViewCache,
) -> tuple[list[PreparedGroup], Standing, Known] | None:
    """The standing read for the catalogues as last built, their signatures read in the
    same round trip (on PostgreSQL, one round trip fewer than reading them first); None
    when an org in scope has no catalogue yet or a signature moved (groups changed)."""
    last = last_prepared(org_ids, cache, views)
    if last is None:
        return None
    prepared, keys, signatures = last
    standing, known = _read_for(connection, org_ids, user_id, prepared, keys, options, True)
    if standing.signatures != signatures:
        return None
    return prepared, standing, known


def _read_for(
    connection: Connection,
    org_ids: Sequence[int],
    user_id: int,
    prepared: list[PreparedGroup],
    keys: StandingKeys,
    options: ViewOptions,
    with_signatures: bool = False,
) -> tuple[Standing, Known]:
    """The customer's standing for the groups of ``prepared`` the view can show."""
    care_groups = [
        entry.group.id
        for entry in prepared
        if (options.include_inactive_targets or entry.group.active)
        and entry.group.tracking_type.is_streak
        and (entry.group.care.freezes or entry.group.care.repairs)
    ]
    return read_standing(
        connection,
        org_ids,
        user_id,
        keys.cyclic_group_ids,
        keys.audience_ids,
        keys.whole_target_ids,
        care_groups,
        signature_orgs=org_ids if with_signatures else (),
    )


def read_standing(
    connection: Connection,
    org_ids: Sequence[int],
    user_id: int,
    cyclic_group_ids: Collection[int],
    audience_ids: Collection[int],
    whole_target_ids: Collection[int],
    care_group_ids: Collection[int],
    signature_orgs: Sequence[int] = (),
) -> tuple[Standing, Known]:
    """What is stored about one customer, and it indexed for the rules (the user view's
    read, also the streak-care endpoints'): care records of ``care_group_ids`` only; and
    the catalogue signatures of ``signature_orgs``, in the same round trip."""
    standing = UserViewRepository(connection).standing(
        org_ids,
        user_id,
        cyclic_group_ids,
        audience_ids,
        whole_target_ids=whole_target_ids,
        signature_orgs=signature_orgs,
    )
    care = StreakCareRepository(connection).records_of([user_id], care_group_ids)
    known = Known.of(
        standing.user_targets,
        standing.anchors,
        standing.enrolments,
        standing.audiences,
        standing.group_achievements,
        zones=dict(standing.zones),
        care={group_id: record for (group_id, _), record in care.items()},
    )
    return standing, known


def scoped_prepared(
    connection: Connection, org_ids: Sequence[int], cache: CatalogueCache, views: ViewCache
) -> tuple[list[PreparedGroup], StandingKeys]:
    """Every group of the orgs in scope, active or not, oldest first, with its prepared
    parts; and what a customer's standing in them is read for."""
    store = SqlEngineStore(connection)
    catalogues = [
        cache.get(org_id, store.catalogue_signature(org_id), partial(store.load_groups, org_id))
        for org_id in org_ids
    ]
    return _merged(catalogues, views)


def last_prepared(
    org_ids: Sequence[int], cache: CatalogueCache, views: ViewCache
) -> tuple[list[PreparedGroup], StandingKeys, dict[int, Hashable]] | None:
    """:func:`scoped_prepared` from the catalogues as last built, with the signature each
    was built at, reading nothing; None while an org in scope has none."""
    known = [cache.known(org_id) for org_id in org_ids]
    entries = [entry for entry in known if entry is not None]
    if len(entries) != len(org_ids):
        return None
    prepared, keys = _merged([catalogue for _, catalogue in entries], views)
    return (
        prepared,
        keys,
        {org_id: entry[0] for org_id, entry in zip(org_ids, entries, strict=True)},
    )


def _merged(
    catalogues: Sequence[Catalogue], views: ViewCache
) -> tuple[list[PreparedGroup], StandingKeys]:
    groups: dict[int, PreparedGroup] = {}
    keys = StandingKeys(frozenset(), frozenset(), frozenset())
    for catalogue in catalogues:
        prepared = views.prepared(catalogue)
        for group_id, entry in prepared.groups.items():
            groups.setdefault(group_id, entry)
        keys |= prepared.keys
    return [groups[group_id] for group_id in sorted(groups)], keys


def _clients(
    connection: Connection, client_ids: set[int], views: ViewCache
) -> dict[int, ApiClient]:
    clients, missing = views.known_clients(client_ids)
    if missing:
        found = clients_by_id(connection, missing)
        views.remember_clients(found)
        clients.update(found)
    return clients
