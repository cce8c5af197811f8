"""Leaderboards as the API shows them: ranked entries, and one customer's ranks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from milestones.api.leaderboards.service import Board
from milestones.domain.times import utc_text
from milestones.store.leaderboards import Ranked

Json = dict[str, object]


def board_view(board: Board, entries: list[Ranked], total: int, now: datetime) -> Json:
    """The board named by its group, target and period, with a page of ranked customers."""
    return {
        **_names(board),
        "periodStartDate": board.period.window.start_date(board.group.zone).isoformat(),
        "periodEndDate": board.period.window.end_date(board.group.zone).isoformat(),
        "periodStatus": board.period.status(now).value,
        "totalRanked": total,
        "entries": [
            {
                "rank": entry.rank,
                "userId": entry.user_id,
                "value": entry.value,
                "achievedDateTime": _utc_or_none(entry.achieved_at),
            }
            for entry in entries
        ],
    }


def rank_view(board: Board, standing: Ranked | None, total: int) -> Json:
    """One customer's place on one board (rank null and value 0 when not ranked)."""
    return {
        **_names(board),
        "rank": standing.rank if standing else None,
        "value": standing.value if standing else Decimal(0),
        "achievedDateTime": _utc_or_none(standing.achieved_at if standing else None),
        "totalRanked": total,
    }


def _names(board: Board) -> Json:
    return {
        "targetGroupId": board.group.id,
        "targetGroupName": board.group.name,
        "targetRuleId": board.target.id,
        "targetName": board.target.name,
        "periodId": board.period.id,
        "periodRefCode": board.period.ref_code,
    }


def _utc_or_none(instant: datetime | None) -> str | None:
    return utc_text(instant) if instant is not None else None
