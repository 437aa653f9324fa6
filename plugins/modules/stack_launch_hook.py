#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), like the amazon.aws module_utils it builds on.

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_launch_hook
short_description: Tell the launch lifecycle hook of a stack's Auto Scaling group how this new instance's start went
version_added: 0.3.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Runs on the instance. While the instance waits on the launch hook C(spotkit-launch) of its stack's group
    C(spotkit-<stack>) (C(Pending:Wait)), it completes the hook or keeps it waiting; an instance in any other state
    (in service, or not in the group) changes nothing, so every later run of a pull is a no-op.
  - O(attempt=succeeded) (the services answer and the instance holds the stack's Elastic IP, which the module checks)
    completes the hook with C(CONTINUE). The group puts the instance in service, and only then terminates an instance
    it replaces (the group's maintenance policy).
  - O(attempt=failed) records a heartbeat, so the instance can try again (its first boot retries with a growing delay),
    until O(launch_budget) seconds have passed since its launch; then it completes the hook with C(ABANDON) and the
    group terminates it and launches another.
  - The churn cap. When the group abandoned 3 launches within 6 hours already, the instance keeps waiting instead
    (heartbeats), so that a broken stack costs one waiting instance rather than a new one every O(launch_budget). It
    serves as soon as a retry succeeds, or is abandoned at the hook's global timeout (48 hours). docs/operations.md
    says why.
  - The instance id and the region come from cloud-init's instance data, else IMDSv2, as for
    M(spotkit.ec2.stack_eip_attach).
  - Needs C(autoscaling:DescribeAutoScalingGroups), C(autoscaling:DescribeScalingActivities), C(ec2:DescribeInstances),
    C(ec2:DescribeAddresses), and C(autoscaling:CompleteLifecycleAction) and C(autoscaling:RecordLifecycleActionHeartbeat)
    on the stack's group.
options:
  stack:
    description: Name of the stack; its group is C(spotkit-<stack>), its address the one tagged C(spotkit:stack=<stack>).
    type: str
    required: true
  attempt:
    description: How this attempt to start went.
    type: str
    choices: [succeeded, failed]
    required: true
  launch_budget:
    description: Seconds from the instance's launch after which a failed attempt abandons the launch.
    type: int
    default: 1200
  instance_id:
    description: The instance. Unset means this instance, as O(instance_data_path) or IMDSv2 say.
    type: str
  instance_data_path:
    description: cloud-init's instance data. Its C(v1.instance_id) and C(v1.region) are used when present.
    type: path
    default: /run/cloud-init/instance-data.json
  imds_url:
    description: Base URL of the instance metadata service, asked (with an IMDSv2 token) only for what the instance data lacks.
    type: str
    default: http://169.254.169.254
notes:
  - Supports check mode; it then asks and reports what it would do, and changes nothing.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Put this instance in service, now that it serves and holds the address
  spotkit.ec2.stack_launch_hook:
    stack: blog
    attempt: succeeded

- name: Say that this attempt failed (a heartbeat, or ABANDON once the launch budget is spent)
  spotkit.ec2.stack_launch_hook:
    stack: blog
    attempt: failed
"""

RETURN = r"""
action:
  description: V(continue), V(heartbeat), V(abandon), or V(none) when the instance does not wait on the hook.
  returned: always
  type: str
  sample: continue
lifecycle_state:
  description: The instance's lifecycle state in its group before the module acted; empty when it is not in the group.
  returned: always
  type: str
  sample: Pending:Wait
waited:
  description: Seconds since the instance's launch (with O(attempt=failed)).
  returned: when the instance waits on the hook and the attempt failed
  type: int
abandoned_recently:
  description: Launches of the group abandoned within the last 6 hours (with O(attempt=failed)).
  returned: when the instance waits on the hook and the attempt failed
  type: int
instance_id:
  description: The instance.
  returned: always
  type: str
"""

import datetime

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible.module_utils.common.warnings import warn

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.spotkit.ec2.plugins.module_utils._handover import (
    CHURN_CAP, CHURN_WINDOW, LAUNCH_BUDGET, LAUNCH_HOOK, WAITING, abandoned_launches, after_failure,
)
from ansible_collections.spotkit.ec2.plugins.module_utils._instance import IdentityError, identity
from ansible_collections.spotkit.ec2.plugins.module_utils._stack import TAG_KEY, check_name, resource_name


class LaunchHookError(Exception):
    """The instance cannot complete the hook as asked."""


def check_params(params):
    """Problems with the options, each naming the option and the value; empty when they are fine."""
    problems = [] if params["launch_budget"] >= 0 else ["launch_budget must be 0 or more seconds; got %d" % params["launch_budget"]]
    try:
        check_name("stack", params["stack"])
    except ValueError as exc:
        problems.insert(0, str(exc))
    return problems


def lifecycle_state(autoscaling, group_name, instance_id):
    """The instance's lifecycle state in the group, or '' when it is not in it."""
    groups = autoscaling.describe_auto_scaling_groups(aws_retry=True, AutoScalingGroupNames=[group_name])["AutoScalingGroups"]
    for item in (groups[0].get("Instances") or []) if groups else []:
        if item["InstanceId"] == instance_id:
            return item.get("LifecycleState", "")
    return ""


def address_holder(ec2, stack):
    """The instance that holds the stack's Elastic IP ('' when none does)."""
    found = ec2.describe_addresses(aws_retry=True, Filters=[{"Name": "tag:%s" % TAG_KEY, "Values": [stack]}])["Addresses"]
    return found[0].get("InstanceId", "") if len(found) == 1 else ""


def decide(params, instance_id, autoscaling, ec2, now):
    """The result: action and what it was decided on. Raises LaunchHookError when a succeeded attempt lacks the address."""
    group_name = resource_name(params["stack"])
    result = {"instance_id": instance_id, "lifecycle_state": lifecycle_state(autoscaling, group_name, instance_id), "action": "none"}
    if result["lifecycle_state"] != WAITING:
        return result
    if params["attempt"] == "succeeded":
        holder = address_holder(ec2, params["stack"])
        if holder != instance_id:
            raise LaunchHookError("The services of %s answer but the Elastic IP of stack %s is %s, so the launch hook stays "
                                  "open; the next attempt tries again" % (instance_id, params["stack"],
                                                                          "on %s" % holder if holder else "not found or not associated"))
        result["action"] = "continue"
        return result
    reservations = ec2.describe_instances(aws_retry=True, InstanceIds=[instance_id])["Reservations"]
    launched = reservations[0]["Instances"][0]["LaunchTime"]
    activities = autoscaling.describe_scaling_activities(aws_retry=True, AutoScalingGroupName=group_name)["Activities"]
    result["waited"] = int((now - launched).total_seconds())
    result["abandoned_recently"] = abandoned_launches(activities, now - datetime.timedelta(seconds=CHURN_WINDOW))
    result["action"] = after_failure(result["waited"], result["abandoned_recently"], params["launch_budget"])
    return result


def act(autoscaling, group_name, instance_id, action):
    if action == "heartbeat":
        autoscaling.record_lifecycle_action_heartbeat(aws_retry=True, AutoScalingGroupName=group_name,
                                                      LifecycleHookName=LAUNCH_HOOK, InstanceId=instance_id)
    elif action in ("continue", "abandon"):
        autoscaling.complete_lifecycle_action(aws_retry=True, AutoScalingGroupName=group_name, LifecycleHookName=LAUNCH_HOOK,
                                              InstanceId=instance_id, LifecycleActionResult=action.upper())


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            stack=dict(type="str", required=True),
            attempt=dict(type="str", required=True, choices=["succeeded", "failed"]),
            launch_budget=dict(type="int", default=LAUNCH_BUDGET),
            instance_id=dict(type="str"),
            instance_data_path=dict(type="path", default="/run/cloud-init/instance-data.json"),
            imds_url=dict(type="str", default="http://169.254.169.254"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = check_params(params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        who = identity(params["instance_id"], params["region"], params["instance_data_path"], params["imds_url"])
    except IdentityError as exc:
        module.fail_json(msg=str(exc))
    retry = AWSRetry.jittered_backoff()
    autoscaling = module.client("autoscaling", region=who["region"], retry_decorator=retry)
    ec2 = module.client("ec2", region=who["region"], retry_decorator=retry)
    try:
        result = decide(params, who["instance_id"], autoscaling, ec2, datetime.datetime.now(datetime.timezone.utc))
        if result["action"] == "heartbeat" and result.get("waited", 0) >= params["launch_budget"]:
            # Straight to ansible-core, as stack_eip_attach does (AnsibleAWSModule.warn is deprecated in 2.19's eyes).
            warn("Stack %s: %d launches abandoned within 6 hours (the churn cap is %d); %s keeps waiting for a fix "
                 "instead of abandoning" % (params["stack"], result["abandoned_recently"], CHURN_CAP, who["instance_id"]))
        if not module.check_mode:
            act(autoscaling, resource_name(params["stack"]), who["instance_id"], result["action"])
    except LaunchHookError as exc:
        module.fail_json(msg=str(exc), instance_id=who["instance_id"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        group_name = resource_name(params["stack"])
        module.fail_json_aws(exc, msg="Launch hook %s of group %s for %s" % (LAUNCH_HOOK, group_name, who["instance_id"]))
    module.exit_json(changed=result["action"] != "none", **result)


if __name__ == "__main__":
    main()
