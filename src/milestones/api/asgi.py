"""The ASGI entry point uvicorn imports (settings from the environment)."""

import gc

from milestones.api.app import create_app

app = create_app()

# A bulk call allocates hundreds of thousands of short-lived objects (side effects, user
# targets); CPython's default collector thresholds (700 allocations) then run full
# collections over the whole heap many times per call. Everything imported so far lives
# for the process's lifetime: freeze it out of the collector's scans, and collect the
# young generation less often. Reference cycles are still collected.
gc.freeze()
gc.set_threshold(50_000, 20, 20)
