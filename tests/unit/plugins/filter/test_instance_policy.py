"""Unit tests for the spotkit.ec2.instance_policy filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.spotkit.ec2.plugins.filter.instance_policy import FilterModule, instance_policy

OPTIONS = {"region": "eu-west-1", "account": "123456789012", "allocation_id": "eipalloc-0abc"}
# Actions that only read, or that AWS cannot scope to a resource.
READ_ONLY = {"ec2:DescribeAddresses", "ec2:DescribeInstances"}


def statements(policy):
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def test_every_statement_is_scoped_to_the_stack():
    policy = FilterModule().filters()["instance_policy"]("blog", **OPTIONS)
    assert policy["Version"] == "2012-10-17"
    by_sid = statements(policy)
    assert by_sid["StackLogs"]["Resource"] == [
        "arn:aws:logs:eu-west-1:123456789012:log-group:/spotkit/blog/*",
        "arn:aws:logs:eu-west-1:123456789012:log-group:/spotkit/blog/*:log-stream:*",
    ]
    assert by_sid["AssociateStackAddress"]["Resource"] == ["arn:aws:ec2:eu-west-1:123456789012:elastic-ip/eipalloc-0abc"]
    assert by_sid["AssociateWithStackInstances"]["Condition"] == {"StringEquals": {"aws:ResourceTag/spotkit:stack": "blog"}}
    assert by_sid["ReadStackParameters"]["Resource"] == ["arn:aws:ssm:eu-west-1:123456789012:parameter/spotkit/blog/*"]
    assert by_sid["DecryptStackParameters"]["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}}
    assert by_sid["StackMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "spotkit"}}
    # The agent lists log groups before it sets a retention: a read-only action, scoped to log groups.
    assert by_sid["FindLogGroups"] == {
        "Sid": "FindLogGroups",
        "Effect": "Allow",
        "Action": ["logs:DescribeLogGroups"],
        "Resource": ["arn:aws:logs:eu-west-1:123456789012:log-group:*"],
    }


def test_no_write_action_is_allowed_on_every_resource_without_a_condition():
    for statement in instance_policy("blog", **OPTIONS)["Statement"]:
        assert statement["Effect"] == "Allow"
        if "*" in statement["Resource"]:
            assert set(statement["Action"]) <= READ_ONLY or "Condition" in statement, statement


def test_one_stack_cannot_reach_another_stacks_resources():
    text = str(instance_policy("blog", **OPTIONS))
    assert "/spotkit/blog/" in text
    assert "/spotkit/*" not in text and "/spotkit/b*" not in text


def test_partition_and_namespace():
    options = {**OPTIONS, "region": "cn-north-1", "partition": "aws-cn", "namespace": "custom"}
    policy = instance_policy("blog", **options)
    by_sid = statements(policy)
    assert by_sid["StackLogs"]["Resource"][0].startswith("arn:aws-cn:logs:cn-north-1:")
    assert by_sid["StackMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "custom"}}


@pytest.mark.parametrize("stack,options,message", [
    ("Blog", OPTIONS, "stack"),
    ("blog", dict(OPTIONS, account="12345"), "account"),
    ("blog", dict(OPTIONS, region="x"), "spot_region"),
    ("blog", dict(OPTIONS, allocation_id=""), "allocation_id"),
])
def test_bad_input_fails(stack, options, message):
    with pytest.raises(AnsibleFilterError, match=message):
        instance_policy(stack, **options)
