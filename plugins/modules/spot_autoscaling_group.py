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
    in their C(aws:ec2launchtemplate:version) tag).
  - Unlike M(amazon.aws.autoscaling_group), it sets the instance maintenance policy, and creates a launch lifecycle
    hook together with the group, so that even the group's first instance waits on it.
  - With O(refresh), a changed launch template version or instance types reach the running instances through an
    instance refresh with that desired configuration and auto-rollback, which M(amazon.aws.autoscaling_instance_refresh)
    cannot ask for. The group keeps its configuration until the refresh succeeds, and a failed refresh rolls back.
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
  health_check_grace_period:
    description:
      - Seconds after an instance comes into service before a failed EC2 status check makes the group replace it.
        With a launch hook the grace period starts when the hook is completed.
    type: int
    default: 300
  instance_maintenance_policy:
    description:
      - The group's instance maintenance policy, for capacity rebalancing, instance refreshes and health check
        replacements. Unset means none (AWS's default behaviour, which may terminate before it launches).
    type: dict
    suboptions:
      min_healthy_percentage:
        description: Percentage of the desired capacity that stays in service and healthy while instances are replaced.
        type: int
        required: true
      max_healthy_percentage:
        description: Percentage of the desired capacity that may run at once while instances are replaced.
        type: int
        required: true
  launch_hook:
    description:
      - A lifecycle hook on C(autoscaling:EC2_INSTANCE_LAUNCHING), created with the group. Each new instance waits
        in C(Pending:Wait) until it completes the hook (C(CONTINUE) or C(ABANDON)), or until O(launch_hook.heartbeat_timeout)
        passes without a heartbeat and O(launch_hook.default_result) applies. Other hooks of the group are left alone.
        Unset means the module does not manage a hook.
    type: dict
    suboptions:
      name:
        description: Name of the hook.
        type: str
        required: true
      heartbeat_timeout:
        description: Seconds an instance may wait without completing the hook or recording a heartbeat.
        type: int
        required: true
      default_result:
        description: What happens at the heartbeat timeout.
        type: str
        choices: [ABANDON, CONTINUE]
        default: ABANDON
  refresh:
    description:
      - Replace running instances through an instance refresh when the launch template version or the instance
        types change, or when an instance runs an older launch template version. Unset means no refresh.
      - Only one refresh runs at a time. One under way towards the same configuration is left to run; one under way
        towards another configuration fails the module, naming it.
    type: dict
    suboptions:
      min_healthy_percentage:
        description: Percentage of the desired capacity that stays in service and healthy during the refresh.
        type: int
        default: 100
      max_healthy_percentage:
        description: Percentage of the desired capacity that may run at once during the refresh.
        type: int
        default: 200
      skip_matching:
        description: Leave instances that already match the desired configuration.
        type: bool
        default: true
      auto_rollback:
        description:
          - Return the group to its previous configuration when the refresh fails (for instance when its new instance
            abandons the launch hook). Applies to a refresh of a changed configuration; an instance that runs an older
            version under an unchanged configuration is refreshed without, as there is nothing to roll back to.
        type: bool
        default: true
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
    health_check_grace_period: 60
    instance_maintenance_policy: {min_healthy_percentage: 100, max_healthy_percentage: 200}
    launch_hook: {name: spotkit-launch, heartbeat_timeout: 1800, default_result: ABANDON}
    refresh: {auto_rollback: true}
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
instance_refresh:
  description:
    - The instance refresh under way or started by this run, as AWS describes it (snake_case keys), with C(started),
      whether this run started it; empty when there is none.
  returned: always
  type: dict
  sample: {instance_refresh_id: 08b91cf7-8fa6-48af-b6a6-d227f40f1b9b, status: Pending, started: true}
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
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
# A refresh in one of these states blocks another one.
ACTIVE_REFRESH_STATES = ("Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking")
# The settings of comparable() that a refresh with a desired configuration carries to the instances.
POLICY_KEYS = ("launch_template_name", "launch_template_version", "instance_types", "on_demand_base_capacity",
               "on_demand_percentage_above_base_capacity", "spot_allocation_strategy")
# What UpdateAutoScalingGroup takes to remove an instance maintenance policy.
NO_MAINTENANCE_POLICY = {"MinHealthyPercentage": -1, "MaxHealthyPercentage": -1}


def desired_config(params):
    """The group settings this module owns, as the CreateAutoScalingGroup API spells them."""
    size = params["size"]
    return {
        "MinSize": size,
        "MaxSize": size,
        "DesiredCapacity": size,
        "VPCZoneIdentifier": ",".join(params["subnet_ids"]),
        "CapacityRebalance": params["capacity_rebalance"],
        "HealthCheckGracePeriod": params["health_check_grace_period"],
        "InstanceMaintenancePolicy": maintenance_policy(params),
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


def maintenance_policy(params):
    """The InstanceMaintenancePolicy of the parameters; NO_MAINTENANCE_POLICY when there is none."""
    policy = params.get("instance_maintenance_policy")
    if not policy:
        return dict(NO_MAINTENANCE_POLICY)
    return {"MinHealthyPercentage": policy["min_healthy_percentage"], "MaxHealthyPercentage": policy["max_healthy_percentage"]}


def _comparable_maintenance_policy(policy):
    policy = {key: value for key, value in (policy or {}).items() if value is not None and value >= 0}
    return policy or None


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
        "health_check_grace_period": config.get("HealthCheckGracePeriod"),
        "instance_maintenance_policy": _comparable_maintenance_policy(config.get("InstanceMaintenancePolicy")),
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


def percentage_problems(params):
    """AWS's rule for each pair of healthy percentages, naming the option and the values; empty when they hold."""
    problems = []
    for option in ("instance_maintenance_policy", "refresh"):
        pair = params.get(option)
        if not pair:
            continue
        low, high = pair["min_healthy_percentage"], pair["max_healthy_percentage"]
        if not (0 <= low <= 100 and 100 <= high <= 200 and high - low <= 100):
            problems.append("%s: min_healthy_percentage must be 0 to 100, max_healthy_percentage 100 to 200, at most 100 "
                            "apart; got %s and %s" % (option, low, high))
    return problems


def hook_specification(hook):
    """A launch_hook parameter as PutLifecycleHook and LifecycleHookSpecificationList spell it."""
    return {"LifecycleHookName": hook["name"], "LifecycleTransition": LAUNCHING,
            "HeartbeatTimeout": hook["heartbeat_timeout"], "DefaultResult": hook["default_result"]}


def hook_differs(hook, described_hooks):
    """Whether the described hooks lack the launch hook as wanted."""
    wanted = hook_specification(hook)
    found = [item for item in described_hooks if item.get("LifecycleHookName") == hook["name"]]
    return not found or any(found[0].get(key) != value for key, value in wanted.items())


def _create(module, client, desired):
    params = module.params
    hooks = {"LifecycleHookSpecificationList": [hook_specification(params["launch_hook"])]} if params["launch_hook"] else {}
    if desired["InstanceMaintenancePolicy"] == NO_MAINTENANCE_POLICY:
        desired = {key: value for key, value in desired.items() if key != "InstanceMaintenancePolicy"}
    client.create_auto_scaling_group(aws_retry=True, AutoScalingGroupName=params["name"],
                                     Tags=tag_list(params["name"], params["tags"]), **hooks, **desired)
    if metrics_wanted(params):
        client.enable_metrics_collection(aws_retry=True, AutoScalingGroupName=params["name"],
                                         Metrics=metrics_wanted(params), Granularity=METRICS_GRANULARITY)


def defers_to_refresh(params, group, desired):
    """Whether a changed launch template or instance types go to the instances through a refresh (which rolls back
    on failure) rather than straight into the group: only with O(refresh) and instances to replace."""
    running = [item for item in group.get("Instances") or [] if item.get("LifecycleState") not in LEAVING_STATES]
    current, wanted = comparable(group), comparable(desired)
    return bool(params["refresh"] and running and any(current[key] != wanted[key] for key in POLICY_KEYS))


def _update(module, client, group, desired, deferred):
    """Bring an existing group to the desired state, but for what a refresh carries when deferred; return whether
    anything differed."""
    params = module.params
    name = params["name"]
    current, wanted = comparable(group), comparable(desired)
    owned = [key for key in wanted if not (deferred and key in POLICY_KEYS)]
    settings_differ = any(current[key] != wanted[key] for key in owned)
    # EnableMetricsCollection adds to what a group collects: what is no longer wanted is disabled by name.
    to_enable = sorted(set(metrics_wanted(params)) - set(metrics_enabled(group)))
    to_disable = sorted(set(metrics_enabled(group)) - set(metrics_wanted(params)))
    metrics_differ = bool(to_enable or to_disable)
    to_set, to_delete = tag_changes(group.get("Tags"), params["tags"], params["purge_tags"])
    hooks = client.describe_lifecycle_hooks(aws_retry=True, AutoScalingGroupName=name)["LifecycleHooks"] if params["launch_hook"] else []
    hook_changed = bool(params["launch_hook"]) and hook_differs(params["launch_hook"], hooks)
    changed = settings_differ or metrics_differ or bool(to_set or to_delete) or hook_changed
    if module.check_mode:
        return changed
    if settings_differ:
        update = {key: value for key, value in desired.items() if not (deferred and key == "MixedInstancesPolicy")}
        client.update_auto_scaling_group(aws_retry=True, AutoScalingGroupName=name, **update)
    if hook_changed:
        client.put_lifecycle_hook(aws_retry=True, AutoScalingGroupName=name, **hook_specification(params["launch_hook"]))
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
    return changed


def refresh_preferences(refresh, rollback):
    preferences = {"MinHealthyPercentage": refresh["min_healthy_percentage"],
                   "MaxHealthyPercentage": refresh["max_healthy_percentage"], "SkipMatching": refresh["skip_matching"]}
    if rollback:
        preferences["AutoRollback"] = refresh["auto_rollback"]
    return preferences


def active_refresh(client, name):
    """The group's refresh under way, or None."""
    refreshes = client.describe_instance_refreshes(aws_retry=True, AutoScalingGroupName=name)["InstanceRefreshes"]
    return next((item for item in refreshes if item.get("Status") in ACTIVE_REFRESH_STATES), None)


def _same_policy(refresh, desired):
    policy = ((refresh or {}).get("DesiredConfiguration") or {}).get("MixedInstancesPolicy")
    wanted = comparable(desired)
    return bool(policy) and all(comparable({"MixedInstancesPolicy": policy})[key] == wanted[key] for key in POLICY_KEYS)


def ensure_refresh(module, client, desired, deferred, outdated):
    """(changed, the refresh under way or started): a refresh with the desired configuration when deferred, else one
    of the outdated instances; none when neither."""
    params = module.params
    if not params["refresh"] or not (deferred or outdated):
        return False, {}
    active = active_refresh(client, params["name"])
    if active:
        if deferred and not _same_policy(active, desired):
            module.fail_json(msg="Auto Scaling group %s: instance refresh %s (%s) is under way towards another "
                                 "configuration; wait for it to end, or cancel it, then run again"
                                 % (params["name"], active["InstanceRefreshId"], active["Status"]))
        return False, dict(camel_dict_to_snake_dict(active), started=False)
    if module.check_mode:
        return True, {"started": True}
    request = {"Preferences": refresh_preferences(params["refresh"], deferred)}
    if deferred:
        request["DesiredConfiguration"] = {"MixedInstancesPolicy": desired["MixedInstancesPolicy"]}
    answer = client.start_instance_refresh(aws_retry=True, AutoScalingGroupName=params["name"], Strategy="Rolling", **request)
    return True, {"instance_refresh_id": answer["InstanceRefreshId"], "status": "Pending", "started": True}


def ensure_present(module, client, ec2, group):
    params = module.params
    desired = desired_config(params)
    deferred = False
    if group is None:
        changed = True
        if not module.check_mode:
            _create(module, client, desired)
    else:
        deferred = defers_to_refresh(params, group, desired)
        changed = _update(module, client, group, desired, deferred)

    before = _state(group) if group else {}
    if changed and not module.check_mode:
        group = describe_group(client, params["name"])
    outdated = outdated_instances(group, params["launch_template"]["version"], launched_versions(ec2, group))
    refreshed, refresh = ensure_refresh(module, client, desired, deferred, outdated) if group else (False, {})
    result = {
        "changed": changed or refreshed,
        "group": camel_dict_to_snake_dict(group or {}, ignore_list=["Tags"]),
        "outdated_instances": outdated,
        "instance_refresh": refresh,
    }
    if module._diff:
        after = comparable(desired)
        after.update(metrics=metrics_wanted(params), tags=params["tags"])
        result["diff"] = {"before": before, "after": after}
    return result


def ensure_absent(module, client, group):
    name = module.params["name"]
    result = {"changed": group is not None, "group": {}, "outdated_instances": [], "instance_refresh": {}}
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
        health_check_grace_period=dict(type="int", default=300),
        instance_maintenance_policy=dict(type="dict", options=dict(
            min_healthy_percentage=dict(type="int", required=True), max_healthy_percentage=dict(type="int", required=True))),
        launch_hook=dict(type="dict", options=dict(
            name=dict(type="str", required=True), heartbeat_timeout=dict(type="int", required=True),
            default_result=dict(type="str", choices=["ABANDON", "CONTINUE"], default="ABANDON"))),
        refresh=dict(type="dict", options=dict(
            min_healthy_percentage=dict(type="int", default=100), max_healthy_percentage=dict(type="int", default=200),
            skip_matching=dict(type="bool", default=True), auto_rollback=dict(type="bool", default=True))),
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
    problems = percentage_problems(module.params)
    if problems:
        module.fail_json(msg="; ".join(problems))

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
