"""The spot_instance role's IAM policy template: what a stack's instances may do, on that stack's resources only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

TEMPLATE = Path(__file__).resolve().parents[4] / "roles" / "spot_instance" / "templates" / "instance_policy.json.j2"
VARIABLES = {"__stack": "blog", "__region": "eu-west-1", "__account": "123456789012", "__partition": "aws",
             "__allocation_id": "eipalloc-0abc", "__namespace": "spotkit", "__tag_key": "spotkit:stack",
             "__topic": "spotkit-blog-eu-west-1", "__group": "spotkit-blog", "__parameters": ["/spotkit/blog/env", "/spotkit/blog/deploy-key"],
             "__bake_tags": ["spotkit:bake", "spotkit:bake-error"], "__state_bucket": "spotkit-blog-eu-west-1-123456789012",
             "__session_manager": True}
PARAMETER_ARNS = ["arn:aws:ssm:eu-west-1:123456789012:parameter/spotkit/blog/env",
                  "arn:aws:ssm:eu-west-1:123456789012:parameter/spotkit/blog/deploy-key"]
# Actions that only read, or that AWS cannot scope to a resource.
READ_ONLY = {"ec2:DescribeAddresses", "ec2:DescribeInstances", "ec2:DescribeTags", "autoscaling:DescribeAutoScalingGroups",
             "autoscaling:DescribeScalingActivities"}
# What the SSM Agent needs for Session Manager, exactly (AWS's minimal instance profile for it): the ssmmessages
# actions have no resource type, and the agent registers the instance it runs on.
SESSION_MANAGER = ["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                   "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]


def policy(**changes):
    templar = Templar(loader=DataLoader(), variables=dict(VARIABLES, **changes))
    return json.loads(templar.template(trust_as_template(TEMPLATE.read_text())))


def statements(document):
    return {statement["Sid"]: statement for statement in document["Statement"]}


def test_every_statement_is_scoped_to_the_stack():
    document = policy()
    assert document["Version"] == "2012-10-17"
    by_sid = statements(document)
    assert by_sid["StackLogs"]["Resource"] == [
        "arn:aws:logs:eu-west-1:123456789012:log-group:/spotkit/blog/*",
        "arn:aws:logs:eu-west-1:123456789012:log-group:/spotkit/blog/*:log-stream:*",
    ]
    assert by_sid["AssociateStackAddress"]["Resource"] == ["arn:aws:ec2:eu-west-1:123456789012:elastic-ip/eipalloc-0abc"]
    assert by_sid["AssociateWithStackInstances"]["Condition"] == {"StringEquals": {"aws:ResourceTag/spotkit:stack": "blog"}}
    # The parameters the instance reads, by name: no other parameter of the stack, nor of the account.
    assert by_sid["ReadStackParameters"]["Resource"] == PARAMETER_ARNS
    # Whatever key encrypts them (a customer managed key's policy may defer to IAM), only through SSM and only these.
    assert by_sid["DecryptStackParameters"]["Condition"] == {"StringEquals": {
        "kms:ViaService": "ssm.eu-west-1.amazonaws.com", "kms:EncryptionContext:PARAMETER_ARN": PARAMETER_ARNS}}
    assert by_sid["StackMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "spotkit"}}
    # The interruption watcher publishes what the instance is told to the stack's own topic.
    assert by_sid["PublishToStackTopic"]["Action"] == ["sns:Publish"]
    assert by_sid["PublishToStackTopic"]["Resource"] == ["arn:aws:sns:eu-west-1:123456789012:spotkit-blog-eu-west-1"]
    # The watcher detaches this instance from the stack's own group, and from no other.
    assert by_sid["DetachFromStackGroup"]["Action"] == ["autoscaling:DetachInstances"]
    assert by_sid["DetachFromStackGroup"]["Resource"] == [
        "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/spotkit-blog"]
    # A new instance completes the launch hook of the stack's own group, and of no other.
    assert by_sid["CompleteLaunchInStackGroup"]["Action"] == [
        "autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"]
    assert by_sid["CompleteLaunchInStackGroup"]["Resource"] == by_sid["DetachFromStackGroup"]["Resource"]
    # The agent lists log groups before it sets a retention: a read-only action, scoped to log groups.
    assert by_sid["FindLogGroups"] == {
        "Sid": "FindLogGroups",
        "Effect": "Allow",
        "Action": ["logs:DescribeLogGroups"],
        "Resource": ["arn:aws:logs:eu-west-1:123456789012:log-group:*"],
    }


def test_a_builder_may_tag_the_stacks_instances_with_its_bake_outcome_only():
    statement = statements(policy())["TagBakeOutcome"]
    assert statement["Action"] == ["ec2:CreateTags"]
    assert statement["Resource"] == ["arn:aws:ec2:eu-west-1:123456789012:instance/*"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:ResourceTag/spotkit:stack": "blog"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["spotkit:bake", "spotkit:bake-error"]},
        "StringEqualsIfExists": {"aws:RequestTag/spotkit:bake": ["done", "failed"]},
    }
    # No other statement allows tagging.
    others = [s for s in policy()["Statement"] if s["Sid"] != "TagBakeOutcome"]
    assert not any("ec2:CreateTags" in s["Action"] for s in others)


def test_no_write_action_is_allowed_on_every_resource_without_a_condition():
    for statement in policy()["Statement"]:
        assert statement["Effect"] == "Allow"
        if "*" in statement["Resource"]:
            assert set(statement["Action"]) <= READ_ONLY or "Condition" in statement or statement["Action"] == SESSION_MANAGER, statement


def test_one_stack_cannot_reach_another_stacks_resources():
    text = json.dumps(policy())
    assert "/spotkit/blog/" in text
    assert "/spotkit/*" not in text and "/spotkit/b*" not in text


def test_partition_region_and_namespace():
    by_sid = statements(policy(__region="cn-north-1", __partition="aws-cn", __namespace="custom"))
    assert by_sid["StackLogs"]["Resource"][0].startswith("arn:aws-cn:logs:cn-north-1:")
    assert by_sid["StackMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "custom"}}
    assert by_sid["DecryptStackParameters"]["Condition"]["StringEquals"]["kms:ViaService"] == "ssm.cn-north-1.amazonaws.com"
    assert by_sid["ReadStackParameters"]["Resource"][0] == "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/spotkit/blog/env"


@pytest.mark.parametrize("parameters", [["/spotkit/blog/env"], ["/spotkit/blog/deploy-key"]])
def test_one_parameter_read_and_decrypted(parameters):
    by_sid = statements(policy(__parameters=parameters))
    arns = ["arn:aws:ssm:eu-west-1:123456789012:parameter" + parameters[0]]
    assert by_sid["ReadStackParameters"]["Resource"] == arns
    assert by_sid["DecryptStackParameters"]["Condition"]["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"] == arns


def test_no_parameter_no_ssm_nor_kms():
    document = policy(__parameters=[], __session_manager=False)
    assert {"ReadStackParameters", "DecryptStackParameters"}.isdisjoint(statements(document))
    actions = {action for statement in document["Statement"] for action in statement["Action"]}
    assert not {action for action in actions if action.startswith(("ssm:", "kms:"))}


def test_the_state_bucket_read_and_written_under_state_only_and_listed():
    by_sid = statements(policy(__partition="aws-cn"))
    assert by_sid["StackState"]["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert by_sid["StackState"]["Resource"] == ["arn:aws-cn:s3:::spotkit-blog-eu-west-1-123456789012/state/*"]
    assert by_sid["ListStackState"]["Action"] == ["s3:ListBucket"]
    assert by_sid["ListStackState"]["Resource"] == ["arn:aws-cn:s3:::spotkit-blog-eu-west-1-123456789012"]


def test_no_state_bucket_no_s3():
    document = policy(__state_bucket="")
    assert not {action for statement in document["Statement"] for action in statement["Action"] if action.startswith("s3:")}


def test_session_manager_gets_what_the_agent_needs_and_no_more():
    # Without a state bucket, whose own statements are the only s3 ones (test above).
    document = policy(__state_bucket="")
    assert statements(document)["SessionManager"] == {
        "Sid": "SessionManager", "Effect": "Allow", "Action": SESSION_MANAGER, "Resource": ["*"]}
    actions = {action for statement in document["Statement"] for action in statement["Action"]}
    # No Run Command channel, no documents or associations, no session logs to S3.
    assert not {action for action in actions if action.startswith(("ec2messages:", "s3:"))}
    assert {action for action in actions if action.startswith(("ssm:", "ssmmessages:"))} == set(SESSION_MANAGER) | {"ssm:GetParameter"}


def test_without_session_manager_no_ssm_agent_permissions():
    document = policy(__session_manager=False)
    assert "SessionManager" not in statements(document)
    assert not any(action.startswith("ssmmessages:") or action == "ssm:UpdateInstanceInformation"
                   for statement in document["Statement"] for action in statement["Action"])
