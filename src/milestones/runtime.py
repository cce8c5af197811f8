"""How a server process runs Python's cyclic garbage collector.

A bulk call allocates hundreds of thousands of short-lived objects (side effects, user
targets); CPython's default collector thresholds (700 allocations) then run full
collections over the whole heap many times per call: measured in-process on the ingest
benchmark, they took about a third of the engine's time. Everything imported when the
server starts lives for the process's lifetime: it is frozen out of the collector's scans,
and the young generation is collected less often. Reference cycles are still collected.
"""

import gc

YOUNG_THRESHOLD = 50_000


def tune_collector() -> None:
    """Freeze what exists now and collect the young generation every 50,000 allocations."""
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
