"""Create bodies the API tests start from."""

from __future__ import annotations

import copy
from typing import Any


def monthly_spend(name: str = "Spend 1000 a month", **changes: Any) -> dict[str, Any]:
    """A DEFAULT fixed group: 3 monthly periods from 2024-08-01, a SALES target of 1000."""
    body: dict[str, Any] = {
        "name": name,
        "trackingType": "DEFAULT",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "MONTHLY",
        "frequency": 1,
        "totalPeriods": 3,
        "recurringCycles": -1,
        "targetCycleStartDate": "2024-08-01T00:00:00.000",
        "targetCycleEndDate": "2024-10-31T23:59:59.000",
        "targets": [
            {
                "name": "spend",
                "targetEntity": "TRANSACTION",
                "targetType": "SALES",
                "defaultValue": 1000,
            }
        ],
    }
    body.update(copy.deepcopy(changes))
    return body
