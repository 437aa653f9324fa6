"""What the sandbox's AWS emulator adds to moto 5.2.5 for a health-gated launch (docs/operations.md#a-new-instance):
launch lifecycle hooks that hold an instance, the instance maintenance policy and an instance refresh's desired
configuration and rollback preference. Installed after moto_gaps.py, whose refresh it extends. As AWS does, as far
as an emulator that launches instances at once can:

- CreateAutoScalingGroup creates the hooks of its LifecycleHookSpecificationList before the group's first
  instance launches (moto ignores the list); DeleteAutoScalingGroup deletes the group's hooks (moto keeps them).
- An instance that a group with an autoscaling:EC2_INSTANCE_LAUNCHING hook launches waits in Pending:Wait, and
  counts towards the group's capacity, until CompleteLifecycleAction (which moto lacks) says CONTINUE (it goes
  InService) or ABANDON (it is terminated and the group launches another), or until the hook's heartbeat
  timeout passes without RecordLifecycleActionHeartbeat (which moto lacks): then the hook's default result
  applies, when the emulator is next asked about Auto Scaling. Either call for an instance that is not waiting
  fails as on AWS: "No active Lifecycle Action found with instance ID ...".
- An instance that AttachInstances adds to such a group waits on its hook too; one that was detached can be attached
  again (moto fails to).
- DescribeScalingActivities lists each launch that waited on a hook as AWS does, newest first: Successful from the
  launch to CONTINUE, Cancelled when abandoned; moto lists no activity at all.
- CreateAutoScalingGroup and UpdateAutoScalingGroup keep the InstanceMaintenancePolicy and DescribeAutoScalingGroups
  returns it; moto drops it. UpdateAutoScalingGroup without a launch template, configuration or mixed instances
  policy keeps the group's (moto refuses such a request, AWS does not).
- Capacity rebalancing: EC2 signals a rebalance recommendation for an instance (which has no API: a drill asks for it
  at POST /spotkit-emulator/rebalance-recommendation?InstanceId=<id>, see ec2_signals.py), and a group with
  CapacityRebalance launches a replacement first, above its desired capacity; the instance is terminated (the
  desired capacity back as it was) once the replacement is InService, and stays when the replacement is abandoned.
- StartInstanceRefresh with a DesiredConfiguration gives the group that configuration before replacing the
  instances that do not match it, and the refresh keeps its DesiredConfiguration and Preferences (AutoRollback
  included). In a group with a launch hook and a minimum healthy percentage of 100 (the refresh's, else the
  maintenance policy's), an outdated instance in service is replaced launch first: the refresh is InProgress until
  the replacement is in service (the instance goes, the refresh is Successful) or abandoned (the replacement goes;
  with AutoRollback the group is given back its previous configuration and the refresh is RollbackSuccessful, else
  Failed). An outdated instance that is not in service serves nothing and is replaced at once, as before.
"""

from __future__ import annotations

import copy
import time
import uuid

from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow

import moto_gaps

LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
WAITING = "Pending:Wait"
# What counts towards a group's capacity besides InService (moto counts InService only).
COUNTED_STATES = ("InService", WAITING, "Pending:Proceed")
RESULTS = ("CONTINUE", "ABANDON")

_original = {}


def _group(backend, name):
    group = backend.autoscaling_groups.get(name)
    if group is None:
        raise ValidationError("AutoScalingGroup name not found - AutoScalingGroup '%s' not found" % name)
    return group


def _launch_hooks(backend, group_name):
    return [hook for hook in backend.describe_lifecycle_hooks(group_name) if hook.lifecycle_transition == LAUNCHING]


def _actions(group):
    """{instance id: {hook, token, since, deadline}} of the group's instances that wait on a launch hook."""
    if not hasattr(group, "spotkit_lifecycle_actions"):
        group.spotkit_lifecycle_actions = {}
    # An instance terminated or detached while it waited has no action left, as on AWS.
    members = {state.instance.id for state in group.instance_states}
    for instance_id in [waiting for waiting in group.spotkit_lifecycle_actions if waiting not in members]:
        del group.spotkit_lifecycle_actions[instance_id]
    return group.spotkit_lifecycle_actions


def _activities(group):
    if not hasattr(group, "spotkit_activities"):
        group.spotkit_activities = []
    return group.spotkit_activities


def _successors(group):
    """{new instance id: {replaces: the instance it replaces once InService, refresh: the refresh it is part of, or
    None}} of the group's launch-first replacements."""
    if not hasattr(group, "spotkit_successors"):
        group.spotkit_successors = {}
    return group.spotkit_successors


def active_instances(self):
    """FakeAutoScalingGroup's: an instance waiting on a hook counts towards the capacity, as on AWS."""
    return [state for state in self.instance_states if state.lifecycle_state in COUNTED_STATES]


def replace_autoscaling_group_instances(self, count_needed, propagated_tags):
    """FakeAutoScalingGroup's: each new instance of a group with a launch hook waits on it."""
    before = {state.instance.id for state in self.instance_states}
    _original["replace_autoscaling_group_instances"](self, count_needed, propagated_tags)
    _hold(self, [state for state in self.instance_states if state.instance.id not in before])


def _hold(group, states):
    """Each of the group's new instance states waits on the group's launch hook, if it has one."""
    hooks = _launch_hooks(group.autoscaling_backend, group.name)
    for state in states if hooks else []:
        state.lifecycle_state = WAITING
        _actions(group)[state.instance.id] = {"hook": hooks[0], "token": str(uuid.uuid4()), "since": utcnow(),
                                              "deadline": time.monotonic() + hooks[0].heartbeat_timeout}


def attach_instances(self, group_name, instance_ids):
    """AutoScalingBackend's: an attached instance waits on the launch hook too; one that was detached can come back
    (moto marks it as of no group, and then fails to attach it)."""
    group = _group(self, group_name)
    for instance in self.ec2_backend.get_multi_instances_by_id(instance_ids):
        if getattr(instance, "autoscaling_group", "unset") is None:
            del instance.autoscaling_group
    before = {state.instance.id for state in group.instance_states}
    _original["attach_instances"](self, group_name, instance_ids)
    _hold(group, [state for state in group.instance_states if state.instance.id not in before])


def replace_launch_first(backend, group, instance_id, refresh=None):
    """Launch a replacement for the group's instance now, above the desired capacity; the instance goes once the
    replacement is in service. Returns the replacement's id."""
    before = {state.instance.id for state in group.instance_states}
    group.set_desired_capacity(group.desired_capacity + 1)
    [new] = [state for state in group.instance_states if state.instance.id not in before]
    _successors(group)[new.instance.id] = {"replaces": instance_id, "refresh": refresh}
    if new.lifecycle_state == "InService":
        _retire_predecessor(backend, group, new.instance.id)
    return new.instance.id


def _pending(group, refresh):
    return [new for new, entry in _successors(group).items() if entry["refresh"] is refresh]


def _retire_predecessor(backend, group, instance_id):
    """The instance that instance_id replaces (launch first) goes, the desired capacity back as it was; a refresh
    with no replacement left to wait for succeeded."""
    entry = _successors(group).pop(instance_id, None)
    if entry is None:
        return
    if entry["replaces"] in {state.instance.id for state in group.instance_states}:
        backend.terminate_instance(entry["replaces"], should_decrement=True)
    refresh = entry["refresh"]
    if refresh is not None and not _pending(group, refresh):
        refresh.update(Status="Successful", StatusReason="the new instances are in service", PercentageComplete=100,
                       InstancesToUpdate=0, EndTime=utcnow())


def _abandon_replacement(backend, group, instance_id, why):
    """A launch-first replacement was abandoned: it goes, the desired capacity back as it was, and the instance it was
    to replace stays; its refresh fails, and rolls back when asked to."""
    entry = _successors(group).pop(instance_id)
    backend.terminate_instance(instance_id, should_decrement=True)
    refresh = entry["refresh"]
    if refresh is None:
        return
    for other in _pending(group, refresh):
        del _successors(group)[other]
        backend.terminate_instance(other, should_decrement=True)
    previous = _rollbacks(group).pop(refresh["InstanceRefreshId"], None)
    rollback = refresh["Preferences"].get("AutoRollback") and previous is not None
    if rollback:
        _set_policy(group, previous)
    refresh.update(Status="RollbackSuccessful" if rollback else "Failed", InstancesToUpdate=0, EndTime=utcnow(),
                   StatusReason="instance %s did not complete its launch: %s%s" % (
                       instance_id, why, "; the group is back to its previous configuration" if rollback else ""))


def _rollbacks(group):
    """{refresh id: the group's mixed instances policy before the refresh}."""
    if not hasattr(group, "spotkit_rollbacks"):
        group.spotkit_rollbacks = {}
    return group.spotkit_rollbacks


def _named_policy(policy):
    """A copy of a group's mixed instances policy that moto takes back: moto keeps the template's id next to its
    name, and refuses a policy that names both."""
    policy = copy.deepcopy(policy)
    spec = (policy or {}).get("LaunchTemplate", {}).get("LaunchTemplateSpecification", {})
    if spec.get("LaunchTemplateName"):
        spec.pop("LaunchTemplateId", None)
    return policy


def _set_policy(group, policy):
    policy = _named_policy(policy)
    group.update(availability_zones=[], desired_capacity=None, max_size=None, min_size=None, launch_config_name=None,
                 launch_template={}, vpc_zone_identifier=None, health_check_period=None, health_check_type=None,
                 mixed_instances_policy=policy)


def _finish(backend, group, instance_id, result, why):
    action = _actions(group).pop(instance_id)
    state = next(state for state in group.instance_states if state.instance.id == instance_id)
    now = utcnow()
    if result == "CONTINUE":
        state.lifecycle_state = "InService"
        _retire_predecessor(backend, group, instance_id)
        # As on AWS: the launch's activity spans the wait on the hook (how long a new instance took to serve).
        _activities(group).insert(0, {
            "ActivityId": str(uuid.uuid4()), "AutoScalingGroupName": group.name,
            "Description": "Launching a new EC2 instance: %s" % instance_id,
            "Cause": "At %s an instance was started." % action["since"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "StartTime": action["since"], "EndTime": now, "StatusCode": "Successful", "Progress": 100})
        return
    _activities(group).insert(0, {
        "ActivityId": str(uuid.uuid4()), "AutoScalingGroupName": group.name,
        "Description": "Launching a new EC2 instance: %s" % instance_id,
        "Cause": "At %s an instance was started in response to a difference between desired and actual capacity."
                 % now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "StartTime": action["since"], "EndTime": now, "StatusCode": "Cancelled", "Progress": 100,
        "StatusMessage": "Instance failed to complete user's Lifecycle Action: Lifecycle Action with token %s was "
                         "abandoned: %s" % (action["token"], why),
    })
    if instance_id in _successors(group):
        _abandon_replacement(backend, group, instance_id, why)
    else:
        backend.terminate_instance(instance_id, should_decrement=False)


def expire_lifecycle_actions(backend):
    """The default result of every launch hook whose heartbeat timeout passed."""
    now = time.monotonic()
    for group in list(backend.autoscaling_groups.values()):
        for instance_id, action in list(_actions(group).items()):
            if action["deadline"] <= now:
                _finish(backend, group, instance_id, action["hook"].default_result,
                        "Heartbeat Timeout, default result %s" % action["hook"].default_result)


def _waiting_action(self):
    """(group, instance id, action) that CompleteLifecycleAction or RecordLifecycleActionHeartbeat names."""
    group = _group(self.autoscaling_backend, self._get_param("AutoScalingGroupName"))
    hook_name, instance_id, token = (self._get_param("LifecycleHookName"), self._get_param("InstanceId"),
                                     self._get_param("LifecycleActionToken"))
    for waiting, action in _actions(group).items():
        if action["hook"].name == hook_name and (waiting == instance_id or (token and action["token"] == token)):
            return group, waiting, action
    if instance_id:
        raise ValidationError("No active Lifecycle Action found with instance ID %s" % instance_id)
    raise ValidationError("No active Lifecycle Action found with token %s" % token)


def complete_lifecycle_action(self):
    expire_lifecycle_actions(self.autoscaling_backend)
    result = self._get_param("LifecycleActionResult")
    if result not in RESULTS:
        raise ValidationError("LifecycleActionResult must be CONTINUE or ABANDON; got %s" % result)
    group, instance_id, _action = _waiting_action(self)
    _finish(self.autoscaling_backend, group, instance_id, result, "Lifecycle Action Completed with ABANDON Result")
    return EmptyResult()


def record_lifecycle_action_heartbeat(self):
    expire_lifecycle_actions(self.autoscaling_backend)
    _group_, _instance_id, action = _waiting_action(self)
    action["deadline"] = time.monotonic() + action["hook"].heartbeat_timeout
    return EmptyResult()


def describe_scaling_activities(self):
    expire_lifecycle_actions(self.autoscaling_backend)
    name = self._get_param("AutoScalingGroupName")
    groups = [_group(self.autoscaling_backend, name)] if name else self.autoscaling_backend.autoscaling_groups.values()
    activities = sorted((item for group in groups for item in _activities(group)), key=lambda item: item["StartTime"],
                        reverse=True)
    return ActionResult({"Activities": activities})


def _keep_maintenance_policy(self):
    policy = self._get_param("InstanceMaintenancePolicy")
    if policy is not None:
        group = _group(self.autoscaling_backend, self._get_param("AutoScalingGroupName"))
        # {} or -1 values clear the policy, as on AWS.
        kept = {key: int(value) for key, value in policy.items() if int(value) >= 0}
        group.instance_maintenance_policy = kept or None


def create_auto_scaling_group(self):
    """AutoScalingResponse's: the hooks of LifecycleHookSpecificationList exist before the first launch."""
    name = self._get_param("AutoScalingGroupName")
    for spec in self._get_param("LifecycleHookSpecificationList", []):
        self.autoscaling_backend.create_lifecycle_hook(
            name=spec["LifecycleHookName"], as_name=name, transition=spec["LifecycleTransition"],
            timeout=int(spec["HeartbeatTimeout"]) if spec.get("HeartbeatTimeout") else None,
            result=spec.get("DefaultResult"))
    result = _original["create_auto_scaling_group"](self)
    _keep_maintenance_policy(self)
    return result


def update_auto_scaling_group(self):
    """AutoScalingResponse's: the maintenance policy is kept."""
    expire_lifecycle_actions(self.autoscaling_backend)
    result = _original["update_auto_scaling_group"](self)
    _keep_maintenance_policy(self)
    return result


def backend_update_auto_scaling_group(self, name, availability_zones, desired_capacity, max_size, min_size,
                                      launch_config_name, launch_template, vpc_zone_identifier, health_check_period,
                                      health_check_type, new_instances_protected_from_scale_in=None,
                                      mixed_instances_policy=None):
    """AutoScalingBackend's: no launch template, configuration or mixed instances policy means the group's own."""
    group = _group(self, name)
    if not (launch_config_name or launch_template or mixed_instances_policy):
        mixed_instances_policy = _named_policy(group.mixed_instances_policy)
        launch_config_name = None if mixed_instances_policy else getattr(group, "launch_configuration_name", None)
        if not (mixed_instances_policy or launch_config_name):
            launch_template = {"LaunchTemplateId": group.ec2_launch_template.id,
                               "Version": group.provided_launch_template_version}
    return _original["backend_update_auto_scaling_group"](
        self, name, availability_zones, desired_capacity, max_size, min_size, launch_config_name, launch_template,
        vpc_zone_identifier, health_check_period, health_check_type, new_instances_protected_from_scale_in,
        mixed_instances_policy)


def delete_auto_scaling_group(self):
    """AutoScalingResponse's: the group's hooks go with it."""
    name = self._get_param("AutoScalingGroupName")
    for hook in self.autoscaling_backend.describe_lifecycle_hooks(name):
        self.autoscaling_backend.delete_lifecycle_hook(name, hook.name)
    return _original["delete_auto_scaling_group"](self)


def _min_healthy(group, preferences):
    """The refresh's minimum healthy percentage, else the maintenance policy's, else AWS's default (90)."""
    policy = group.instance_maintenance_policy or {}
    return int(preferences.get("MinHealthyPercentage", policy.get("MinHealthyPercentage", 90)))


def start_instance_refresh(self):
    """AutoScalingResponse's (moto_gaps.py's): a desired configuration becomes the group's first; the refresh keeps
    it with its preferences; it launches first where the group must keep its instances in service (above)."""
    backend = self.autoscaling_backend
    expire_lifecycle_actions(backend)
    name = self._get_param("AutoScalingGroupName")
    group = _group(backend, name)
    desired = self._get_param("DesiredConfiguration") or {}
    preferences = self._get_param("Preferences", {})
    previous = copy.deepcopy(group.mixed_instances_policy)
    if desired.get("MixedInstancesPolicy"):
        _set_policy(group, desired["MixedInstancesPolicy"])
    outdated = moto_gaps.outdated_instances(group)
    in_service = [state.instance.id for state in outdated if state.lifecycle_state == "InService"]
    if in_service and _launch_hooks(backend, name) and _min_healthy(group, preferences) >= 100:
        refresh = moto_gaps.record_refresh(group, preferences, "InProgress",
                                           "waiting for the new instances to be in service", utcnow())
        _rollbacks(group)[refresh["InstanceRefreshId"]] = previous
        for state in outdated:
            if state.instance.id not in in_service:
                backend.terminate_instance(state.instance.id, should_decrement=False)
        for instance_id in in_service:
            replace_launch_first(backend, group, instance_id, refresh)
        result = ActionResult({"InstanceRefreshId": refresh["InstanceRefreshId"]})
    else:
        result = _original["start_instance_refresh"](self)
        refresh = group.spotkit_instance_refreshes[0]
    if desired:
        refresh["DesiredConfiguration"] = desired
    return result


def describe_auto_scaling_groups(self):
    expire_lifecycle_actions(self.autoscaling_backend)
    return _original["describe_auto_scaling_groups"](self)


def describe_auto_scaling_instances(self):
    expire_lifecycle_actions(self.autoscaling_backend)
    return _original["describe_auto_scaling_instances"](self)


def install():
    """Patch moto's classes; call once, after moto_gaps.install(), before the server starts."""
    FakeAutoScalingGroup.instance_maintenance_policy = None
    _original.update(
        replace_autoscaling_group_instances=FakeAutoScalingGroup.replace_autoscaling_group_instances,
        create_auto_scaling_group=AutoScalingResponse.create_auto_scaling_group,
        update_auto_scaling_group=AutoScalingResponse.update_auto_scaling_group,
        backend_update_auto_scaling_group=AutoScalingBackend.update_auto_scaling_group,
        delete_auto_scaling_group=AutoScalingResponse.delete_auto_scaling_group,
        start_instance_refresh=AutoScalingResponse.start_instance_refresh,
        describe_auto_scaling_groups=AutoScalingResponse.describe_auto_scaling_groups,
        describe_auto_scaling_instances=AutoScalingResponse.describe_auto_scaling_instances,
        attach_instances=AutoScalingBackend.attach_instances,
    )
    AutoScalingBackend.attach_instances = attach_instances
    FakeAutoScalingGroup.active_instances = active_instances
    FakeAutoScalingGroup.replace_autoscaling_group_instances = replace_autoscaling_group_instances
    AutoScalingResponse.create_auto_scaling_group = create_auto_scaling_group
    AutoScalingResponse.update_auto_scaling_group = update_auto_scaling_group
    AutoScalingBackend.update_auto_scaling_group = backend_update_auto_scaling_group
    AutoScalingResponse.delete_auto_scaling_group = delete_auto_scaling_group
    AutoScalingResponse.start_instance_refresh = start_instance_refresh
    AutoScalingResponse.describe_auto_scaling_groups = describe_auto_scaling_groups
    AutoScalingResponse.describe_auto_scaling_instances = describe_auto_scaling_instances
    AutoScalingResponse.complete_lifecycle_action = complete_lifecycle_action
    AutoScalingResponse.record_lifecycle_action_heartbeat = record_lifecycle_action_heartbeat
    AutoScalingResponse.describe_scaling_activities = describe_scaling_activities
