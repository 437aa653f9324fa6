"""Unit tests for the spotkit.ec2.stack_launch_hook module: what a new instance tells its group's launch hook, on
stubbed Auto Scaling and EC2 clients."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible.module_utils import _internal as module_internal
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.spotkit.ec2.plugins.modules import stack_launch_hook as module_under_test

INSTANCE = "i-0123456789abcdef0"
OLD = "i-0fedcba9876543210"
NOW = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
PARAMS = {"stack": "blog", "attempt": "succeeded", "launch_budget": 1200}
GROUP = {"AutoScalingGroupNames": ["spotkit-blog"]}


@pytest.fixture(name="clients")
def fixture_clients(stub):
    return {service: stub(service) for service in ("autoscaling", "ec2")}


def in_group(stubber, state):
    instances = [{"InstanceId": OLD, "LifecycleState": "InService", "HealthStatus": "Healthy", "AvailabilityZone": "eu-west-1a",
                  "ProtectedFromScaleIn": False}]
    if state:
        instances.append(dict(instances[0], InstanceId=INSTANCE, LifecycleState=state))
    stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": [{
        "AutoScalingGroupName": "spotkit-blog", "MinSize": 1, "MaxSize": 1, "DesiredCapacity": 1, "DefaultCooldown": 300,
        "AvailabilityZones": ["eu-west-1a"], "HealthCheckType": "EC2", "CreatedTime": NOW, "Instances": instances}]}, GROUP)


def address_on(stubber, holder):
    stubber.add_response("describe_addresses", {"Addresses": [dict({"AllocationId": "eipalloc-1", "PublicIp": "198.51.100.7"},
                                                                   **({"InstanceId": holder} if holder else {}))]},
                         {"Filters": [{"Name": "tag:spotkit:stack", "Values": ["blog"]}]})


def failed_attempt(clients, launched_minutes_ago, abandoned):
    """The calls a failed attempt makes: the launch time, and the group's activities (`abandoned` of them abandoned)."""
    clients["ec2"][1].add_response("describe_instances", {"Reservations": [{"Instances": [
        {"InstanceId": INSTANCE, "LaunchTime": NOW - datetime.timedelta(minutes=launched_minutes_ago)}]}]}, {"InstanceIds": [INSTANCE]})
    activities = [{"ActivityId": "a-%d" % index, "AutoScalingGroupName": "spotkit-blog", "Cause": "launch",
                   "StartTime": NOW - datetime.timedelta(hours=1 + index), "StatusCode": "Cancelled",
                   "StatusMessage": "Lifecycle Action Completed with ABANDON Result"} for index in range(abandoned)]
    clients["autoscaling"][1].add_response("describe_scaling_activities", {"Activities": activities},
                                           {"AutoScalingGroupName": "spotkit-blog"})


def decide(clients, **params):
    return module_under_test.decide(dict(PARAMS, **params), INSTANCE, clients["autoscaling"][0], clients["ec2"][0], NOW)


@pytest.mark.parametrize("state", ["InService", ""])
def test_an_instance_that_does_not_wait_on_the_hook_does_nothing(clients, state):
    in_group(clients["autoscaling"][1], state)
    assert decide(clients)["action"] == "none"


def test_a_waiting_instance_that_serves_and_holds_the_address_continues(clients):
    in_group(clients["autoscaling"][1], "Pending:Wait")
    address_on(clients["ec2"][1], INSTANCE)
    result = decide(clients)
    assert (result["action"], result["lifecycle_state"]) == ("continue", "Pending:Wait")
    clients["autoscaling"][1].add_response("complete_lifecycle_action", {}, {
        "AutoScalingGroupName": "spotkit-blog", "LifecycleHookName": "spotkit-launch", "InstanceId": INSTANCE,
        "LifecycleActionResult": "CONTINUE"})
    module_under_test.act(clients["autoscaling"][0], "spotkit-blog", INSTANCE, result["action"])


@pytest.mark.parametrize("holder", [OLD, ""])
def test_no_continue_without_the_address(clients, holder):
    in_group(clients["autoscaling"][1], "Pending:Wait")
    address_on(clients["ec2"][1], holder)
    with pytest.raises(module_under_test.LaunchHookError, match="the launch hook stays open"):
        decide(clients)


@pytest.mark.parametrize("minutes, abandoned, action", [
    (5, 0, "heartbeat"),     # within the budget: the next attempt may succeed
    (25, 0, "abandon"),      # past it: the group launches another
    (25, 2, "abandon"),
    (25, 3, "heartbeat"),    # the churn cap: 3 abandoned within 6 hours, so this one waits for a fix
])
def test_a_failed_attempt_heartbeats_until_the_budget_then_abandons_unless_capped(clients, minutes, abandoned, action):
    in_group(clients["autoscaling"][1], "Pending:Wait")
    failed_attempt(clients, minutes, abandoned)
    result = decide(clients, attempt="failed")
    assert (result["action"], result["waited"], result["abandoned_recently"]) == (action, minutes * 60, abandoned)


def test_abandon_and_heartbeat_calls(clients):
    autoscaling, stubber = clients["autoscaling"]
    hook = {"AutoScalingGroupName": "spotkit-blog", "LifecycleHookName": "spotkit-launch", "InstanceId": INSTANCE}
    stubber.add_response("record_lifecycle_action_heartbeat", {}, hook)
    stubber.add_response("complete_lifecycle_action", {}, dict(hook, LifecycleActionResult="ABANDON"))
    module_under_test.act(autoscaling, "spotkit-blog", INSTANCE, "heartbeat")
    module_under_test.act(autoscaling, "spotkit-blog", INSTANCE, "abandon")
    module_under_test.act(autoscaling, "spotkit-blog", INSTANCE, "none")  # no call


def test_main_keeps_a_capped_instance_waiting_and_says_why(clients, monkeypatch, capsys):
    """main() as Ansible runs it: past the budget, with 3 launches abandoned, a heartbeat and a warning, not ABANDON."""
    in_group(clients["autoscaling"][1], "Pending:Wait")
    failed_attempt(clients, 25, 3)
    clients["autoscaling"][1].add_response("record_lifecycle_action_heartbeat", {}, {
        "AutoScalingGroupName": "spotkit-blog", "LifecycleHookName": "spotkit-launch", "InstanceId": INSTANCE})
    handed = {"autoscaling": clients["autoscaling"][0], "ec2": clients["ec2"][0]}
    monkeypatch.setattr(module_under_test.AnsibleAWSModule, "client", lambda module, service, **kwargs: handed[service])
    monkeypatch.setattr(module_under_test.datetime, "datetime", type("Now", (datetime.datetime,), {"now": staticmethod(lambda tz: NOW)}))
    monkeypatch.setattr(module_internal, "is_controller", False)
    module_warnings._global_warnings.clear()
    with patch_module_args({"stack": "blog", "attempt": "failed", "instance_id": INSTANCE, "region": "eu-west-1"}), \
            pytest.raises(SystemExit):
        module_under_test.main()
    result = json.loads(capsys.readouterr().out)
    assert (result["changed"], result["action"], result["abandoned_recently"]) == (True, "heartbeat", 3), result
    [warning] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result["warnings"]]
    assert "3 launches abandoned within 6 hours (the churn cap is 3)" in warning


def test_bad_options_are_named():
    assert module_under_test.check_params({"stack": "Not a stack", "launch_budget": -1}) == [
        "stack must be lowercase letters, digits and '-', starting with a letter, at most 32 characters; got 'Not a stack'",
        "launch_budget must be 0 or more seconds; got -1"]
