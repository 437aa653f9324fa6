#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), like the amazon.aws module_utils it builds on.

from __future__ import annotations

DOCUMENTATION = r"""
module: spot_autoscaling_group
short_description: An Auto Scaling group that keeps a fixed number of spot instances running
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Creates, updates or deletes an EC2 Auto Scaling group whose instances are all spot instances, launched from one
    launch template with several instance types (a mixed instances policy), across the given subnets.
  - Minimum, maximum and desired capacity are all O(size). On-demand base capacity and on-demand percentage are 0.
  - Unlike M(amazon.aws.autoscaling_group), it sets capacity rebalancing, so that the group launches a replacement
    when AWS signals that a spot instance is at elevated risk of interruption.
  - Returns the instances that were not launched from the requested launch template version (as EC2 recorded it
    in their C(aws:ec2launchtemplate:version) tag), so that a task can start an instance refresh
    (M(amazon.aws.autoscaling_instance_refresh)) when the template changed.
options:
  name:
    description: Name of the group.
    type: str
    required: true
  state:
    description: Whether the group exists. Deleting it terminates its instances.
    type: str
    choices: [present, absent]
    default: present
  launch_template:
    description: The launch template of the instances. Required when O(state=present).
    type: dict
    suboptions:
      name:
        description: Name of the launch template.
        type: str
        required: true
      version:
        description: Version of the launch template, a number or V($Default) or V($Latest).
        type: str
        required: true
  instance_types:
    description: Instance types the group may launch, one architecture. Required when O(state=present).
    type: list
    elements: str
  subnet_ids:
    description: Subnets (one per availability zone) the group launches into. Required when O(state=present).
    type: list
    elements: str
  size:
    description: Number of instances, which is the minimum, maximum and desired capacity at once.
    type: int
    default: 1
  spot_allocation_strategy:
    description: How the group picks the spot capacity pool.
    type: str
    choices: [capacity-optimized, price-capacity-optimized, lowest-price]
    default: capacity-optimized
  capacity_rebalance:
    description: Launch a replacement when AWS signals that a spot instance is at elevated risk of interruption.
    type: bool
    default: true
  metrics_collection:
    description: Publish the group's metrics (C(GroupInServiceInstances) and others) to CloudWatch every minute.
    type: bool
    default: true
  metrics:
    description:
      - The group metrics to publish with O(metrics_collection), e.g. V(GroupInServiceInstances); the others are not
        published. When left out, the eight C(Group*) instance and capacity metrics.
    type: list
    elements: str
  tags:
    description: Tags of the group, propagated to the instances it launches.
    type: dict
    default: {}
  purge_tags:
    description: Remove tags of the group that O(tags) does not list.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for a deleted group (and its instances) to be gone.
    type: int
    default: 600
notes:
  - Supports check mode and diff mode.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Keep one spot instance of the blog stack running
  spotkit.ec2.spot_autoscaling_group:
    name: spotkit-blog
    launch_template:
      name: spotkit-blog
      version: "3"
    instance_types: [t4g.nano, t4g.micro]
    subnet_ids: [subnet-0a1b2c3d, subnet-4e5f6a7b]
    tags:
      spotkit:stack: blog
  register: group

- name: Remove the group and its instances
  spotkit.ec2.spot_autoscaling_group:
    name: spotkit-blog
    state: absent
"""

RETURN = r"""
group:
  description: The group as AWS describes it, with snake_case keys; empty when it does not exist.
  returned: always
  type: dict
  sample:
    auto_scaling_group_name: spotkit-blog
    capacity_rebalance: true
    desired_capacity: 1
outdated_instances:
  description: Ids of the group's instances not launched from O(launch_template.version).
  returned: always
  type: list
  elements: str
  sample: [i-0123456789abcdef0]
"""

import time

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

METRICS_GRANULARITY = "1Minute"
# Named, because without a list AWS enables all of them but other implementations enable none.
GROUP_METRICS = (
    "GroupMinSize", "GroupMaxSize", "GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances",
    "GroupStandbyInstances", "GroupTerminatingInstances", "GroupTotalInstances",
)
# EC2 tags each instance with the launch template version it was launched from. Auto Scaling also
# reports a version per instance, but some implementations report the template's current one.
LAUNCHED_VERSION_TAG = "aws:ec2launchtemplate:version"
# Instances on their way out do not need a refresh.
LEAVING_STATES = ("Terminating", "Terminating:Wait", "Terminating:Proceed", "Terminated")


def desired_config(params):
    """The group settings this module owns, as the CreateAutoScalingGroup API spells them."""
    size = params["size"]
    return {
        "MinSize": size,
        "MaxSize": size,
        "DesiredCapacity": size,
        "VPCZoneIdentifier": ",".join(params["subnet_ids"]),
        "CapacityRebalance": params["capacity_rebalance"],
        "MixedInstancesPolicy": {
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {
                    "LaunchTemplateName": params["launch_template"]["name"],
                    "Version": params["launch_template"]["version"],
                },
                "Overrides": [{"InstanceType": instance_type} for instance_type in params["instance_types"]],
            },
            "InstancesDistribution": {
                "OnDemandBaseCapacity": 0,
                "OnDemandPercentageAboveBaseCapacity": 0,
                "SpotAllocationStrategy": params["spot_allocation_strategy"],
            },
        },
    }


def comparable(config):
    """The owned settings of a described group (or of desired_config()), in a form that compares by value."""
    policy = config.get("MixedInstancesPolicy") or {}
    template = policy.get("LaunchTemplate") or {}
    spec = template.get("LaunchTemplateSpecification") or {}
    distribution = policy.get("InstancesDistribution") or {}
    return {
        "min_size": config.get("MinSize"),
        "max_size": config.get("MaxSize"),
        "desired_capacity": config.get("DesiredCapacity"),
        # AWS keeps the subnets in its own order.
        "subnet_ids": sorted(filter(None, (config.get("VPCZoneIdentifier") or "").split(","))),
        "capacity_rebalance": bool(config.get("CapacityRebalance")),
        "launch_template_name": spec.get("LaunchTemplateName"),
        "launch_template_version": spec.get("Version"),
        "instance_types": [item.get("InstanceType") for item in template.get("Overrides") or []],
        "on_demand_base_capacity": distribution.get("OnDemandBaseCapacity"),
        "on_demand_percentage_above_base_capacity": distribution.get("OnDemandPercentageAboveBaseCapacity"),
        "spot_allocation_strategy": distribution.get("SpotAllocationStrategy"),
    }


def metrics_enabled(group):
    """The metrics collected for a described group, sorted."""
    return sorted({item.get("Metric") for item in (group or {}).get("EnabledMetrics") or []})


def metrics_wanted(params):
    """The metrics the group should collect, sorted: none without metrics_collection."""
    if not params["metrics_collection"]:
        return []
    return sorted(set(params.get("metrics") or GROUP_METRICS))


def tag_changes(current_tags, tags, purge_tags):
    """(tags to create or update, tag keys to delete) to go from a described group's tags to `tags`."""
    current = {tag["Key"]: (tag.get("Value", ""), tag.get("PropagateAtLaunch")) for tag in current_tags or []}
    to_set = {key: value for key, value in tags.items() if current.get(key) != (value, True)}
    to_delete = sorted(key for key in current if key not in tags) if purge_tags else []
    return to_set, to_delete


def outdated_instances(group, version, launched_versions):
    """Ids of the group's instances that were not launched from launch template `version`.

    `launched_versions` maps instance ids to the version EC2 recorded on the instance itself (its
    aws:ec2launchtemplate:version tag); the group's own account of an instance is the fallback.
    """
    outdated = []
    for instance in (group or {}).get("Instances") or []:
        if instance.get("LifecycleState") in LEAVING_STATES:
            continue
        launched = launched_versions.get(instance["InstanceId"]) or (instance.get("LaunchTemplate") or {}).get("Version")
        if launched != version:
            outdated.append(instance["InstanceId"])
    return outdated


def launched_versions(ec2, group):
    """{instance id: launch template version} from the tag EC2 puts on every instance it launches from a template."""
    ids = [instance["InstanceId"] for instance in (group or {}).get("Instances") or []]
    if not ids:
        return {}
    versions = {}
    for reservation in ec2.describe_instances(aws_retry=True, InstanceIds=ids)["Reservations"]:
        for instance in reservation["Instances"]:
            tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags") or []}
            if LAUNCHED_VERSION_TAG in tags:
                versions[instance["InstanceId"]] = tags[LAUNCHED_VERSION_TAG]
    return versions


def describe_group(client, name):
    groups = client.describe_auto_scaling_groups(aws_retry=True, AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return groups[0] if groups else None


def tag_list(name, tags):
    return [
        {"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": key, "Value": value, "PropagateAtLaunch": True}
        for key, value in sorted(tags.items())
    ]


def _tag_dict(tags):
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}


def _state(group):
    """Everything this module owns of a described group, for comparing and for diff mode."""
    state = comparable(group)
    state.update(metrics=metrics_enabled(group), tags=_tag_dict(group.get("Tags")))
    return state


def _create(module, client, desired):
    params = module.params
    client.create_auto_scaling_group(aws_retry=True, AutoScalingGroupName=params["name"],
                                     Tags=tag_list(params["name"], params["tags"]), **desired)
    if metrics_wanted(params):
        client.enable_metrics_collection(aws_retry=True, AutoScalingGroupName=params["name"],
                                         Metrics=metrics_wanted(params), Granularity=METRICS_GRANULARITY)


def _update(module, client, group, desired):
    """Bring an existing group to the desired state; return whether anything differed."""
    params = module.params
    name = params["name"]
    settings_differ = comparable(group) != comparable(desired)
    # EnableMetricsCollection adds to what a group collects: what is no longer wanted is disabled by name.
    to_enable = sorted(set(metrics_wanted(params)) - set(metrics_enabled(group)))
    to_disable = sorted(set(metrics_enabled(group)) - set(metrics_wanted(params)))
    metrics_differ = bool(to_enable or to_disable)
    to_set, to_delete = tag_changes(group.get("Tags"), params["tags"], params["purge_tags"])
    if module.check_mode:
        return settings_differ or metrics_differ or bool(to_set or to_delete)
    if settings_differ:
        client.update_auto_scaling_group(aws_retry=True, AutoScalingGroupName=name, **desired)
    if to_enable:
        client.enable_metrics_collection(aws_retry=True, AutoScalingGroupName=name, Metrics=to_enable,
                                         Granularity=METRICS_GRANULARITY)
    if to_disable:
        client.disable_metrics_collection(aws_retry=True, AutoScalingGroupName=name, Metrics=to_disable)
    if to_set:
        client.create_or_update_tags(aws_retry=True, Tags=tag_list(name, to_set))
    if to_delete:
        client.delete_tags(aws_retry=True, Tags=[
            {"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": key} for key in to_delete
        ])
    return settings_differ or metrics_differ or bool(to_set or to_delete)


def ensure_present(module, client, ec2, group):
    params = module.params
    desired = desired_config(params)
    if group is None:
        changed = True
        if not module.check_mode:
            _create(module, client, desired)
    else:
        changed = _update(module, client, group, desired)

    before = _state(group) if group else {}
    if changed and not module.check_mode:
        group = describe_group(client, params["name"])
    result = {
        "changed": changed,
        "group": camel_dict_to_snake_dict(group or {}, ignore_list=["Tags"]),
        "outdated_instances": outdated_instances(group, params["launch_template"]["version"], launched_versions(ec2, group)),
    }
    if module._diff:
        after = comparable(desired)
        after.update(metrics=metrics_wanted(params), tags=params["tags"])
        result["diff"] = {"before": before, "after": after}
    return result


def ensure_absent(module, client, group):
    name = module.params["name"]
    result = {"changed": group is not None, "group": {}, "outdated_instances": []}
    if module._diff:
        result["diff"] = {"before": _state(group) if group else {}, "after": {}}
    if group is None or module.check_mode:
        return result
    if group.get("Status") != "Delete in progress":
        # ForceDelete terminates the instances instead of refusing while they run.
        client.delete_auto_scaling_group(aws_retry=True, AutoScalingGroupName=name, ForceDelete=True)
    deadline = time.time() + module.params["wait_timeout"]
    while describe_group(client, name) is not None:
        if time.time() > deadline:
            module.fail_json(msg="Auto Scaling group %s still exists after %d seconds" % (name, module.params["wait_timeout"]))
        time.sleep(5)
    return result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        launch_template=dict(
            type="dict",
            options=dict(name=dict(type="str", required=True), version=dict(type="str", required=True)),
        ),
        instance_types=dict(type="list", elements="str"),
        subnet_ids=dict(type="list", elements="str"),
        size=dict(type="int", default=1),
        spot_allocation_strategy=dict(
            type="str", choices=["capacity-optimized", "price-capacity-optimized", "lowest-price"],
            default="capacity-optimized",
        ),
        capacity_rebalance=dict(type="bool", default=True),
        metrics_collection=dict(type="bool", default=True),
        metrics=dict(type="list", elements="str"),
        tags=dict(type="dict", default={}),
        purge_tags=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ("launch_template", "instance_types", "subnet_ids"))],
    )
    for option in ("instance_types", "subnet_ids"):
        if module.params["state"] == "present" and not module.params[option]:
            module.fail_json(msg="%s must not be empty" % option)
    if module.params["size"] < 0:
        module.fail_json(msg="size must be 0 or more; got %d" % module.params["size"])

    client = module.client("autoscaling", retry_decorator=AWSRetry.jittered_backoff())
    ec2 = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        group = describe_group(client, module.params["name"])
        if module.params["state"] == "present":
            result = ensure_present(module, client, ec2, group)
        else:
            result = ensure_absent(module, client, group)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Auto Scaling group %s" % module.params["name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
