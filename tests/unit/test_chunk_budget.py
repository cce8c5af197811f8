"""How big a bulk call's chunks are: near a side-effect budget, growing by at most 2x."""

from __future__ import annotations

import pytest

from milestones.engine.chunked import ChunkBudget


@pytest.mark.parametrize(
    ("effects_per_event", "sizes"),
    [
        (650, [8, 7, 7, 7]),  # the 650-target org: 7 x 650 = 4,550 side effects a chunk
        (60, [8, 16, 32, 64, 83, 83]),  # the benchmark's mix grows to its budget
        (0, [8, 16, 32, 64, 128, 250, 250]),  # nothing tracks the events: up to max_events
        (9_000, [8, 1, 1]),  # one event over the budget still makes progress
    ],
)
def test_chunks_grow_at_most_twofold_and_stay_near_the_side_effect_budget(
    effects_per_event: int, sizes: list[int]
) -> None:
    budget = ChunkBudget()
    size = budget.first_size
    seen = [size]
    while len(seen) < len(sizes):
        size = budget.next_size(size, size, size * effects_per_event)
        seen.append(size)
    assert seen == sizes


def test_a_small_max_events_caps_every_chunk_the_first_included() -> None:
    budget = ChunkBudget(max_events=2)
    assert budget.first_size == 2
    assert budget.next_size(2, 2, 0) == 2
