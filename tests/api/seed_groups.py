"""The seeds' example target groups as create bodies, copied from the seed files.

Every group of ``003_47c79a60c010f1bf.txt``'s example responses ("Get all milestones",
"Get all user created milestones", "enrolmentMethod=AUDIENCE_FILTER", "Get leaderboard enabled
milestones") is kept here as the seed shows it, field for field, including what only a server
writes (``id``, ``attribution``, ``createdOn``, ``activePeriod``, ``emfRuleSetId``,
``targetPeriodDefaultValuesMap``, period and trigger ids...): a client that reads a group and
sends it back sends all of that, and the API must ignore it (SPEC section 4).

Transcription notes:

* the seed blocks use non-breaking spaces for indentation and some trailing commas; neither is
  data, so neither is kept;
* money values are written with the seed's digits (``10000.000``);
* the repeated ``createdBy``/``lastUpdatedBy`` users are the constants below, and an
  ``attribution`` block is built by ``_attribution`` (the same dict the seed shows);
* ``CREATE_STREAKS`` is the body field list of ``000_c6e7e17fc28b0545.txt`` ("Create streaks")
  with values: that page lists fields and enums, not an example body (see its comments).
"""

from __future__ import annotations

from typing import Any

Body = dict[str, Any]


def _attribution(created_on: str, last_updated_on: str, by: Body) -> Body:
    """An ``attribution`` block as the seeds write it (one user made and last changed it)."""
    return {
        "createdOn": created_on,
        "lastUpdatedOn": last_updated_on,
        "lastUpdatedBy": dict(by),
        "createdBy": dict(by),
    }


TOM_SAWYER = {
    "id": 50685529,
    "code": "tom.sawyer",
    "description": "",
    "name": "Tom Sawyer",
    "type": "ADMIN_USER",
}
KERALA1_TILL1 = {
    "id": 50681568,
    "code": "kerala1_till1",
    "description": "",
    "name": "kerala1_till1",
    "type": "TILL",
}
PYAPPS_TILL = {
    "id": 50145093,
    "code": "default.till.pyapps1695382050",
    "description": "default.till.pyapps1695382050",
    "name": "default.till.pyapps1695382050",
    "type": "TILL",
}
ADM01 = {
    "id": 50691660,
    "code": "adm01",
    "description": "",
    "name": "adm01",
    "type": "TILL",
}

TESTSUB: Body = {
    "id": 23113,
    "attribution": _attribution(
        "2024-04-02T10:35:15.000+0530", "2024-04-02T10:35:15.000+0530", TOM_SAWYER
    ),
    "name": "testsub",
    "active": True,
    "preferredTillId": 50681568,
    "activePeriod": {
        "id": 28714,
        "attribution": _attribution(
            "2024-04-02T10:35:15.000+0530", "2024-04-02T10:35:15.000+0530", TOM_SAWYER
        ),
        "startDate": "2024-04-02",
        "endDate": "2024-05-01",
        "refCode": "Cycle_1",
        "periodStatus": "RUNNING",
        "targetGroupId": 23113,
        "active": True,
    },
    "totalPeriods": 1,
    "description": "testsub",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "recurringCycles": -1,
    "frequency": 0,
    "targetCycleStartDate": "2024-04-02T05:04:45.000Z",
    "targetCycleEndDate": "2024-05-31T18:30:00.000Z",
    "frequencyType": "MONTHLY",
    "trackingType": "DEFAULT",
    "createdOn": 1712034315000,
    "targets": [
        {
            "id": 43653,
            "attribution": _attribution(
                "2024-04-02T10:35:16.000+0530", "2024-04-02T10:35:16.000+0530", TOM_SAWYER
            ),
            "name": "testsub",
            "emfRuleSetId": 1294439,
            "targetType": "GROSS_SALES",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetGroupId": 23113,
            "active": True,
            "expression": "true",
            "expressionJson": '\n{\n  "arity":"literal",\n  "value":"true",\n  "type":"boolean:primitive"\n}',
            "filters": [],
            "enrolmentMethod": "TRANSACTION",
            "defaultValues": [
                {
                    "id": 52582,
                    "periodId": 28714,
                    "defaultValue": 10000.000,
                },
            ],
        },
    ],
}

EW: Body = {
    "id": 16832,
    "attribution": _attribution(
        "2024-02-07T17:53:40.000+0530", "2024-02-07T17:53:40.000+0530", TOM_SAWYER
    ),
    "name": "ew",
    "active": False,
    "preferredTillId": 50681568,
    "totalPeriods": 1,
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "recurringCycles": -1,
    "frequency": 0,
    "targetCycleStartDate": "2024-02-07T12:22:48.000Z",
    "targetCycleEndDate": "2024-03-31T18:30:00.000Z",
    "frequencyType": "MONTHLY",
    "trackingType": "DEFAULT",
    "createdOn": 1707308620000,
    "targets": [
        {
            "id": 31203,
            "attribution": _attribution(
                "2024-02-07T17:53:40.000+0530", "2024-02-07T17:53:40.000+0530", TOM_SAWYER
            ),
            "name": "ew",
            "emfRuleSetId": 1276042,
            "targetType": "GROSS_SALES",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetGroupId": 16832,
            "active": False,
            "expression": "true",
            "expressionJson": '\n{\n  "arity":"literal",\n  "value":"true",\n  "type":"boolean:primitive"\n}',
            "filters": [],
            "enrolmentMethod": "TRANSACTION",
            "defaultValues": [
                {
                    "id": 36763,
                    "periodId": 20639,
                    "defaultValue": 1.000,
                },
            ],
        },
    ],
}

UNIFIED: Body = {
    "id": 16794,
    "attribution": _attribution(
        "2024-02-07T11:59:06.000+0530", "2024-02-07T11:59:06.000+0530", TOM_SAWYER
    ),
    "name": "unified",
    "active": False,
    "preferredTillId": 50681568,
    "totalPeriods": 1,
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "recurringCycles": -1,
    "frequency": 0,
    "targetCycleStartDate": "2024-02-07T06:28:45.000Z",
    "targetCycleEndDate": "2024-03-31T18:30:00.000Z",
    "frequencyType": "MONTHLY",
    "trackingType": "UNIFIED",
    "createdOn": 1707287346000,
    "targets": [
        {
            "id": 31133,
            "attribution": _attribution(
                "2024-02-07T11:59:06.000+0530", "2024-02-07T11:59:06.000+0530", TOM_SAWYER
            ),
            "name": "unified_b8abd528-02b2-42ca-98b4-b296b2d6940f",
            "emfRuleSetId": 1275657,
            "targetType": "SALES",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetGroupId": 16794,
            "active": False,
            "expression": "true",
            "expressionJson": '\n{\n  "arity":"literal",\n  "value":"true",\n  "type":"boolean:primitive"\n}',
            "filters": [],
            "enrolmentMethod": "TRANSACTION",
            "defaultValues": [
                {
                    "id": 36693,
                    "periodId": 20604,
                    "defaultValue": 100.000,
                },
            ],
        },
        {
            "id": 31132,
            "attribution": _attribution(
                "2024-02-07T11:59:06.000+0530", "2024-02-07T11:59:06.000+0530", TOM_SAWYER
            ),
            "name": "unified_e96004bd-4d78-48da-9f66-e93b3c3dbd7a",
            "emfRuleSetId": 1275656,
            "targetType": "GROSS_SALES",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetGroupId": 16794,
            "active": False,
            "expression": "true",
            "expressionJson": '\n{\n  "arity":"literal",\n  "value":"true",\n  "type":"boolean:primitive"\n}',
            "filters": [],
            "enrolmentMethod": "TRANSACTION",
            "defaultValues": [
                {
                    "id": 36692,
                    "periodId": 20604,
                    "defaultValue": 100.000,
                },
            ],
        },
    ],
    "combinationType": "ALL",
    "unifiedTargetExpression": {
        "aggregation": None,
        "thresholdValue": None,
        "ruleExpression": "(31132 & 31133)",
    },
}

WBC: Body = {
    "id": 16503,
    "attribution": _attribution(
        "2024-02-05T15:03:08.000+0530", "2024-02-05T15:03:08.000+0530", TOM_SAWYER
    ),
    "name": "wbc",
    "active": False,
    "preferredTillId": 50681568,
    "totalPeriods": 1,
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "recurringCycles": -1,
    "frequency": 0,
    "targetCycleStartDate": "2024-02-05T09:32:53.000Z",
    "targetCycleEndDate": "2024-03-31T18:30:00.000Z",
    "frequencyType": "MONTHLY",
    "trackingType": "DEFAULT",
    "createdOn": 1707125588000,
    "targets": [
        {
            "id": 30534,
            "attribution": _attribution(
                "2024-02-05T15:03:08.000+0530", "2024-02-05T15:03:08.000+0530", TOM_SAWYER
            ),
            "name": "wbc",
            "emfRuleSetId": 1274403,
            "targetType": "EXTENDED_FIELD",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetGroupId": 16503,
            "active": False,
            "expression": "true",
            "expressionJson": '\n{\n  "arity":"literal",\n  "value":"true",\n  "type":"boolean:primitive"\n}',
            "filters": [],
            "enrolmentMethod": "TRANSACTION",
            "defaultValues": [
                {
                    "id": 36017,
                    "periodId": 20267,
                    "defaultValue": 12.000,
                },
            ],
            "extendedFieldInfo": {
                "name": "CentralGST",
                "aggregateFunction": "COUNT",
            },
        },
    ],
}

WEW: Body = {
    "id": 16500,
    "attribution": _attribution(
        "2024-02-05T10:29:38.000+0530", "2024-02-05T10:29:38.000+0530", TOM_SAWYER
    ),
    "name": "wew",
    "active": False,
    "preferredTillId": 50681568,
    "totalPeriods": 1,
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "recurringCycles": -1,
    "frequency": 0,
    "targetCycleStartDate": "2024-02-05T04:58:38.000Z",
    "targetCycleEndDate": "2024-03-31T18:30:00.000Z",
    "frequencyType": "MONTHLY",
    "trackingType": "DEFAULT",
    "createdOn": 1707109178000,
    "targets": [
        {
            "id": 30533,
            "attribution": _attribution(
                "2024-02-05T10:29:38.000+0530", "2024-02-05T10:29:38.000+0530", TOM_SAWYER
            ),
            "name": "wew",
            "emfRuleSetId": 1274390,
            "targetType": "GROSS_SALES",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetGroupId": 16500,
            "active": False,
            "expression": "true",
            "expressionJson": '\n{\n  "arity":"literal",\n  "value":"true",\n  "type":"boolean:primitive"\n}',
            "filters": [],
            "enrolmentMethod": "TRANSACTION",
            "defaultValues": [
                {
                    "id": 36016,
                    "periodId": 20265,
                    "defaultValue": 12.000,
                },
            ],
        },
    ],
}

EWDWE: Body = {
    "id": 16175,
    "attribution": _attribution(
        "2024-01-31T12:48:16.000+0530", "2024-01-31T12:48:16.000+0530", TOM_SAWYER
    ),
    "name": "ewdwe",
    "active": True,
    "preferredTillId": 50681568,
    "activePeriod": {
        "id": 19881,
        "attribution": _attribution(
            "2024-01-31T12:48:16.000+0530", "2024-01-31T12:48:16.000+0530", TOM_SAWYER
        ),
        "startDate": "2024-01-31",
        "endDate": "2024-04-29",
        "refCode": "wdse",
        "periodStatus": "RUNNING",
        "targetGroupId": 16175,
        "active": True,
    },
    "totalPeriods": 1,
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "recurringCycles": -1,
    "frequency": 0,
    "targetCycleStartDate": "2024-01-31T00:00:00.000Z",
    "targetCycleEndDate": "2024-04-29T23:59:59.000Z",
    "frequencyType": "QUARTERLY",
    "trackingType": "DEFAULT",
    "createdOn": 1706685496000,
    "targets": [
        {
            "id": 29827,
            "attribution": _attribution(
                "2024-01-31T12:48:57.000+0530", "2024-01-31T12:48:57.000+0530", TOM_SAWYER
            ),
            "name": "e",
            "emfRuleSetId": 1273473,
            "emfUnrolledRulesetId": 1273472,
            "targetType": "GROSS_SALES",
            "targetEntity": "LINEITEM",
            "eventName": "TransactionAdd",
            "targetGroupId": 16175,
            "active": True,
            "expression": "true",
            "expressionJson": '\n{\n  "arity":"literal",\n  "value":"true",\n  "type":"boolean:primitive"\n}',
            "filters": [
                {
                    "entityType": "STORE",
                    "entityIds": [
                        50681567,
                    ],
                },
            ],
            "enrolmentMethod": "IMPORT",
            "defaultValues": [
                {
                    "id": 35203,
                    "periodId": 19881,
                    "defaultValue": 12.000,
                },
            ],
        },
        {
            "id": 30532,
            "attribution": _attribution(
                "2024-02-05T10:27:13.000+0530", "2024-02-05T10:27:13.000+0530", TOM_SAWYER
            ),
            "name": "eeeeee",
            "emfRuleSetId": 1274389,
            "emfUnrolledRulesetId": 1274388,
            "targetType": "GROSS_SALES",
            "targetEntity": "LINEITEM",
            "eventName": "TransactionAdd",
            "targetGroupId": 16175,
            "active": True,
            "expression": "true",
            "expressionJson": '\n{\n  "arity":"literal",\n  "value":"true",\n  "type":"boolean:primitive"\n}',
            "filters": [
                {
                    "entityType": "STORE",
                    "entityIds": [
                        50681567,
                    ],
                },
            ],
            "enrolmentMethod": "TRANSACTION",
            "defaultValues": [
                {
                    "id": 36015,
                    "periodId": 19881,
                    "defaultValue": 11.000,
                },
            ],
        },
    ],
}

MADRID_STREAK: Body = {
    "id": 8670,
    "attribution": _attribution(
        "2023-12-28T17:38:42.000+0530", "2023-12-28T17:38:42.000+0530", KERALA1_TILL1
    ),
    "name": "Madridstaloyaltystreak",
    "active": False,
    "preferredTillId": 0,
    "streaks": [
        {
            "id": 10,
            "attribution": _attribution(
                "2023-11-06T18:59:52.000+0530", "2023-11-06T18:59:52.000+0530", KERALA1_TILL1
            ),
            "targetGroupId": 8670,
            "name": "streakmad2",
            "targetCountOfSequence": 2,
        },
        {
            "id": 11,
            "attribution": _attribution(
                "2023-11-06T18:59:52.000+0530", "2023-11-06T18:59:52.000+0530", KERALA1_TILL1
            ),
            "targetGroupId": 8670,
            "name": "streakmad4",
            "targetCountOfSequence": 4,
        },
        {
            "id": 12,
            "attribution": _attribution(
                "2023-11-06T18:59:52.000+0530", "2023-11-06T18:59:52.000+0530", KERALA1_TILL1
            ),
            "targetGroupId": 8670,
            "name": "streakmad7",
            "targetCountOfSequence": 7,
        },
    ],
    "totalPeriods": 15,
    "description": "edit",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "recurringCycles": 0,
    "frequency": 0,
    "targetCycleStartDate": "2023-11-01T00:00:00.000Z",
    "targetCycleEndDate": "2023-11-15T23:59:59.000Z",
    "frequencyType": "DAILY",
    "trackingType": "STREAKS",
    "createdOn": 1703765322000,
    "targets": [
        {
            "id": 15106,
            "attribution": _attribution(
                "2023-10-31T19:59:51.000+0530", "2023-10-31T19:59:51.000+0530", KERALA1_TILL1
            ),
            "name": "MadridstaloyaltystreakTXN500",
            "emfRuleSetId": 1254321,
            "targetType": "SALES",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetGroupId": 8670,
            "description": "streak",
            "active": False,
            "expression": "currentTxn.value>500",
            "expressionJson": '{"arity":"binary_operation","value":">","type":"boolean:primitive","operands":[{"arity":"object_dereference","type":"real:object:primitive","operands":[{"arity":"name","value":"currentTxn","type":"tx:object:primitive"},{"arity":"name","value":"value","type":"real:object:primitive"}]},{"arity":"literal","value":"500","type":"number:primitive"}]}',
            "filters": [
                {
                    "entityType": "STORE",
                    "entityIds": [
                        50681567,
                    ],
                },
            ],
            "enrolmentMethod": "TRANSACTION",
            "defaultValues": [
                {
                    "id": 16963,
                    "periodId": 11340,
                    "defaultValue": 1.000,
                },
            ],
        },
    ],
}

USER_CREATED: Body = {
    "id": 39536,
    "attribution": _attribution(
        "2024-08-26T13:08:58.000+0530", "2024-08-26T13:08:58.000+0530", ADM01
    ),
    "name": "Fixed Window Milestone Group 1724657937",
    "active": True,
    "preferredTillId": 50692189,
    "activePeriod": {
        "id": 55434,
        "attribution": _attribution(
            "2024-08-26T12:50:11.000+0530", "2024-08-26T12:50:11.000+0530", ADM01
        ),
        "startDate": "2024-08-20",
        "endDate": "2024-09-19",
        "refCode": "TP1",
        "periodStatus": "RUNNING",
        "targetGroupId": 39536,
        "active": True,
    },
    "totalPeriods": 2,
    "description": "test via postman",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "recurringCycles": -1,
    "frequency": 0,
    "targetCycleStartDate": "2024-08-20T08:42:01.000Z",
    "targetCycleEndDate": "2024-10-20T08:42:01.000Z",
    "frequencyType": "MONTHLY",
    "trackingType": "DEFAULT",
    "createdOn": 1724657938000,
    "targets": [
        {
            "id": 71087,
            "attribution": _attribution(
                "2024-08-26T12:50:11.000+0530", "2024-08-26T12:50:11.000+0530", ADM01
            ),
            "name": "target-2024-08-26T07:20:09.894Z",
            "emfRuleSetId": 1334912,
            "targetType": "COUNT",
            "targetEntity": "EVENT",
            "eventName": "TransactionAdd",
            "targetGroupId": 39536,
            "description": "targetf",
            "active": True,
            "expression": "true",
            "expressionJson": '{"arity":"literal","value":"true","type":"boolean:primitive"}',
            "enrolmentMethod": "IMPORT",
            "defaultValues": [
                {
                    "id": 96664,
                    "periodId": 55434,
                    "defaultValue": 500.000,
                },
                {
                    "id": 96665,
                    "periodId": 55435,
                    "defaultValue": 500.000,
                },
            ],
            "targetPeriodDefaultValuesMap": {
                "55434": {
                    "id": 96664,
                    "periodId": 55434,
                    "defaultValue": 500.000,
                },
                "55435": {
                    "id": 96665,
                    "periodId": 55435,
                    "defaultValue": 500.000,
                },
            },
            "extendedFieldInfo": {
                "name": "cartId",
                "aggregateFunction": "SUM",
                "aggregateWindow": None,
            },
            "targetMilestoneTriggers": [],
        },
    ],
    "userCreated": True,
}

AUDIENCE_FILTER_CAPPING: Body = {
    "id": 48825,
    "attribution": _attribution(
        "2024-07-31T11:32:41.000+0000", "2024-07-31T11:32:41.000+0000", PYAPPS_TILL
    ),
    "name": "TG_2024-07-31T17:02:41.041113Z",
    "active": True,
    "preferredTillId": 50145093,
    "periods": [
        {
            "id": 62128,
            "attribution": _attribution(
                "2024-07-31T11:32:41.000+0000", "2024-07-31T11:32:41.000+0000", PYAPPS_TILL
            ),
            "startDate": "2024-07-31",
            "endDate": "2024-08-10",
            "refCode": "TestPeriod",
            "periodStatus": "RUNNING",
            "targetGroupId": 48825,
            "description": "Period No. 1",
            "active": True,
        },
    ],
    "activePeriod": {
        "id": 62128,
        "attribution": _attribution(
            "2024-07-31T11:32:41.000+0000", "2024-07-31T11:32:41.000+0000", PYAPPS_TILL
        ),
        "startDate": "2024-07-31",
        "endDate": "2024-08-10",
        "refCode": "TestPeriod",
        "periodStatus": "RUNNING",
        "targetGroupId": 48825,
        "description": "Period No. 1",
        "active": True,
    },
    "totalPeriods": 1,
    "description": "New target group",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "recurringCycles": -1,
    "frequency": 0,
    "targetCycleStartDate": "2024-07-31T11:32:41.000Z",
    "targetCycleEndDate": "2029-07-31T11:32:41.000Z",
    "frequencyType": "CUSTOM",
    "trackingType": "CAPPING",
    "createdOn": 1722425561000,
    "targets": [
        {
            "id": 104296,
            "attribution": _attribution(
                "2024-07-31T11:32:42.000+0000", "2024-07-31T11:32:42.000+0000", PYAPPS_TILL
            ),
            "name": "testTargetFixedWindow_2024-07-31T17:02:41.391797Z",
            "targetType": "SALES",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetGroupId": 48825,
            "description": "milestone",
            "active": True,
            "expression": "true",
            "expressionJson": '{"arity":"literal","value":"true","type":"boolean:primitive"}',
            "filters": [
                {
                    "entityType": "STORE",
                    "entityIds": [],
                },
            ],
            "enrolmentMethod": "AUDIENCE_FILTER",
            "defaultValues": [
                {
                    "id": 129407,
                    "periodId": 62128,
                    "defaultValue": 1.0,
                },
            ],
            "targetPeriodDefaultValuesMap": {
                "62128": {
                    "id": 129407,
                    "periodId": 62128,
                    "defaultValue": 1.0,
                },
            },
            "targetMilestoneTriggers": [
                {
                    "id": 21799,
                    "triggerName": "targetAchieved",
                    "isActive": True,
                    "triggerType": "SYSTEM_TRIGGER",
                    "triggerValueType": "PERCENTAGE",
                    "triggerValue": 100.0,
                    "targetRuleId": 104296,
                },
            ],
            "targetAudienceFilter": [
                {
                    "audienceGroupId": 200297896,
                    "versionId": 200584500,
                    "audienceFilterMetaId": 1990,
                    "lastUpdatedOn": "2024-07-31T11:32:44.000+0000",
                },
            ],
        },
    ],
}

AUDIENCE_FILTER_DEFAULT: Body = {
    "id": 48824,
    "attribution": _attribution(
        "2024-07-31T11:32:34.000+0000", "2024-07-31T11:32:34.000+0000", PYAPPS_TILL
    ),
    "name": "TG_2024-07-31T17:02:33.517716Z",
    "active": True,
    "preferredTillId": 50145093,
    "periods": [
        {
            "id": 62127,
            "attribution": _attribution(
                "2024-07-31T11:32:34.000+0000", "2024-07-31T11:32:34.000+0000", PYAPPS_TILL
            ),
            "startDate": "2024-07-31",
            "endDate": "2024-08-10",
            "refCode": "TestPeriod",
            "periodStatus": "RUNNING",
            "targetGroupId": 48824,
            "description": "Period No. 1",
            "active": True,
        },
    ],
    "activePeriod": {
        "id": 62127,
        "attribution": _attribution(
            "2024-07-31T11:32:34.000+0000", "2024-07-31T11:32:34.000+0000", PYAPPS_TILL
        ),
        "startDate": "2024-07-31",
        "endDate": "2024-08-10",
        "refCode": "TestPeriod",
        "periodStatus": "RUNNING",
        "targetGroupId": 48824,
        "description": "Period No. 1",
        "active": True,
    },
    "totalPeriods": 1,
    "description": "New target group",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "recurringCycles": -1,
    "frequency": 0,
    "targetCycleStartDate": "2024-07-31T11:32:34.000Z",
    "targetCycleEndDate": "2029-07-31T11:32:34.000Z",
    "frequencyType": "CUSTOM",
    "trackingType": "DEFAULT",
    "createdOn": 1722425554000,
    "targets": [
        {
            "id": 104294,
            "attribution": _attribution(
                "2024-07-31T11:32:34.000+0000", "2024-07-31T11:32:34.000+0000", PYAPPS_TILL
            ),
            "name": "testTargetFixedWindow_2024-07-31T17:02:33.843917Z",
            "emfRuleSetId": 1303778,
            "targetType": "COUNT",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "targetGroupId": 48824,
            "description": "milestone",
            "active": True,
            "expression": "true",
            "expressionJson": '{"arity":"literal","value":"true","type":"boolean:primitive"}',
            "filters": [
                {
                    "entityType": "STORE",
                    "entityIds": [],
                },
            ],
            "enrolmentMethod": "AUDIENCE_FILTER",
            "defaultValues": [
                {
                    "id": 129405,
                    "periodId": 62127,
                    "defaultValue": 1.0,
                },
            ],
            "targetPeriodDefaultValuesMap": {
                "62127": {
                    "id": 129405,
                    "periodId": 62127,
                    "defaultValue": 1.0,
                },
            },
            "targetMilestoneTriggers": [
                {
                    "id": 21798,
                    "triggerName": "targetAchieved",
                    "isActive": True,
                    "triggerType": "SYSTEM_TRIGGER",
                    "triggerValueType": "PERCENTAGE",
                    "triggerValue": 100.0,
                    "targetRuleId": 104294,
                },
            ],
            "targetAudienceFilter": [
                {
                    "audienceGroupId": 200297896,
                    "versionId": 200584500,
                    "audienceFilterMetaId": 1989,
                    "lastUpdatedOn": "2024-07-31T11:32:40.000+0000",
                },
            ],
        },
    ],
}

# "Get leaderboard enabled milestones": the seed elides the group's ``attribution``
# ("........", left out here: it is server-made anyway) and its ``targets`` ("......").
# The target below is NOT from the seed: it is a plausible one filled in so that the body is
# a valid create (SPEC section 4 needs at least one target): total sales of 1,000 on the
# group's one day, open to every customer.
LEADERBOARD: Body = {
    "id": 1927,
    "orgId": 4000110,
    "name": "milestonename",
    "active": True,
    "preferredTillId": 0,
    "totalPeriods": 1,
    "description": "a trial test ",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "recurringCycles": 1,
    "frequency": 1,
    "targetCycleStartDate": "2024-08-02T00:00:00.000Z",
    "targetCycleEndDate": "2024-08-02T23:59:59.000Z",
    "frequencyType": "CUSTOM",
    "trackingType": "DEFAULT",
    "createdOn": 1723454603000,
    "targets": [
        # Filled in (the seed shows "......").
        {
            "name": "milestonename_sales",
            "targetType": "SALES",
            "targetEntity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "active": True,
            "expression": "true",
            "expressionJson": '{"arity":"literal","value":"true","type":"boolean:primitive"}',
            "filters": [],
            "enrolmentMethod": "TRANSACTION",
            "defaultValues": [{"defaultValue": 1000.000}],
        },
    ],
    "leaderboardEnabled": True,
    "userCreated": True,
}

# "Create streaks" (000): the page lists the body's fields, their types and enums, but no
# example values, and it flattens the nested ``periods[]`` and ``targets[]`` fields into one
# list. The body below gives each listed field a value: the page's own examples where it has
# them (the period datetimes ``2024-10-24T00:00:00.000`` / ``2024-10-24T23:59:00.000``, the
# enums ``STREAK``, ``ALTERNATE_CURRENCIES``, ``ALL``, ``TRANSACTION``), and plain values
# elsewhere. ``periodStatus`` carries each of the page's allowed values; the server derives
# the status from its clock and ignores it on input (SPEC section 4).
#
# Two things the page leaves out are added because SPEC section 4 requires them: the target's
# ``name`` and the group's ``streaks`` (a STREAK group needs its levels).
CREATE_STREAKS: Body = {
    "active": True,
    "description": "Earn coins three days in a row",
    "name": "Coins streak",
    "preferredTillId": 50681568,
    "trackingType": "STREAK",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "totalPeriods": 3,
    "frequencyType": "DAILY",
    "frequency": 1,
    "recurringCycles": 1,
    "periods": [
        {
            "refCode": "Day_1",
            "startDate": "2024-10-24T00:00:00.000",
            "endDate": "2024-10-24T23:59:00.000",
            "periodStatus": "RUNNING",
        },
        {
            "refCode": "Day_2",
            "startDate": "2024-10-25T00:00:00.000",
            "endDate": "2024-10-25T23:59:00.000",
            "periodStatus": "UPCOMING",
        },
        {
            "refCode": "Day_3",
            "startDate": "2024-10-26T00:00:00.000",
            "endDate": "2024-10-26T23:59:00.000",
            "periodStatus": "NOT_STARTED",
        },
    ],
    "targets": [
        {
            "name": "Coins earned",  # not on the page; required by SPEC section 4
            "expression": True,
            "expressionJson": '{"arity":"literal","value":"true","type":"boolean:primitive"}',
            "targetEntity": "ALTERNATE_CURRENCIES",
            "enrolmentMethod": "TRANSACTION",
            "targetType": "ALL",
            "defaultValue": 100.000,
            "alternateCurrencyIdentifier": "coins",
            "programId": 973,
        },
    ],
    # not on the page; required by SPEC section 4 for streak groups
    "streaks": [
        {"name": "Two days", "targetCountOfSequence": 2},
        {"name": "Three days", "targetCountOfSequence": 3},
    ],
}

# "Get all milestones", in the seed's order (newest first).
GET_ALL_MILESTONES: list[Body] = [TESTSUB, EW, UNIFIED, WBC, WEW, EWDWE, MADRID_STREAK]
# "enrolmentMethod=AUDIENCE_FILTER", in the seed's order.
AUDIENCE_FILTER_EXAMPLES: list[Body] = [AUDIENCE_FILTER_CAPPING, AUDIENCE_FILTER_DEFAULT]
