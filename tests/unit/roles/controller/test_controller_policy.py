"""The controller role's IAM policy template: every action named, and each on the stacks' own resources where AWS
lets a policy say so (docs/aws.md#the-controllers-policy)."""

from __future__ import annotations

import json
from pathlib import Path

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

TEMPLATE = Path(__file__).resolve().parents[4] / "roles" / "controller" / "templates" / "controller_policy.json.j2"
STACKS = [{"name": "blog", "region": "eu-west-1", "domains": ["blog.example.com"]},
          {"name": "uptime", "region": "eu-central-1", "domains": []}]
VARIABLES = {"__stacks": STACKS, "__partition": "aws", "__tag_key": "spotkit:stack",
             "__health_check_region": "us-east-1", "__policy_arns": []}
# The statements whose resource is "*": AWS takes no narrower resource for these actions (they list, or name none).
UNSCOPED = {"ReadAccount"}
# Resources that are not one of the stacks' names, and why each is acceptable.
SHARED = {
    # AWS's public Debian image parameters.
    "ReadDebianImageParameters",
    # What instances and groups are made from, or in.
    "CreateWithSharedEc2Resources",
    # Tag on create only: its condition names the create actions, which are themselves held to the stacks' tags.
    "TagEc2ResourcesAsTheyAreCreated",
    # Zone ids are unknown without an AWS call: held to the stacks' records by condition.
    "StackRecords", "ReadZones",
    # Route 53 health checks have ids only and no tag condition.
    "HealthChecks",
    # The service-linked role of Auto Scaling, by its fixed name.
    "FirstAutoScalingGroupOfTheAccount",
}


def policy(**changes):
    templar = Templar(loader=DataLoader(), variables=dict(VARIABLES, **changes))
    return json.loads(templar.template(trust_as_template(TEMPLATE.read_text())))


def statements(document=None):
    return {statement["Sid"]: statement for statement in (document or policy())["Statement"]}


def actions(document=None):
    return {action for statement in (document or policy())["Statement"] for action in statement["Action"]}


def test_every_action_is_named():
    found = actions()
    assert found and all(":" in action and "*" not in action for action in found), sorted(found)


def test_only_listing_actions_take_every_resource():
    by_sid = statements()
    everywhere = {sid for sid, statement in by_sid.items() if "*" in statement["Resource"]}
    assert everywhere == UNSCOPED
    for action in by_sid["ReadAccount"]["Action"]:
        verb = action.split(":")[1]
        assert verb.startswith(("Describe", "List", "Get")), action


def test_every_other_resource_names_a_stack_or_carries_its_tag():
    tagged = {"StringEquals": {"aws:ResourceTag/spotkit:stack": ["blog", "uptime"]}}
    for sid, statement in statements().items():
        if sid in UNSCOPED | SHARED:
            continue
        for resource in statement["Resource"]:
            assert ("spotkit-blog" in resource or "spotkit-uptime" in resource or "/spotkit/blog/" in resource
                    or "/spotkit/uptime/" in resource or statement.get("Condition") in (
                        tagged, {"StringEquals": {"aws:RequestTag/spotkit:stack": ["blog", "uptime"]}})), (sid, resource)


def test_names_are_whole_stack_names():
    # spotkit-blog and spotkit-blog-..., never spotkit-blog*, which would take in a stack named blogger.
    for statement in statements().values():
        for resource in statement["Resource"]:
            assert "spotkit-blog*" not in resource and "/spotkit/blog*" not in resource, resource


def test_pass_role_gives_the_stacks_instance_roles_to_ec2_only():
    by_sid = statements()
    passing = [sid for sid, statement in by_sid.items() if "iam:PassRole" in statement["Action"]]
    assert passing == ["PassInstanceRoles"]
    assert by_sid["PassInstanceRoles"] == {
        "Sid": "PassInstanceRoles", "Effect": "Allow", "Action": ["iam:PassRole"],
        "Resource": ["arn:aws:iam::*:role/spotkit-blog-eu-west-1", "arn:aws:iam::*:role/spotkit-uptime-eu-central-1"],
        "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}


def test_ec2_writes_are_held_to_the_stacks_tags():
    by_sid = statements()
    assert by_sid["ChangeStackEc2Resources"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/spotkit:stack": ["blog", "uptime"]}}
    assert by_sid["CreateTaggedEc2Resources"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/spotkit:stack": ["blog", "uptime"]}}
    assert "arn:aws:ec2:eu-central-1:*:instance/*" in by_sid["ChangeStackEc2Resources"]["Resource"]
    # Nothing in a region without a stack.
    assert not [r for r in by_sid["ChangeStackEc2Resources"]["Resource"] if ":us-east-1:" in r]


def test_each_stack_may_hold_its_lock_parameter():
    lock = statements()["StackLocks"]
    assert sorted(lock["Action"]) == ["ssm:DeleteParameter", "ssm:GetParameter", "ssm:PutParameter"]
    # Each in its own stack's region.
    assert lock["Resource"] == ["arn:aws:ssm:eu-west-1:*:parameter/spotkit/blog/lock",
                                "arn:aws:ssm:eu-central-1:*:parameter/spotkit/uptime/lock"]


def test_records_change_only_for_the_stacks_domains():
    records = statements()["StackRecords"]
    assert records["Action"] == ["route53:ChangeResourceRecordSets"]
    assert records["Condition"] == {"ForAllValues:StringEquals": {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["blog.example.com"],
        "route53:ChangeResourceRecordSetsRecordTypes": ["A"]}}


def test_no_domain_no_record_rights():
    by_sid = statements(policy(__stacks=[dict(STACKS[0], domains=[])]))
    assert "StackRecords" not in by_sid and "ReadZones" not in by_sid


def test_alarms_and_topics_reach_the_health_check_region():
    by_sid = statements()
    assert "arn:aws:sns:us-east-1:*:spotkit-blog-*" in by_sid["StackTopics"]["Resource"]
    assert "arn:aws:cloudwatch:us-east-1:*:alarm:spotkit-uptime-*" in by_sid["StackAlarms"]["Resource"]


def test_only_declared_managed_policies_may_be_attached():
    assert "iam:AttachRolePolicy" not in actions()
    arn = "arn:aws:iam::123456789012:policy/site-assets"
    attach = statements(policy(__policy_arns=[arn]))["AttachDeclaredPolicies"]
    assert attach["Action"] == ["iam:AttachRolePolicy"]
    assert attach["Condition"] == {"ArnEquals": {"iam:PolicyARN": [arn]}}


def test_another_partition():
    for statement in policy(__partition="aws-cn")["Statement"]:
        assert all(resource == "*" or resource.startswith("arn:aws-cn:") for resource in statement["Resource"])


def test_state_buckets_are_the_stacks_own_by_their_default_or_given_name():
    default = statements()["StackStateBuckets"]["Resource"]
    assert default == ["arn:aws:s3:::spotkit-blog-eu-west-1-*", "arn:aws:s3:::spotkit-blog-eu-west-1-*/*",
                       "arn:aws:s3:::spotkit-uptime-eu-central-1-*", "arn:aws:s3:::spotkit-uptime-eu-central-1-*/*"]
    named = policy(__stacks=[dict(STACKS[0], state_bucket="blog-state"), STACKS[1]])
    assert statements(named)["StackStateBuckets"]["Resource"][:2] == ["arn:aws:s3:::blog-state", "arn:aws:s3:::blog-state/*"]
    # Nothing on the bucket's objects but their deletion at teardown.
    assert {action for action in statements()["StackStateBuckets"]["Action"] if "Object" in action} == {
        "s3:DeleteObject", "s3:DeleteObjectVersion"}
