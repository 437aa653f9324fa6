"""The handover rules (plugins/module_utils/_handover.py): which instance may take the address, what counts as an
abandoned launch, what the group is given."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.spotkit.ec2.plugins.module_utils import _handover

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def member(instance_id, state="InService", health="Healthy"):
    return {"InstanceId": instance_id, "LifecycleState": state, "HealthStatus": health}


@pytest.mark.parametrize("members, newest", [
    ([member("i-a"), member("i-b", "Pending:Wait")], "i-b"),
    ([member("i-a"), member("i-b", "Pending")], "i-a"),                  # not yet waiting on the hook
    ([member("i-a"), member("i-b", health="Unhealthy")], "i-a"),
    ([member("i-a"), member("i-b", "Terminating")], "i-a"),
    ([member("i-b", "Terminating:Wait")], None),
    ([], None),
])
def test_the_newest_healthy_instance(members, newest):
    launched = {"i-a": T0, "i-b": T0 + datetime.timedelta(minutes=3)}
    assert _handover.newest_holder(members, launched) == newest


def test_two_instances_launched_at_once_never_both_count_as_newest():
    assert _handover.newest_holder([member("i-b"), member("i-a")], {"i-a": T0, "i-b": T0}) == "i-b"


@pytest.mark.parametrize("holder, newest, allowed", [
    ("i-me", "i-me", False), ("", None, True), ("i-old", "i-me", True), ("i-new", "i-new", False), ("i-new", None, False),
])
def test_may_take(holder, newest, allowed):
    assert _handover.may_take("i-me", holder, newest)[0] is allowed


def test_only_abandoned_launches_within_the_window_count():
    activities = [
        {"StatusCode": "Cancelled", "StartTime": T0, "StatusMessage": "... Lifecycle Action Completed with ABANDON Result"},
        {"StatusCode": "Cancelled", "StartTime": T0, "StatusMessage": "Heartbeat Timeout, default result ABANDON"},
        {"StatusCode": "Cancelled", "StartTime": T0, "StatusMessage": "Lifecycle Action with token t was abandoned: Heartbeat Timeout"},
        {"StatusCode": "Cancelled", "StartTime": T0 - datetime.timedelta(hours=7), "StatusMessage": "ABANDON"},
        {"StatusCode": "Successful", "StartTime": T0, "Description": "Launching a new EC2 instance"},
        {"StatusCode": "Cancelled", "StartTime": T0, "StatusMessage": "Insufficient capacity"},
    ]
    assert _handover.abandoned_launches(activities, T0 - datetime.timedelta(hours=6)) == 3


def test_the_group_launches_before_it_terminates_and_rolls_back():
    settings = _handover.group_settings()
    assert settings["instance_maintenance_policy"] == {"min_healthy_percentage": 100, "max_healthy_percentage": 200}
    assert settings["refresh"]["auto_rollback"] is True
    # A failing first boot records a heartbeat at most 10 minutes apart: the timeout must not cut it short.
    assert settings["launch_hook"]["heartbeat_timeout"] > 600
    assert settings["launch_hook"]["default_result"] == "ABANDON"
