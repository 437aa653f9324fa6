"""Unit tests for the spotkit.ec2.spot_autoscaling_group module: what it compares, and which calls it makes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.spotkit.ec2.plugins.modules import spot_autoscaling_group as module_under_test

PARAMS = {
    "name": "spotkit-blog",
    "state": "present",
    "launch_template": {"name": "spotkit-blog", "version": "3"},
    "instance_types": ["t4g.nano", "t4g.micro"],
    "subnet_ids": ["subnet-b", "subnet-a"],
    "size": 1,
    "spot_allocation_strategy": "capacity-optimized",
    "capacity_rebalance": True,
    "metrics_collection": True,
    "health_check_grace_period": 60,
    "instance_maintenance_policy": {"min_healthy_percentage": 100, "max_healthy_percentage": 200},
    "launch_hook": None,
    "refresh": None,
    "tags": {"spotkit:stack": "blog", "Name": "spotkit-blog"},
    "purge_tags": True,
    "wait_timeout": 600,
}


def described(**changes):
    """The group as DescribeAutoScalingGroups returns it when it matches PARAMS."""
    group = {
        "AutoScalingGroupName": "spotkit-blog",
        "MinSize": 1, "MaxSize": 1, "DesiredCapacity": 1,
        "DefaultCooldown": 300, "AvailabilityZones": ["eu-west-1a", "eu-west-1b"], "HealthCheckType": "EC2",
        "CreatedTime": datetime(2026, 1, 1, tzinfo=timezone.utc),
        # AWS keeps its own order of subnets, and adds fields of its own.
        "VPCZoneIdentifier": "subnet-a,subnet-b",
        "CapacityRebalance": True,
        "HealthCheckGracePeriod": 60,
        "InstanceMaintenancePolicy": {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200},
        "MixedInstancesPolicy": {
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateId": "lt-1", "LaunchTemplateName": "spotkit-blog", "Version": "3"},
                "Overrides": [{"InstanceType": "t4g.nano"}, {"InstanceType": "t4g.micro"}],
            },
            "InstancesDistribution": {
                "OnDemandAllocationStrategy": "prioritized", "OnDemandBaseCapacity": 0,
                "OnDemandPercentageAboveBaseCapacity": 0, "SpotAllocationStrategy": "capacity-optimized",
            },
        },
        "EnabledMetrics": [{"Metric": m, "Granularity": "1Minute"} for m in module_under_test.GROUP_METRICS],
        "Tags": [
            {"ResourceId": "spotkit-blog", "ResourceType": "auto-scaling-group", "Key": "spotkit:stack", "Value": "blog", "PropagateAtLaunch": True},
            {"ResourceId": "spotkit-blog", "ResourceType": "auto-scaling-group", "Key": "Name", "Value": "spotkit-blog", "PropagateAtLaunch": True},
        ],
        "Instances": [],
    }
    group.update(changes)
    return group


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = dict(PARAMS, **params)
        self.check_mode = check_mode
        self._diff = True

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


@pytest.fixture
def clients(stub):
    """Stubbed autoscaling and ec2 clients: every call must be announced, and all must be made."""
    return {service: stub(service) for service in ("autoscaling", "ec2")}


def test_a_matching_group_compares_equal_despite_aws_order_and_extra_fields():
    assert module_under_test.comparable(described()) == module_under_test.comparable(module_under_test.desired_config(PARAMS))


@pytest.mark.parametrize("changes", [
    {"MaxSize": 2},
    {"VPCZoneIdentifier": "subnet-a"},
    {"CapacityRebalance": False},
    {"HealthCheckGracePeriod": 300},
    {"InstanceMaintenancePolicy": {"MinHealthyPercentage": 90, "MaxHealthyPercentage": 200}},
    {"InstanceMaintenancePolicy": None},
    {"MixedInstancesPolicy": {"LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateName": "spotkit-blog", "Version": "2"},
                                                 "Overrides": [{"InstanceType": "t4g.nano"}, {"InstanceType": "t4g.micro"}]},
                              "InstancesDistribution": {"OnDemandBaseCapacity": 0, "OnDemandPercentageAboveBaseCapacity": 0,
                                                        "SpotAllocationStrategy": "capacity-optimized"}}},
])
def test_a_difference_in_an_owned_setting_is_seen(changes):
    assert module_under_test.comparable(described(**changes)) != module_under_test.comparable(module_under_test.desired_config(PARAMS))


def test_tag_changes():
    current = described()["Tags"]
    assert module_under_test.tag_changes(current, PARAMS["tags"], True) == ({}, [])
    assert module_under_test.tag_changes(current, {"spotkit:stack": "blog"}, True) == ({}, ["Name"])
    assert module_under_test.tag_changes(current, {"spotkit:stack": "blog"}, False) == ({}, [])
    unpropagated = [dict(tag, PropagateAtLaunch=False) for tag in current]
    assert module_under_test.tag_changes(unpropagated, PARAMS["tags"], True) == (PARAMS["tags"], [])


def test_outdated_instances_trust_the_version_ec2_recorded_on_the_instance():
    group = described(Instances=[
        {"InstanceId": "i-old", "LifecycleState": "InService", "LaunchTemplate": {"Version": "3"}},
        {"InstanceId": "i-new", "LifecycleState": "InService", "LaunchTemplate": {"Version": "3"}},
        {"InstanceId": "i-gone", "LifecycleState": "Terminating", "LaunchTemplate": {"Version": "1"}},
        {"InstanceId": "i-untagged", "LifecycleState": "Pending", "LaunchTemplate": {"Version": "2"}},
    ])
    launched = {"i-old": "2", "i-new": "3"}
    assert module_under_test.outdated_instances(group, "3", launched) == ["i-old", "i-untagged"]
    assert module_under_test.outdated_instances(None, "3", {}) == []


def test_creating_a_group_sets_capacity_rebalance_and_metrics(clients):
    autoscaling, stubber = clients["autoscaling"]
    desired = module_under_test.desired_config(PARAMS)
    stubber.add_response("create_auto_scaling_group", {}, dict(
        AutoScalingGroupName="spotkit-blog", Tags=module_under_test.tag_list("spotkit-blog", PARAMS["tags"]), **desired))
    stubber.add_response("enable_metrics_collection", {}, {
        "AutoScalingGroupName": "spotkit-blog", "Metrics": sorted(module_under_test.GROUP_METRICS), "Granularity": "1Minute"})
    stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": [described()]},
                         {"AutoScalingGroupNames": ["spotkit-blog"]})
    result = module_under_test.ensure_present(FakeModule(), autoscaling, clients["ec2"][0], None)
    assert result["changed"] is True
    assert desired["CapacityRebalance"] is True
    assert desired["MixedInstancesPolicy"]["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] == 0
    assert result["group"]["auto_scaling_group_name"] == "spotkit-blog"


def test_a_matching_group_is_left_alone(clients):
    autoscaling = clients["autoscaling"][0]
    result = module_under_test.ensure_present(FakeModule(), autoscaling, clients["ec2"][0], described())
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


def test_a_new_template_version_updates_the_group_and_names_the_outdated_instance(clients):
    autoscaling, stubber = clients["autoscaling"]
    ec2, ec2_stubber = clients["ec2"]
    old = described(MixedInstancesPolicy=dict(described()["MixedInstancesPolicy"]))
    old["MixedInstancesPolicy"]["LaunchTemplate"] = {
        "LaunchTemplateSpecification": {"LaunchTemplateName": "spotkit-blog", "Version": "2"},
        "Overrides": [{"InstanceType": "t4g.nano"}, {"InstanceType": "t4g.micro"}],
    }
    stubber.add_response("update_auto_scaling_group", {}, dict(
        AutoScalingGroupName="spotkit-blog", **module_under_test.desired_config(PARAMS)))
    instances = [{"InstanceId": "i-0123456789abcdef0", "LifecycleState": "InService", "AvailabilityZone": "eu-west-1a",
                  "HealthStatus": "Healthy", "ProtectedFromScaleIn": False,
                  "LaunchTemplate": {"LaunchTemplateName": "spotkit-blog", "Version": "3"}}]
    stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": [described(Instances=instances)]},
                         {"AutoScalingGroupNames": ["spotkit-blog"]})
    ec2_stubber.add_response("describe_instances", {"Reservations": [{"Instances": [{
        "InstanceId": "i-0123456789abcdef0", "Tags": [{"Key": "aws:ec2launchtemplate:version", "Value": "2"}]}]}]},
        {"InstanceIds": ["i-0123456789abcdef0"]})
    result = module_under_test.ensure_present(FakeModule(), autoscaling, ec2, old)
    assert result["changed"] is True
    assert result["diff"]["before"]["launch_template_version"] == "2"
    assert result["diff"]["after"]["launch_template_version"] == "3"
    assert result["outdated_instances"] == ["i-0123456789abcdef0"]


def test_check_mode_makes_no_call(clients):
    autoscaling = clients["autoscaling"][0]
    assert module_under_test.ensure_present(FakeModule(check_mode=True), autoscaling, clients["ec2"][0], None)["changed"]
    changed = described(MaxSize=3, Tags=[], EnabledMetrics=[])
    assert module_under_test.ensure_present(FakeModule(check_mode=True), autoscaling, clients["ec2"][0], changed)["changed"]
    assert module_under_test.ensure_absent(FakeModule(check_mode=True, state="absent"), autoscaling, described())["changed"]


def test_missing_metrics_and_tags_are_added(clients):
    autoscaling, stubber = clients["autoscaling"]
    stubber.add_response("enable_metrics_collection", {}, {
        "AutoScalingGroupName": "spotkit-blog", "Metrics": sorted(module_under_test.GROUP_METRICS), "Granularity": "1Minute"})
    stubber.add_response("create_or_update_tags", {}, {"Tags": module_under_test.tag_list("spotkit-blog", {"Name": "spotkit-blog"})})
    stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": [described()]}, {"AutoScalingGroupNames": ["spotkit-blog"]})
    group = described(EnabledMetrics=[], Tags=described()["Tags"][:1])
    assert module_under_test.ensure_present(FakeModule(), autoscaling, clients["ec2"][0], group)["changed"]


def test_deleting_forces_out_the_instances_and_waits_for_the_group_to_go(clients):
    autoscaling, stubber = clients["autoscaling"]
    stubber.add_response("delete_auto_scaling_group", {}, {"AutoScalingGroupName": "spotkit-blog", "ForceDelete": True})
    stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": []}, {"AutoScalingGroupNames": ["spotkit-blog"]})
    result = module_under_test.ensure_absent(FakeModule(state="absent"), autoscaling, described())
    assert result["changed"] is True
    assert module_under_test.ensure_absent(FakeModule(state="absent"), autoscaling, None)["changed"] is False


def test_only_the_metrics_asked_for_are_collected(clients):
    autoscaling, stubber = clients["autoscaling"]
    # AWS adds what EnableMetricsCollection names to what a group collects: the rest is disabled by name.
    stubber.add_response("disable_metrics_collection", {}, {
        "AutoScalingGroupName": "spotkit-blog", "Metrics": sorted(set(module_under_test.GROUP_METRICS) - {"GroupInServiceInstances"})})
    stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": [described()]}, {"AutoScalingGroupNames": ["spotkit-blog"]})
    module = FakeModule(metrics=["GroupInServiceInstances"])
    result = module_under_test.ensure_present(module, autoscaling, clients["ec2"][0], described())
    assert result["changed"] is True
    assert result["diff"]["after"]["metrics"] == ["GroupInServiceInstances"]
    collecting_one = described(EnabledMetrics=[{"Metric": "GroupInServiceInstances", "Granularity": "1Minute"}])
    assert module_under_test.ensure_present(module, autoscaling, clients["ec2"][0], collecting_one)["changed"] is False
    assert module_under_test.metrics_wanted(dict(PARAMS, metrics_collection=False)) == []


HOOK = {"name": "spotkit-launch", "heartbeat_timeout": 900, "default_result": "ABANDON"}
REFRESH = {"min_healthy_percentage": 100, "max_healthy_percentage": 200, "skip_matching": True, "auto_rollback": True}
DESCRIBED_HOOK = {"LifecycleHookName": "spotkit-launch", "AutoScalingGroupName": "spotkit-blog", "GlobalTimeout": 90000,
                  "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING", "HeartbeatTimeout": 900, "DefaultResult": "ABANDON"}
RUNNING = [{"InstanceId": "i-0123456789abcdef0", "LifecycleState": "InService", "AvailabilityZone": "eu-west-1a",
            "HealthStatus": "Healthy", "ProtectedFromScaleIn": False,
            "LaunchTemplate": {"LaunchTemplateName": "spotkit-blog", "Version": "2"}}]


def on_version(version, **changes):
    """The group as described() but on launch template `version`."""
    group = described(**changes)
    group["MixedInstancesPolicy"] = dict(group["MixedInstancesPolicy"], LaunchTemplate=dict(
        group["MixedInstancesPolicy"]["LaunchTemplate"],
        LaunchTemplateSpecification={"LaunchTemplateName": "spotkit-blog", "Version": version}))
    return group


def refreshes_under_way(stubber, *refreshes):
    """DescribeInstanceRefreshes answers these refreshes of the group, (id, status, desired launch template version) each."""
    stubber.add_response("describe_instance_refreshes", {"InstanceRefreshes": [dict(
        {"InstanceRefreshId": refresh_id, "AutoScalingGroupName": "spotkit-blog", "Status": status},
        **({"DesiredConfiguration": {"MixedInstancesPolicy": on_version(version)["MixedInstancesPolicy"]}} if version else {}))
        for refresh_id, status, version in refreshes]}, {"AutoScalingGroupName": "spotkit-blog"})


def launched_from(ec2_stubber, version):
    ec2_stubber.add_response("describe_instances", {"Reservations": [{"Instances": [{
        "InstanceId": "i-0123456789abcdef0", "Tags": [{"Key": "aws:ec2launchtemplate:version", "Value": version}]}]}]},
        {"InstanceIds": ["i-0123456789abcdef0"]})


def test_a_new_group_gets_its_launch_hook_before_its_first_instance(clients):
    autoscaling, stubber = clients["autoscaling"]
    desired = module_under_test.desired_config(PARAMS)
    stubber.add_response("create_auto_scaling_group", {}, dict(
        AutoScalingGroupName="spotkit-blog", Tags=module_under_test.tag_list("spotkit-blog", PARAMS["tags"]),
        LifecycleHookSpecificationList=[{"LifecycleHookName": "spotkit-launch", "HeartbeatTimeout": 900, "DefaultResult": "ABANDON",
                                         "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING"}], **desired))
    stubber.add_response("enable_metrics_collection", {}, {
        "AutoScalingGroupName": "spotkit-blog", "Metrics": sorted(module_under_test.GROUP_METRICS), "Granularity": "1Minute"})
    stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": [described()]}, {"AutoScalingGroupNames": ["spotkit-blog"]})
    result = module_under_test.ensure_present(FakeModule(launch_hook=HOOK), autoscaling, clients["ec2"][0], None)
    assert result["changed"] is True
    assert desired["InstanceMaintenancePolicy"] == {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200}


@pytest.mark.parametrize("hooks", [[], [dict(DESCRIBED_HOOK, HeartbeatTimeout=3600)], [dict(DESCRIBED_HOOK, DefaultResult="CONTINUE")]])
def test_a_missing_or_different_launch_hook_is_put(clients, hooks):
    autoscaling, stubber = clients["autoscaling"]
    stubber.add_response("describe_lifecycle_hooks", {"LifecycleHooks": hooks}, {"AutoScalingGroupName": "spotkit-blog"})
    stubber.add_response("put_lifecycle_hook", {}, dict(AutoScalingGroupName="spotkit-blog", **module_under_test.hook_specification(HOOK)))
    stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": [described()]}, {"AutoScalingGroupNames": ["spotkit-blog"]})
    assert module_under_test.ensure_present(FakeModule(launch_hook=HOOK), autoscaling, clients["ec2"][0], described())["changed"]


def test_a_matching_launch_hook_and_another_hook_are_left_alone(clients):
    autoscaling, stubber = clients["autoscaling"]
    other = dict(DESCRIBED_HOOK, LifecycleHookName="theirs", LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING")
    stubber.add_response("describe_lifecycle_hooks", {"LifecycleHooks": [other, DESCRIBED_HOOK]}, {"AutoScalingGroupName": "spotkit-blog"})
    assert not module_under_test.ensure_present(FakeModule(launch_hook=HOOK), autoscaling, clients["ec2"][0], described())["changed"]


def test_no_maintenance_policy_removes_the_groups(clients):
    autoscaling, stubber = clients["autoscaling"]
    desired = module_under_test.desired_config(dict(PARAMS, instance_maintenance_policy=None))
    assert desired["InstanceMaintenancePolicy"] == {"MinHealthyPercentage": -1, "MaxHealthyPercentage": -1}
    stubber.add_response("update_auto_scaling_group", {}, dict(AutoScalingGroupName="spotkit-blog", **desired))
    stubber.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": [described()]}, {"AutoScalingGroupNames": ["spotkit-blog"]})
    assert module_under_test.ensure_present(FakeModule(instance_maintenance_policy=None), autoscaling, clients["ec2"][0], described())["changed"]
    assert not module_under_test.ensure_present(FakeModule(instance_maintenance_policy=None), autoscaling, clients["ec2"][0],
                                                described(InstanceMaintenancePolicy=None))["changed"]


def test_a_new_template_version_goes_to_a_refresh_that_rolls_back_and_the_group_keeps_its_own(clients):
    autoscaling, stubber = clients["autoscaling"]
    ec2, ec2_stubber = clients["ec2"]
    desired = module_under_test.desired_config(PARAMS)
    launched_from(ec2_stubber, "2")
    refreshes_under_way(stubber, ("r-done", "RollbackSuccessful", None))
    stubber.add_response("start_instance_refresh", {"InstanceRefreshId": "r-new"}, {
        "AutoScalingGroupName": "spotkit-blog", "Strategy": "Rolling",
        "DesiredConfiguration": {"MixedInstancesPolicy": desired["MixedInstancesPolicy"]},
        "Preferences": {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200, "SkipMatching": True, "AutoRollback": True}})
    # No UpdateAutoScalingGroup: the stubber fails on any call not announced.
    result = module_under_test.ensure_present(FakeModule(refresh=REFRESH), autoscaling, ec2, on_version("2", Instances=RUNNING))
    assert result["changed"] is True
    assert result["instance_refresh"] == {"instance_refresh_id": "r-new", "status": "Pending", "started": True}
    assert result["outdated_instances"] == ["i-0123456789abcdef0"]


def test_a_refresh_under_way_to_the_same_configuration_is_left_to_run(clients):
    autoscaling, stubber = clients["autoscaling"]
    ec2, ec2_stubber = clients["ec2"]
    launched_from(ec2_stubber, "2")
    refreshes_under_way(stubber, ("r-1", "InProgress", "3"))
    result = module_under_test.ensure_present(FakeModule(refresh=REFRESH), autoscaling, ec2, on_version("2", Instances=RUNNING))
    assert result["changed"] is False
    assert result["instance_refresh"]["instance_refresh_id"] == "r-1" and result["instance_refresh"]["started"] is False


def test_a_refresh_under_way_to_another_configuration_fails_naming_it(clients):
    autoscaling, stubber = clients["autoscaling"]
    ec2, ec2_stubber = clients["ec2"]
    launched_from(ec2_stubber, "2")
    refreshes_under_way(stubber, ("r-1", "InProgress", "1"))
    with pytest.raises(AssertionError, match="r-1 .InProgress. is under way towards another configuration"):
        module_under_test.ensure_present(FakeModule(refresh=REFRESH), autoscaling, ec2, on_version("2", Instances=RUNNING))


def test_an_outdated_instance_under_an_unchanged_group_is_refreshed_without_rollback(clients):
    autoscaling, stubber = clients["autoscaling"]
    ec2, ec2_stubber = clients["ec2"]
    launched_from(ec2_stubber, "2")
    refreshes_under_way(stubber)
    stubber.add_response("start_instance_refresh", {"InstanceRefreshId": "r-2"}, {
        "AutoScalingGroupName": "spotkit-blog", "Strategy": "Rolling",
        "Preferences": {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200, "SkipMatching": True}})
    result = module_under_test.ensure_present(FakeModule(refresh=REFRESH), autoscaling, ec2, described(Instances=RUNNING))
    assert result["changed"] is True and result["instance_refresh"]["started"] is True


@pytest.mark.parametrize("pair, problem", [
    ({"min_healthy_percentage": 100, "max_healthy_percentage": 200}, False),
    ({"min_healthy_percentage": 90, "max_healthy_percentage": 100}, False),
    ({"min_healthy_percentage": 101, "max_healthy_percentage": 200}, True),
    ({"min_healthy_percentage": 50, "max_healthy_percentage": 99}, True),
    ({"min_healthy_percentage": 50, "max_healthy_percentage": 200}, True),
])
def test_healthy_percentages_follow_aws_rule(pair, problem):
    problems = module_under_test.percentage_problems(dict(PARAMS, instance_maintenance_policy=pair))
    assert bool(problems) is problem
    if problem:
        assert "instance_maintenance_policy" in problems[0] and str(pair["max_healthy_percentage"]) in problems[0]
