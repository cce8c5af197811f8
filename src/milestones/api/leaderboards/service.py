"""Leaderboards (SPEC §13): which board a request names, and the checks it must pass.

A board is one target of a group in one period. Asking for one checks, in order: the
group is in the data scope (404), its org has leaderboards on (310133), it is
FIXED_CALENDAR_WINDOW (310132), the group itself is ``leaderboardEnabled`` (310134),
the target and period belong to it (404); without a period, the running one is meant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from milestones.domain.errors import (
    GroupLeaderboardOff,
    InvalidInput,
    LeaderboardNeedsFixedWindow,
    LeaderboardsOff,
    NotFound,
)
from milestones.domain.orgs import Org
from milestones.domain.periods import EvaluationType
from milestones.domain.target_groups import Period, Target, TargetGroup
from milestones.store.leaderboards import LeaderboardRepository, Ranked
from milestones.store.orgs import OrgRepository
from milestones.store.target_groups import TargetGroupRepository


@dataclass(frozen=True, slots=True)
class BoardQuery:
    """One board asked for: a group, and optionally a target and a period of it."""

    group_id: int
    target_id: int | None = None
    period_id: int | None = None


@dataclass(frozen=True, slots=True)
class Board:
    """A leaderboard: one target of a group in one period."""

    group: TargetGroup
    target: Target
    period: Period


def boards(
    connection: Connection,
    org_ids: Sequence[int],
    queries: Sequence[BoardQuery],
    now: datetime,
    *,
    indexed: bool,
) -> list[Board]:
    """The boards ``queries`` name, checked; error fields get ``[i]`` when ``indexed``."""
    wanted = {query.group_id for query in queries}
    in_scope = LeaderboardRepository(connection).groups_in_scope(org_ids, wanted)
    groups = {group.id: group for group in TargetGroupRepository(connection).load(sorted(in_scope))}
    orgs: dict[int, Org | None] = {}
    found = []
    for index, query in enumerate(queries):
        suffix = f"[{index}]" if indexed else ""
        group = groups.get(query.group_id)
        if group is None:
            raise NotFound(
                f"No target group {query.group_id} in the caller's data scope",
                f"targetGroupId{suffix}",
            )
        if group.org_id not in orgs:
            orgs[group.org_id] = OrgRepository(connection).get_org(group.org_id)
        _check_group(group, orgs[group.org_id], suffix)
        found.append(_board(group, query, now, suffix, indexed))
    return found


def _check_group(group: TargetGroup, org: Org | None, suffix: str) -> None:
    if org is None or not org.leaderboards_enabled:
        raise LeaderboardsOff(
            f"leaderboards are not enabled for org {group.org_id} "
            "(milestones org set ID --leaderboards)",
            f"targetGroupId{suffix}",
        )
    if group.evaluation_type is not EvaluationType.FIXED_CALENDAR_WINDOW:
        raise LeaderboardNeedsFixedWindow(
            f"target group {group.id} is {group.evaluation_type.value}; "
            "leaderboards need FIXED_CALENDAR_WINDOW",
            f"targetGroupId{suffix}",
        )
    if not group.leaderboard_enabled:
        raise GroupLeaderboardOff(
            f"target group {group.id} does not have leaderboardEnabled",
            f"targetGroupId{suffix}",
        )


def _board(
    group: TargetGroup, query: BoardQuery, now: datetime, suffix: str, indexed: bool
) -> Board:
    target_field = ("targetRuleId" if indexed else "targetId") + suffix
    if query.target_id is None:
        target = group.targets[0]
    else:
        found_target = next((t for t in group.targets if t.id == query.target_id), None)
        if found_target is None:
            raise NotFound(f"No target {query.target_id} in target group {group.id}", target_field)
        target = found_target
    if query.period_id is None:
        running = group.active_period(now)
        if running is None:
            raise InvalidInput(
                f"target group {group.id} has no running period; name one with periodId",
                f"periodId{suffix}",
            )
        return Board(group, target, running)
    period = next((p for p in group.periods if p.id == query.period_id), None)
    if period is None:
        raise NotFound(
            f"No period {query.period_id} in target group {group.id}", f"periodId{suffix}"
        )
    return Board(group, target, period)


def leaderboard(
    connection: Connection,
    org_ids: Sequence[int],
    query: BoardQuery,
    limit: int,
    offset: int,
    now: datetime,
) -> tuple[Board, list[Ranked], int]:
    """One board, a page of it, and how many customers it ranks."""
    board = boards(connection, org_ids, [query], now, indexed=False)[0]
    repository = LeaderboardRepository(connection)
    total = repository.total(board.target.id, board.period.id)
    return board, repository.page(board.target.id, board.period.id, limit, offset), total


def user_ranks(
    connection: Connection,
    org_ids: Sequence[int],
    user_id: int,
    queries: Sequence[BoardQuery],
    now: datetime,
) -> list[tuple[Board, Ranked | None, int]]:
    """One customer's place on each board, with how many each ranks."""
    repository = LeaderboardRepository(connection)
    return [
        (
            board,
            repository.standing(board.target.id, board.period.id, user_id),
            repository.total(board.target.id, board.period.id),
        )
        for board in boards(connection, org_ids, queries, now, indexed=True)
    ]


def pair_queries(
    group_ids: list[int], target_ids: list[int] | None, period_ids: list[int] | None
) -> list[BoardQuery]:
    """Zip repeated query parameters: each of the optional lists once per group, or not at all."""
    for name, values in (("targetRuleId", target_ids), ("periodId", period_ids)):
        if values is not None and len(values) != len(group_ids):
            raise InvalidInput(
                f"{name} is given {len(values)} times for {len(group_ids)} targetGroupId; "
                "give it once per targetGroupId, in the same order, or not at all",
                name,
            )
    return [
        BoardQuery(
            group_id,
            target_ids[index] if target_ids is not None else None,
            period_ids[index] if period_ids is not None else None,
        )
        for index, group_id in enumerate(group_ids)
    ]
