# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""The alerting of a stack: what is watched and how the stack's topic says it, derived from its plan.

Private to this collection (leading underscore): the action plugin spotkit.ec2.stack_plan adds it to a
stack's plan as `alerts`, and spotkit.ec2.stack_info reports what AWS holds in the same shapes, so that a
task compares the two with `==`. Names come from the rulebook (_stack.py); nothing here calls AWS.
docs/operations.md#alerts says why each alarm is what it is.
"""

from __future__ import annotations

from ansible_collections.spotkit.ec2.plugins.module_utils._stack import (
    ALARM_KINDS,
    EVENT_RULE_KINDS,
    HEALTH_CHECK_REGION,
    PULL_FAILURE_FILTER,
    PULL_FAILURE_METRIC,
    PULL_LOG,
    TAG_KEY,
    alarm_name,
    event_rule_name,
    global_name,
    log_group,
    service_ports,
    site_alarm_name,
    topic_name,
)

# The only group metric an alarm reads; the group collects no other (they would be free, but unused).
GROUP_METRICS = ("GroupInServiceInstances",)
# Metrics of the CloudWatch agent (plugins/filter/cloudwatch_agent_config.py), aggregated by Stack alone so
# that a replacement instance publishes to the same series.
STACK_DIMENSION = "Stack"
MEMORY_METRIC = "mem_used_percent"
DISK_METRIC = "disk_used_percent"
# The line spotkit-pull writes when a run fails (roles/_common/templates/spotkit-pull.sh.j2), as a
# CloudWatch Logs filter pattern: every quoted term must appear in the line.
PULL_FAILURE_PATTERN = '"spotkit-pull:" "failed (exit"'
# The Route 53 health check: every 30 s from each checker, unhealthy after 3 failures in a row.
HEALTH_CHECK_INTERVAL = 30
HEALTH_CHECK_FAILURES = 3
# The one target of each EventBridge rule: the stack's topic.
EVENT_TARGET_ID = "spotkit-topic"
AUTOSCALING_EVENTS = {
    "launch": "EC2 Instance Launch Successful",
    "launch-failed": "EC2 Instance Launch Unsuccessful",
    "terminate": "EC2 Instance Terminate Successful",
}


def alert_tags(stack, name):
    """Tags of the stack's topics and health check: the stack tag, and their own name."""
    return {TAG_KEY: stack, "Name": name}


def health_check(stack, region, domain, services, path, match):
    """The outside health check of the site: HTTP on port 80 when a service publishes it (a redirect to HTTPS
    counts as healthy, and HTTPS would cost $1 a month more), else HTTPS on 443, else HTTP on the first TCP
    port; of the domain, or of the Elastic IP (filled in by the role) without one. None without a TCP port."""
    hosts = [port["host"] for port in service_ports(services) if port["protocol"] == "tcp" and not port["loopback"]]
    if not hosts:
        return {}
    protocol, port = ("HTTP", 80) if 80 in hosts else ("HTTPS", 443) if 443 in hosts else ("HTTP", hosts[0])
    return {
        "name": global_name(stack, region),
        "type": protocol + ("_STR_MATCH" if match else ""),
        "port": port,
        "resource_path": path,
        "fqdn": domain,
        "string_match": match,
        "request_interval": HEALTH_CHECK_INTERVAL,
        "failure_threshold": HEALTH_CHECK_FAILURES,
    }


def _alarm(name, region, namespace, metric, dimensions, statistic, comparison, threshold, period, periods, missing, description):
    """An alarm in the shape of amazon.aws.cloudwatch_metric_alarm's options (and of what stack_info reports),
    without its actions: each notifies the stack's topic of its own region."""
    return {
        "name": name, "region": region, "namespace": namespace, "metric_name": metric, "dimensions": dimensions,
        "statistic": statistic, "comparison": comparison, "threshold": float(threshold), "period": period,
        "evaluation_periods": periods, "datapoints_to_alarm": periods, "treat_missing_data": missing,
        "description": description,
    }


def alarms(stack, region, group, namespace, burstable, thresholds, site):
    """The stack's alarms: none has an InstanceId dimension, so each outlives a replacement of the instance."""
    found = [
        _alarm(alarm_name(stack, "no-instance"), region, "AWS/AutoScaling", "GroupInServiceInstances",
               {"AutoScalingGroupName": group}, "Minimum", "LessThanThreshold", 1, 60, 5, "missing",
               "%s: the Auto Scaling group %s has had no instance in service for 5 minutes" % (stack, group)),
    ]
    if burstable:
        credits = thresholds["spot_alarm_cpu_credits"]
        # A new T3/T3a/T4g standard instance starts with no credits: two hours below the threshold is news,
        # one boot is not.
        found.append(_alarm(
            alarm_name(stack, "cpu-credits"), region, "AWS/EC2", "CPUCreditBalance", {"AutoScalingGroupName": group},
            "Maximum", "LessThanThreshold", credits, 3600, 2, "notBreaching",
            "%s: fewer than %s CPU credits left for 2 hours: the instance runs at its baseline "
            "(spot_alarm_cpu_credits)" % (stack, credits)))
    else:
        percent = thresholds["spot_alarm_cpu_percent"]
        found.append(_alarm(
            alarm_name(stack, "cpu"), region, "AWS/EC2", "CPUUtilization", {"AutoScalingGroupName": group},
            "Average", "GreaterThanThreshold", percent, 300, 3, "notBreaching",
            "%s: CPU above %s %% for 15 minutes (spot_alarm_cpu_percent)" % (stack, percent)))
    memory, disk = thresholds["spot_alarm_memory_percent"], thresholds["spot_alarm_disk_percent"]
    failures = thresholds["spot_alarm_pull_failures"]
    found += [
        _alarm(alarm_name(stack, "memory"), region, namespace, MEMORY_METRIC, {STACK_DIMENSION: stack}, "Average",
               "GreaterThanThreshold", memory, 300, 3, "notBreaching",
               "%s: memory used above %s %% for 15 minutes (spot_alarm_memory_percent)" % (stack, memory)),
        _alarm(alarm_name(stack, "disk"), region, namespace, DISK_METRIC, {STACK_DIMENSION: stack}, "Maximum",
               "GreaterThanThreshold", disk, 300, 1, "notBreaching",
               "%s: disk used on / above %s %% (spot_alarm_disk_percent)" % (stack, disk)),
        _alarm(alarm_name(stack, "deploys-failing"), region, namespace, PULL_FAILURE_METRIC, {}, "Sum",
               "GreaterThanOrEqualToThreshold", failures, 3600, 1, "notBreaching",
               "%s: %s or more pull runs failed within an hour: the instance does not apply the project's newest "
               "commit; read the log group %s (spot_alarm_pull_failures)" % (stack, failures, log_group(stack, PULL_LOG))),
    ]
    if site:
        target = site["fqdn"] or "the Elastic IP"
        # The health check's id is known once it exists: the role fills in the dimension.
        found.append(_alarm(
            site_alarm_name(stack, region), HEALTH_CHECK_REGION, "AWS/Route53", "HealthCheckStatus", {"HealthCheckId": ""},
            "Minimum", "LessThanThreshold", 1, 60, 1, "missing",
            "%s: the site does not answer from outside: Route 53's %s check of %s port %d%s fails"
            % (stack, site["type"].split("_")[0], target, site["port"], site["resource_path"])))
    return found


def event_rules(stack, group):
    """EventBridge rules on the group's own events (they name the group), each with a plain-text message."""
    templates = {
        "launch": ("%s: instance <instance> launched at <time>; it serves once it has booted and holds the stack's "
                   "address. (<cause>)" % stack, {"instance": "$.detail.EC2InstanceId", "time": "$.time", "cause": "$.detail.Cause"}),
        "launch-failed": ("%s: the group could not launch an instance at <time>: <message> It tries again; until it "
                          "can, no new instance serves the stack." % stack, {"time": "$.time", "message": "$.detail.StatusMessage"}),
        "terminate": ("%s: instance <instance> left the group at <time>; the group launches a replacement when it has "
                      "no other instance. (<cause>)" % stack,
                      {"instance": "$.detail.EC2InstanceId", "time": "$.time", "cause": "$.detail.Cause"}),
    }
    rules = []
    for kind in EVENT_RULE_KINDS:
        template, paths = templates[kind]
        rules.append({
            "name": event_rule_name(stack, kind),
            "description": "spotkit stack %s: %s, on the stack's topic" % (stack, AUTOSCALING_EVENTS[kind]),
            "event_pattern": {"source": ["aws.autoscaling"], "detail-type": [AUTOSCALING_EVENTS[kind]],
                              "detail": {"AutoScalingGroupName": [group]}},
            "input_paths_map": paths,
            "input_template": template,
        })
    return rules


def subscriptions(emails, webhooks):
    """The topic's subscriptions: each address by e-mail, each webhook by HTTP or HTTPS."""
    return ([{"protocol": "email", "endpoint": address} for address in emails]
            + [{"protocol": url.split(":", 1)[0], "endpoint": url} for url in webhooks])


def alarm_names(stack, region):
    """{region: names} of every alarm the stack may own, in its region and in the health check's."""
    names = {region: [alarm_name(stack, kind) for kind in ALARM_KINDS]}
    names.setdefault(HEALTH_CHECK_REGION, []).append(site_alarm_name(stack, region))
    return names


def topic_regions(region):
    """The regions where the stack may own a topic: its own, and the health check's."""
    return [region] + ([HEALTH_CHECK_REGION] if region != HEALTH_CHECK_REGION else [])


def alert_plan(plan, region, services):
    """The stack's alerting, from its plan (plan_stack()), its region and its services."""
    stack, settings = plan["stack"], plan["alerting"]
    site = health_check(stack, region, plan["domain"], services, settings["health_check_path"], settings["health_check_match"])
    topic = topic_name(stack, region)
    return {
        "topic": topic,
        # The topic in the health check's region exists only for a stack elsewhere with a health check.
        "topic_regions": [region] + ([HEALTH_CHECK_REGION] if site and region != HEALTH_CHECK_REGION else []),
        "topic_tags": alert_tags(stack, topic),
        "subscriptions": subscriptions(settings["emails"], settings["webhooks"]),
        "health_check": site,
        "health_check_tags": alert_tags(stack, global_name(stack, region)) if site else {},
        "alarms": alarms(stack, region, plan["name"], plan["metrics_namespace"], plan["burstable"], settings["thresholds"], site),
        # Every alarm the stack may own, wanted or not: what a run does not want is removed.
        "alarm_names": alarm_names(stack, region),
        "event_rules": event_rules(stack, plan["name"]),
        "event_target_id": EVENT_TARGET_ID,
        "metric_filter": {"log_group": log_group(stack, PULL_LOG), "name": PULL_FAILURE_FILTER, "pattern": PULL_FAILURE_PATTERN,
                          "metric_name": PULL_FAILURE_METRIC, "metric_namespace": plan["metrics_namespace"], "metric_value": "1"},
        "group_metrics": list(GROUP_METRICS),
    }
