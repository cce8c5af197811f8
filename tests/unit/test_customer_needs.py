"""What a batch reads of its customers: only the records some target of the org can use.

A one-event call of an org with one monthly SALES target reads the customer's user targets
and enrolments and nothing else; each kind of target brings back the records it reads.
"""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from milestones.domain.periods import FrequencyType
from milestones.domain.target_groups import TargetGroup, TrackingType
from milestones.engine.catalogue import Catalogue, CustomerNeeds
from tests.unit.builders import (
    GroupRules,
    TargetSpec,
    bill_field_max,
    cyclic_group,
    fixed_group,
    sales,
    visits,
)

NOTHING = CustomerNeeds(**{field.name: False for field in fields(CustomerNeeds)})


def monthly(*targets: TargetSpec, rules: GroupRules | None = None) -> TargetGroup:
    return fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, *targets, rules=rules)


def with_audience(group: TargetGroup) -> TargetGroup:
    target = replace(group.targets[0], audience_filter=[{"audienceGroupId": 7}])
    return replace(group, targets=[target])


def test_one_monthly_sales_target_reads_nothing_beyond_user_targets_and_enrolments() -> None:
    assert Catalogue([monthly(sales(1000))]).needs == NOTHING


@pytest.mark.parametrize(
    ("group", "need"),
    [
        (cyclic_group(FrequencyType.DAILY, "2024-08-01", "2024-12-31", 30, sales(100)), "anchors"),
        (monthly(sales(1000), rules=GroupRules(TrackingType.STREAKS, (2,))), "group_progress"),
        (
            monthly(sales(1000), sales(500), rules=GroupRules(TrackingType.UNIFIED)),
            "group_progress",
        ),
        (monthly(visits(4)), "days"),
        (monthly(bill_field_max(10, "tip")), "days"),
        (with_audience(monthly(sales(1000))), "memberships"),
        (monthly(sales(1000, expression="customer.customFields.tier == 'gold'")), "custom_fields"),
    ],
)
def test_each_kind_of_target_brings_back_the_records_it_reads(
    group: TargetGroup, need: str
) -> None:
    needs = Catalogue([monthly(sales(1000)), group]).needs
    assert needs == replace(NOTHING, **{need: True})


def test_an_inactive_group_still_counts_a_return_can_reach_its_user_targets() -> None:
    idle = replace(monthly(visits(4)), active=False)
    assert Catalogue([monthly(sales(1000)), idle]).needs.days


def test_an_expression_that_does_not_name_the_customer_reads_no_profile() -> None:
    group = monthly(sales(1000, expression="currentTxn.value > 100"))
    assert not Catalogue([group]).needs.custom_fields
