# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: instance_policy
short_description: The IAM policy of a stack's instances, scoped to that stack
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - "The inline policy of the stack's instance role: only what the on-instance roles need, only on this stack's
    resources."
  - "CloudWatch Logs: create, describe and write streams, create groups and set their retention, only under
    C(/spotkit/<stack>/)."
  - "Metrics: C(cloudwatch:PutMetricData), which has no resource-level permissions, only for the namespace
    O(namespace)."
  - "Elastic IP: C(ec2:AssociateAddress) only on this stack's address and on instances (and their network
    interfaces) tagged C(spotkit:stack=<stack>); C(ec2:DescribeAddresses) and C(ec2:DescribeInstances), read-only
    calls that support no resource, on all."
  - "Settings: C(ssm:GetParameter) only under C(/spotkit/<stack>/), and C(kms:Decrypt) only through SSM in the
    stack's region."
  - No write action is allowed on every resource without a condition.
positional: _input
options:
  _input:
    description: The stack's name.
    type: str
    required: true
  region:
    description: The stack's region.
    type: str
    required: true
  account:
    description: The AWS account id (from STS C(GetCallerIdentity), as M(spotkit.ec2.stack_info) reports it).
    type: str
    required: true
  allocation_id:
    description: Allocation id of the stack's Elastic IP.
    type: str
    required: true
  partition:
    description: The AWS partition of the account.
    type: str
    default: aws
  namespace:
    description: The CloudWatch metrics namespace the instances publish to.
    type: str
    default: spotkit
"""

EXAMPLES = r"""
- name: Allow the stack's instances what they need
  amazon.aws.iam_policy:
    iam_type: role
    iam_name: spotkit-blog
    policy_name: spotkit-blog
    policy_json: "{{ 'blog' | spotkit.ec2.instance_policy(region='eu-west-1', account='123456789012', allocation_id='eipalloc-1') }}"
"""

RETURN = r"""
_value:
  description: The policy document.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.module_utils.stack_api import check_name, check_region

TAG_KEY = "spotkit:stack"


def _statement(sid, actions, resources, condition=None):
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def build_policy(stack, region, account, allocation_id, partition="aws", namespace="spotkit"):
    """Return the policy document; raise ValueError on bad input."""
    check_name("stack", stack)
    check_region(region)
    if not isinstance(account, str) or not (account.isdigit() and len(account) == 12):
        raise ValueError("account must be a 12-digit AWS account id; got %r" % (account,))
    for what, value in (("allocation_id", allocation_id), ("partition", partition), ("namespace", namespace)):
        if not isinstance(value, str) or not value:
            raise ValueError("%s must be a non-empty string; got %r" % (what, value))

    def arn(service, resource):
        return "arn:%s:%s:%s:%s:%s" % (partition, service, region, account, resource)

    log_groups = arn("logs", "log-group:/spotkit/%s/*" % stack)
    own_tag = {"StringEquals": {"aws:ResourceTag/%s" % TAG_KEY: stack}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            _statement(
                "StackLogs",
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents",
                 "logs:PutRetentionPolicy"],
                [log_groups, log_groups + ":log-stream:*"],
            ),
            # The agent lists log groups before it sets a retention; DescribeLogGroups takes no narrower resource.
            _statement("FindLogGroups", ["logs:DescribeLogGroups"], [arn("logs", "log-group:*")]),
            _statement("StackMetrics", ["cloudwatch:PutMetricData"], ["*"],
                       {"StringEquals": {"cloudwatch:namespace": namespace}}),
            # The eip role finds the address, and amazon.aws.ec2_eip looks the instance up before associating.
            _statement("FindAddressAndInstance", ["ec2:DescribeAddresses", "ec2:DescribeInstances"], ["*"]),
            _statement("AssociateStackAddress", ["ec2:AssociateAddress"], [arn("ec2", "elastic-ip/%s" % allocation_id)]),
            _statement("AssociateWithStackInstances", ["ec2:AssociateAddress"],
                       [arn("ec2", "instance/*"), arn("ec2", "network-interface/*")], own_tag),
            _statement("ReadStackParameters", ["ssm:GetParameter"], [arn("ssm", "parameter/spotkit/%s/*" % stack)]),
            _statement("DecryptStackParameters", ["kms:Decrypt"], [arn("kms", "key/*")],
                       {"StringEquals": {"kms:ViaService": "ssm.%s.amazonaws.com" % region}}),
        ],
    }


def instance_policy(stack, **options):
    """Filter entry point: `stack | spotkit.ec2.instance_policy(region=..., account=..., allocation_id=...)`."""
    try:
        return build_policy(stack, **options)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("instance_policy: %s" % to_native(exc))


class FilterModule(object):
    """spotkit.ec2 IAM policy of a stack's instances."""

    def filters(self):
        return {"instance_policy": instance_policy}
