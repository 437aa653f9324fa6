"""The calls that the sandbox's AWS emulator adds to moto (sandbox/emulator/moto_gaps.py, moto_lifecycle.py), asked of
the emulator directly with boto3."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from stacks import IMAGES

NAME = "spotkit-emulator-test"


@pytest.fixture()
def clients(aws):
    aws.reset()
    return aws.client("ec2"), aws.client("autoscaling")


def user_data(text):
    return base64.b64encode(text.encode()).decode()


def group_version(version):
    return {"LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateName": NAME, "Version": version},
                               "Overrides": [{"InstanceType": "t3.nano"}, {"InstanceType": "t3.micro"}]}}


def instances(autoscaling):
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"][0]
    return [instance["InstanceId"] for instance in group["Instances"]]


def launched_user_data(ec2, instance_id):
    value = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")["UserData"]["Value"]
    return base64.b64decode(value).decode()


def test_a_group_launches_from_a_later_template_version_with_its_user_data(clients):
    ec2, autoscaling = clients
    ec2.create_launch_template(LaunchTemplateName=NAME, LaunchTemplateData={"ImageId": "ami-12c6146b", "UserData": user_data("one")})
    ec2.create_launch_template_version(LaunchTemplateName=NAME, LaunchTemplateData={"ImageId": "ami-12c6146b", "UserData": user_data("two")})
    autoscaling.create_auto_scaling_group(AutoScalingGroupName=NAME, MinSize=1, MaxSize=1, DesiredCapacity=1,
                                          AvailabilityZones=["eu-west-1a"], MixedInstancesPolicy=group_version("2"))
    (instance,) = instances(autoscaling)
    assert launched_user_data(ec2, instance) == "two"


def test_instance_refresh_replaces_only_outdated_instances(clients):
    ec2, autoscaling = clients
    ec2.create_launch_template(LaunchTemplateName=NAME, LaunchTemplateData={"ImageId": "ami-12c6146b", "UserData": user_data("one")})
    autoscaling.create_auto_scaling_group(AutoScalingGroupName=NAME, MinSize=1, MaxSize=1, DesiredCapacity=1,
                                          AvailabilityZones=["eu-west-1a"], MixedInstancesPolicy=group_version("1"))
    (first,) = instances(autoscaling)

    unchanged = autoscaling.start_instance_refresh(AutoScalingGroupName=NAME)["InstanceRefreshId"]
    assert instances(autoscaling) == [first]

    ec2.create_launch_template_version(LaunchTemplateName=NAME, LaunchTemplateData={"ImageId": "ami-12c6146b", "UserData": user_data("two")})
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=NAME, MixedInstancesPolicy=group_version("2"))
    replacing = autoscaling.start_instance_refresh(AutoScalingGroupName=NAME, Preferences={"MinHealthyPercentage": 100})["InstanceRefreshId"]

    (second,) = instances(autoscaling)
    assert second != first
    assert launched_user_data(ec2, second) == "two"
    state = ec2.describe_instances(InstanceIds=[first])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "terminated"
    refreshes = autoscaling.describe_instance_refreshes(AutoScalingGroupName=NAME)["InstanceRefreshes"]
    assert [(r["InstanceRefreshId"], r["Status"], r["PercentageComplete"]) for r in refreshes] == [
        (replacing, "Successful", 100), (unchanged, "Successful", 100)]
    assert refreshes[0]["Preferences"]["MinHealthyPercentage"] == 100


def test_delete_launch_template_versions_keeps_the_default(clients):
    ec2, _autoscaling = clients
    ec2.create_launch_template(LaunchTemplateName=NAME, LaunchTemplateData={"ImageId": "ami-12c6146b"})
    for _version in (2, 3):
        ec2.create_launch_template_version(LaunchTemplateName=NAME, LaunchTemplateData={"ImageId": "ami-12c6146b"})

    result = ec2.delete_launch_template_versions(LaunchTemplateName=NAME, Versions=["1", "2", "9"])

    assert [item["VersionNumber"] for item in result["SuccessfullyDeletedLaunchTemplateVersions"]] == [2]
    assert {item["VersionNumber"]: item["ResponseError"]["Code"] for item in result["UnsuccessfullyDeletedLaunchTemplateVersions"]} == {
        1: "launchTemplateVersionIsDefaultVersion", 9: "launchTemplateVersionDoesNotExist"}
    described = ec2.describe_launch_template_versions(LaunchTemplateName=NAME)["LaunchTemplateVersions"]
    assert sorted(version["VersionNumber"] for version in described) == [1, 3]
    with pytest.raises(ClientError, match="VersionNotFound"):
        ec2.describe_launch_template_versions(LaunchTemplateName=NAME, Versions=["2"])
    ec2.delete_launch_template(LaunchTemplateName=NAME)
    assert ec2.describe_launch_templates()["LaunchTemplates"] == []


@pytest.mark.parametrize("release", ["12", "13"])
def test_debian_publishes_an_image_of_each_architecture(aws, release):
    ssm, ec2 = aws.client("ssm"), aws.client("ec2")
    for architecture, expected in (("amd64", "x86_64"), ("arm64", "arm64")):
        name = "/aws/service/debian/release/%s/latest/%s" % (release, architecture)
        parameter = ssm.get_parameter(Name=name)["Parameter"]
        assert parameter["DataType"] == "aws:ec2:image"
        [image] = ec2.describe_images(ImageIds=[parameter["Value"]])["Images"]
        assert image["Architecture"] == expected
        assert parameter["Value"] == IMAGES[expected]


def test_debian_image_parameters_are_found_by_path_and_only_where_moto_has_public_images(aws):
    found = aws.client("ssm").get_parameters_by_path(Path="/aws/service/debian/release/13", Recursive=True)["Parameters"]
    assert sorted(parameter["Name"].rsplit("/", 1)[1] for parameter in found) == ["amd64", "arm64"]
    with pytest.raises(ClientError, match="ParameterNotFound"):
        aws.client("ssm", region="mx-central-1").get_parameter(Name="/aws/service/debian/release/13/latest/arm64")


def test_a_bucket_policys_conditional_statements_are_left_out_of_its_object_checks(aws):
    aws.reset()
    s3, bucket = aws.client("s3"), "spotkit-emulator-test-state"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::%s/*" % bucket}
    conditional = dict(deny, Condition={"Bool": {"aws:SecureTransport": "false"}})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [conditional]}))
    s3.put_object(Bucket=bucket, Key="state/web.tar.gz", Body=b"state")
    assert s3.get_object(Bucket=bucket, Key="state/web.tar.gz")["Body"].read() == b"state"
    # A statement without a condition still denies, as moto has it.
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [conditional, deny]}))
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key="state/web.tar.gz")


# --- sandbox/emulator/moto_lifecycle.py: launch hooks, maintenance policy, refresh configuration ---------------

HOOK = {"LifecycleHookName": "spotkit-launch", "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
        "HeartbeatTimeout": 900, "DefaultResult": "ABANDON"}


def hooked_group(ec2, autoscaling, capacity_rebalance=False, **hook):
    ec2.create_launch_template(LaunchTemplateName=NAME, LaunchTemplateData={"ImageId": "ami-12c6146b"})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=NAME, MinSize=1, MaxSize=1, DesiredCapacity=1, AvailabilityZones=["eu-west-1a"],
        MixedInstancesPolicy=group_version("1"), LifecycleHookSpecificationList=[dict(HOOK, **hook)],
        InstanceMaintenancePolicy={"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200}, CapacityRebalance=capacity_rebalance)
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"][0]
    return group


def states(autoscaling):
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"][0]
    return [(instance["InstanceId"], instance["LifecycleState"]) for instance in group["Instances"]]


def complete(autoscaling, instance, result):
    autoscaling.complete_lifecycle_action(AutoScalingGroupName=NAME, LifecycleHookName="spotkit-launch", InstanceId=instance,
                                          LifecycleActionResult=result)


def test_the_first_instance_waits_on_the_hook_created_with_the_group_until_continue(clients):
    ec2, autoscaling = clients
    group = hooked_group(ec2, autoscaling)
    assert group["InstanceMaintenancePolicy"] == {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200}
    [(first, state)] = states(autoscaling)
    assert state == "Pending:Wait"
    autoscaling.record_lifecycle_action_heartbeat(AutoScalingGroupName=NAME, LifecycleHookName="spotkit-launch", InstanceId=first)
    complete(autoscaling, first, "CONTINUE")
    assert states(autoscaling) == [(first, "InService")]
    [launch] = autoscaling.describe_scaling_activities(AutoScalingGroupName=NAME)["Activities"]
    assert launch["StatusCode"] == "Successful" and launch["Description"].endswith(first)
    # As on AWS: no second completion, and none for an instance that does not wait.
    with pytest.raises(ClientError, match="No active Lifecycle Action found with instance ID %s" % first):
        complete(autoscaling, first, "CONTINUE")


def test_an_abandoned_instance_is_replaced_and_its_launch_is_a_cancelled_activity(clients):
    ec2, autoscaling = clients
    hooked_group(ec2, autoscaling)
    [(first, _state)] = states(autoscaling)
    complete(autoscaling, first, "ABANDON")
    [(second, state)] = states(autoscaling)
    assert second != first and state == "Pending:Wait"
    assert ec2.describe_instances(InstanceIds=[first])["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated"
    [abandoned] = autoscaling.describe_scaling_activities(AutoScalingGroupName=NAME)["Activities"]
    assert abandoned["StatusCode"] == "Cancelled" and "ABANDON" in abandoned["StatusMessage"]


def test_the_heartbeat_timeout_applies_the_default_result(clients):
    ec2, autoscaling = clients
    hooked_group(ec2, autoscaling, HeartbeatTimeout=1, DefaultResult="CONTINUE")
    [(first, _state)] = states(autoscaling)
    time.sleep(1.5)
    assert states(autoscaling) == [(first, "InService")]


def test_an_update_keeps_the_launch_settings_and_sets_the_maintenance_policy_and_the_group_takes_its_hooks_along(clients):
    ec2, autoscaling = clients
    hooked_group(ec2, autoscaling)
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=NAME, HealthCheckGracePeriod=60,
                                          InstanceMaintenancePolicy={"MinHealthyPercentage": 90, "MaxHealthyPercentage": 120})
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"][0]
    assert group["InstanceMaintenancePolicy"] == {"MinHealthyPercentage": 90, "MaxHealthyPercentage": 120}
    assert group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] == "1"
    autoscaling.delete_auto_scaling_group(AutoScalingGroupName=NAME, ForceDelete=True)
    assert autoscaling.describe_lifecycle_hooks(AutoScalingGroupName=NAME)["LifecycleHooks"] == []


def test_a_refresh_with_a_desired_configuration_gives_it_to_the_group_and_keeps_it(clients):
    ec2, autoscaling = clients
    hooked_group(ec2, autoscaling)
    [(first, _state)] = states(autoscaling)
    ec2.create_launch_template_version(LaunchTemplateName=NAME, LaunchTemplateData={"ImageId": "ami-12c6146b"})
    preferences = {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200, "SkipMatching": True, "AutoRollback": True}
    autoscaling.start_instance_refresh(AutoScalingGroupName=NAME, Preferences=preferences,
                                       DesiredConfiguration={"MixedInstancesPolicy": group_version("2")})
    [refresh] = autoscaling.describe_instance_refreshes(AutoScalingGroupName=NAME)["InstanceRefreshes"]
    assert refresh["Preferences"] == preferences
    assert refresh["DesiredConfiguration"]["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] == "2"
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"][0]
    assert group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] == "2"
    [(replacement, state)] = states(autoscaling)
    assert replacement != first and state == "Pending:Wait"


def refresh_to_version_2(ec2, autoscaling):
    """A hooked group whose first instance is in service, refreshed launch first to template version 2; returns
    (the first instance, its replacement, the refresh id)."""
    hooked_group(ec2, autoscaling)
    [(first, _state)] = states(autoscaling)
    complete(autoscaling, first, "CONTINUE")
    ec2.create_launch_template_version(LaunchTemplateName=NAME, LaunchTemplateData={"ImageId": "ami-12c6146b"})
    preferences = {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200, "SkipMatching": True, "AutoRollback": True}
    refresh_id = autoscaling.start_instance_refresh(AutoScalingGroupName=NAME, Preferences=preferences,
                                                    DesiredConfiguration={"MixedInstancesPolicy": group_version("2")})["InstanceRefreshId"]
    [replacement] = [instance for instance, state in states(autoscaling) if instance != first]
    assert sorted(states(autoscaling)) == sorted([(first, "InService"), (replacement, "Pending:Wait")])
    return first, replacement, refresh_id


def refresh_of(autoscaling, refresh_id):
    return autoscaling.describe_instance_refreshes(AutoScalingGroupName=NAME, InstanceRefreshIds=[refresh_id])["InstanceRefreshes"][0]


def test_a_refresh_launches_first_and_terminates_once_the_new_instance_is_in_service(clients):
    ec2, autoscaling = clients
    first, replacement, refresh_id = refresh_to_version_2(ec2, autoscaling)
    assert refresh_of(autoscaling, refresh_id)["Status"] == "InProgress"

    complete(autoscaling, replacement, "CONTINUE")

    assert states(autoscaling) == [(replacement, "InService")]
    assert refresh_of(autoscaling, refresh_id)["Status"] == "Successful"
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 1
    assert group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] == "2"


def test_a_refresh_whose_new_instance_is_abandoned_rolls_back_and_the_old_one_stays(clients):
    ec2, autoscaling = clients
    first, replacement, refresh_id = refresh_to_version_2(ec2, autoscaling)

    complete(autoscaling, replacement, "ABANDON")

    assert states(autoscaling) == [(first, "InService")]
    refresh = refresh_of(autoscaling, refresh_id)
    assert refresh["Status"] == "RollbackSuccessful" and replacement in refresh["StatusReason"], refresh
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 1
    assert group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["Version"] == "1"


def test_an_instance_terminated_while_it_waits_leaves_no_action_behind(clients):
    ec2, autoscaling = clients
    hooked_group(ec2, autoscaling, HeartbeatTimeout=1)
    [(first, _state)] = states(autoscaling)
    autoscaling.terminate_instance_in_auto_scaling_group(InstanceId=first, ShouldDecrementDesiredCapacity=False)
    [(second, state)] = states(autoscaling)
    assert second != first and state == "Pending:Wait"
    time.sleep(1.5)
    # The second one's timeout abandons it (the default result); the first one's is gone with it.
    [(third, state)] = states(autoscaling)
    assert third not in (first, second) and state == "Pending:Wait"
    with pytest.raises(ClientError, match="No active Lifecycle Action found with instance ID %s" % first):
        complete(autoscaling, first, "CONTINUE")


# --- sandbox/emulator/ec2_signals.py: a rebalance recommendation, and capacity rebalancing -----------------------


def recommend_rebalance(aws, instance):
    """(status, answer) of the emulator's stand-in for EC2's rebalance recommendation."""
    request = urllib.request.Request("%s/spotkit-emulator/rebalance-recommendation?InstanceId=%s" % (aws.url, instance), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def rebalancing_group(ec2, autoscaling):
    hooked_group(ec2, autoscaling, capacity_rebalance=True)
    [(first, _state)] = states(autoscaling)
    complete(autoscaling, first, "CONTINUE")
    return first


def test_capacity_rebalancing_launches_first_and_terminates_once_the_replacement_is_in_service(aws, clients):
    ec2, autoscaling = clients
    first = rebalancing_group(ec2, autoscaling)

    status, answer = recommend_rebalance(aws, first)

    assert status == 200 and answer["Group"] == NAME, answer
    replacement = answer["Replacement"]
    assert sorted(states(autoscaling)) == sorted([(first, "InService"), (replacement, "Pending:Wait")])
    complete(autoscaling, replacement, "CONTINUE")
    assert states(autoscaling) == [(replacement, "InService")]
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 1
    assert ec2.describe_instances(InstanceIds=[first])["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated"


def test_an_abandoned_rebalancing_replacement_leaves_the_instance_in_service(aws, clients):
    ec2, autoscaling = clients
    first = rebalancing_group(ec2, autoscaling)
    replacement = recommend_rebalance(aws, first)[1]["Replacement"]

    complete(autoscaling, replacement, "ABANDON")

    assert states(autoscaling) == [(first, "InService")]
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[NAME])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 1


def test_a_rebalance_recommendation_without_capacity_rebalancing_or_group(aws, clients):
    ec2, autoscaling = clients
    hooked_group(ec2, autoscaling)
    [(first, _state)] = states(autoscaling)
    assert recommend_rebalance(aws, first) == (200, {"InstanceId": first, "Group": NAME, "Replacement": None})
    assert states(autoscaling) == [(first, "Pending:Wait")]
    status, answer = recommend_rebalance(aws, "i-00000000000000000")
    assert status == 404 and "no Auto Scaling group holds instance i-00000000000000000" in answer["message"]
