# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""The rules of a handover from one instance of a stack to the next (private to this collection): the launch hook that
holds a new instance until it serves and holds the Elastic IP, the group settings that launch before they terminate,
which instance may take the address, and when a failing instance gives up. docs/operations.md#a-new-instance says why
each figure is what it is; the controller (the stack plan) and the instance (its modules) both read them here."""

from __future__ import annotations

LAUNCH_HOOK = "spotkit-launch"
# Longer than a slow first boot from the base image takes to its first heartbeat or CONTINUE (everything installed
# from the internet on a t4g.nano), and than the longest gap between two failed attempts (at most 10 minutes apart,
# plus the attempt): only an instance that hangs or died runs into it. AWS abandons an instance that keeps recording
# heartbeats at the hook's global timeout, 48 hours or 100 heartbeat timeouts, whichever is less.
HEARTBEAT_TIMEOUT = 1800
DEFAULT_RESULT = "ABANDON"
# A new instance is InService only once it serves (the hook): EC2 status checks may count after a minute.
HEALTH_CHECK_GRACE_PERIOD = 60
# Launch before terminating: the old instance serves until the new one is in service (and so healthy).
MIN_HEALTHY_PERCENTAGE = 100
MAX_HEALTHY_PERCENTAGE = 200

# A failing new instance gives up (ABANDON: the group launches another) once this many seconds have passed since its
# launch: a first boot that installs everything from the internet takes a few minutes, one from the stack image less.
LAUNCH_BUDGET = 1200
# The churn cap: after this many abandoned launches within the window, a failing instance no longer abandons; it waits
# (heartbeats, retrying every 10 minutes) for a fix, which costs one instance instead of one every LAUNCH_BUDGET.
CHURN_CAP = 3
CHURN_WINDOW = 6 * 3600

WAITING = "Pending:Wait"
# An instance in one of these states, and healthy, may hold the address: in service, or waiting on the launch hook.
HOLDING_STATES = ("InService", WAITING)


def group_settings():
    """What provisioning gives the stack's Auto Scaling group (spotkit.ec2.spot_autoscaling_group's options)."""
    percentages = {"min_healthy_percentage": MIN_HEALTHY_PERCENTAGE, "max_healthy_percentage": MAX_HEALTHY_PERCENTAGE}
    return {
        "health_check_grace_period": HEALTH_CHECK_GRACE_PERIOD,
        "instance_maintenance_policy": percentages,
        "launch_hook": {"name": LAUNCH_HOOK, "heartbeat_timeout": HEARTBEAT_TIMEOUT, "default_result": DEFAULT_RESULT},
        "refresh": dict(percentages, skip_matching=True, auto_rollback=True),
    }


def newest_holder(group_instances, launch_times):
    """Id of the newest instance of the group that may hold the address (HOLDING_STATES, healthy), or None.

    group_instances: the group's Instances as DescribeAutoScalingGroups gives them; launch_times: {id: launch time}.
    Ties go to the greater id, so that two instances never both count as newest."""
    eligible = [item["InstanceId"] for item in group_instances
                if item.get("LifecycleState") in HOLDING_STATES and item.get("HealthStatus", "Healthy") == "Healthy"
                and item["InstanceId"] in launch_times]
    return max(eligible, key=lambda instance_id: (launch_times[instance_id], instance_id), default=None)


def may_take(instance_id, holder, newest):
    """(whether instance_id may associate the address now held by `holder`, why). `newest` is newest_holder()."""
    if holder == instance_id:
        return False, "already on this instance"
    if not holder:
        return True, "the address is not associated"
    if newest == instance_id:
        return True, "this instance is the newest healthy one of its group"
    if newest is None:
        return False, "this instance is not a healthy instance of its group (in service or waiting on the launch hook)"
    return False, "%s is the newest healthy instance of the group" % newest


def abandoned_launches(activities, since):
    """How many launches of the group were abandoned at or after `since` (DescribeScalingActivities' Activities)."""
    # AWS says "... was abandoned: Lifecycle Action Completed with ABANDON Result", or "... abandoned: Heartbeat Timeout".
    return sum(1 for item in activities if item.get("StatusCode") == "Cancelled" and item["StartTime"] >= since
               and "abandon" in (item.get("StatusMessage") or "").lower())


def after_failure(waited, abandoned, budget=LAUNCH_BUDGET):
    """What a new instance whose attempt failed does with its launch hook: heartbeat (try again), or abandon.

    waited: seconds since launch; abandoned: abandoned_launches() within the last CHURN_WINDOW; budget: LAUNCH_BUDGET."""
    if waited < budget or abandoned >= CHURN_CAP:
        return "heartbeat"
    return "abandon"
