# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: cloudwatch_agent_config
short_description: Amazon CloudWatch agent configuration for a stack's services
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Builds the JSON configuration of the Amazon CloudWatch agent for one stack, as a dictionary.
  - "Logs: the system log, and each service's log file C(/var/log/<service>.log) into the log group
    C(/spotkit/<stack>/<service>) with the service's O(_input[].log_retention_days); streams are named by instance id."
  - "Metrics in the namespace O(namespace), the stack's own by default: CPU, memory used %, disk used % of C(/), swap used %.
    Each metric carries the dimension C(Stack=<stack>) alone (no host, no instance id), so alarms keep working when the
    spot instance is replaced, and the stack's 8 metrics stay within CloudWatch's 10 free ones."
  - Bad input raises an error that names the service, the field and the bad value.
positional: _input, stack_name
options:
  _input:
    description: The stack's services (the C(spot_services) stack variable); only C(name) and C(log_retention_days) are read.
    type: list
    elements: dict
    required: true
  stack_name:
    description: Name of the stack; part of every log group name and the value of the C(Stack) dimension.
    type: str
    required: true
  region:
    description:
      - AWS region written to C(agent.region).
      - The agent reads the region from instance metadata on EC2; off EC2 it fails without this.
    type: str
  journald:
    description:
      - Collect the system log from journald instead of the file O(system_log_file).
      - Only agents from version 1.300070.0 support journald; older ones reject the whole configuration.
    type: bool
    default: false
  system_log_file:
    description: The syslog file collected as the system log when O(journald=false).
    type: str
    default: /var/log/syslog
  system_log_retention_days:
    description: Retention in days of the C(/spotkit/<stack>/system) log group.
    type: int
    default: 30
  extra_logs:
    description:
      - Further log files to ship, each into C(/spotkit/<stack>/<name>).
      - Each item has C(name), C(file_path) and optionally C(log_retention_days) (default 30).
    type: list
    elements: dict
    default: []
  namespace:
    description: CloudWatch metrics namespace. Default C(spotkit/<stack>), the stack's own.
    type: str
  retention:
    description:
      - Write each log group's retention into the configuration, for the agent to set.
      - False where provisioning sets the retention and the instance may not (as spotkit.ec2's instance policy
        allows no C(logs:PutRetentionPolicy)).
    type: bool
    default: true
  metrics_collection_interval:
    description: Seconds between two metric samples.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Write the agent configuration of the stack
  ansible.builtin.copy:
    content: "{{ spot_services | spotkit.ec2.cloudwatch_agent_config('blog', region='eu-west-1') | to_nice_json }}"
    dest: /etc/spotkit/amazon-cloudwatch-agent.json
    mode: "0644"

- name: Collect the system log from journald (agent 1.300070.0 and later)
  ansible.builtin.set_fact:
    agent_config: "{{ spot_services | spotkit.ec2.cloudwatch_agent_config('blog', journald=true) }}"
"""

RETURN = r"""
_value:
  description: The agent configuration, ready for C(to_nice_json); valid against the agent's JSON schema.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.module_utils._stack import (
    DEFAULT_LOG_RETENTION_DAYS,
    SYSTEM_LOG,
    check_name,
    check_region,
    check_retention,
    check_service_names,
    log_group,
    metrics_namespace,
)

STACK_DIMENSION = "Stack"
INSTANCE_STREAM = "{instance_id}"


def _file_entry(stack_name, name, file_path, retention):
    entry = {"file_path": file_path, "log_group_name": log_group(stack_name, name), "log_stream_name": INSTANCE_STREAM}
    if retention is not None:
        entry["retention_in_days"] = retention
    return entry


def _check_extra_logs(extra_logs, taken):
    if not isinstance(extra_logs, list):
        raise ValueError("extra_logs must be a list; got %r" % (extra_logs,))
    for index, log in enumerate(extra_logs):
        label = "extra_logs[%d]" % index
        if not isinstance(log, dict):
            raise ValueError("%s must be a mapping; got %r" % (label, log))
        for field in ("name", "file_path"):
            if not log.get(field):
                raise ValueError("%s: missing required field '%s'" % (label, field))
        check_name("%s: field 'name'" % label, log["name"])
        if log["name"] in taken:
            raise ValueError(
                "%s: field 'name' %r is already the name of a service or of the system log" % (label, log["name"])
            )
        taken.add(log["name"])
        if "log_retention_days" in log:
            check_retention("%s: field 'log_retention_days'" % label, log["log_retention_days"])


def _logs(services, stack_name, journald, system_log_file, system_log_retention_days, extra_logs, retention):
    def days(item):
        return item.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS) if retention else None

    files = [_file_entry(stack_name, service["name"], "/var/log/%s.log" % service["name"], days(service)) for service in services]
    files += [_file_entry(stack_name, log["name"], log["file_path"], days(log)) for log in extra_logs]
    system_days = system_log_retention_days if retention else None

    collected = {}
    if journald:
        system = {"log_group_name": log_group(stack_name, SYSTEM_LOG), "log_stream_name": INSTANCE_STREAM}
        if system_days is not None:
            system["retention_in_days"] = system_days
        collected["journald"] = {"collect_list": [system]}
    else:
        files.insert(0, _file_entry(stack_name, SYSTEM_LOG, system_log_file, system_days))
    if files:
        collected["files"] = {"collect_list": files}
    return {"logs_collected": collected}


def _metrics(stack_name, namespace):
    # Stack alone: a stack runs one instance at a time, and a copy per instance id (a new series with each
    # replacement) would be billed beside it. A per-plugin dimension: the top-level append_dimensions only
    # takes the fixed ${aws:...} keys.
    stack = {STACK_DIMENSION: stack_name}
    return {
        "namespace": namespace,
        "metrics_collected": {
            "cpu": {
                "measurement": ["cpu_usage_idle", "cpu_usage_user", "cpu_usage_system", "cpu_usage_iowait", "cpu_usage_steal"],
                "totalcpu": True,
                "append_dimensions": stack,
            },
            "mem": {"measurement": ["mem_used_percent"], "append_dimensions": stack},
            "disk": {
                "measurement": ["used_percent"],
                "resources": ["/"],
                "drop_device": True,
                "append_dimensions": stack,
            },
            "swap": {"measurement": ["swap_used_percent"], "append_dimensions": stack},
        },
    }


def _check_interval(what, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 172800:
        raise ValueError("%s must be a whole number of seconds from 1 to 172800; got %r" % (what, value))


def build_config(services, stack_name, region=None, journald=False, system_log_file="/var/log/syslog",
                 system_log_retention_days=DEFAULT_LOG_RETENTION_DAYS, extra_logs=None,
                 namespace=None, metrics_collection_interval=60, retention=True):
    """Return the agent configuration; raise ValueError on bad input."""
    check_name("stack_name", stack_name)
    namespace = metrics_namespace(stack_name) if namespace is None else namespace
    if not isinstance(retention, bool):
        raise ValueError("retention must be true or false; got %r" % (retention,))
    check_service_names(services)
    check_retention("system_log_retention_days", system_log_retention_days)
    _check_interval("metrics_collection_interval", metrics_collection_interval)
    if not isinstance(namespace, str) or not namespace:
        raise ValueError("namespace must be a non-empty string; got %r" % (namespace,))
    if not isinstance(journald, bool):
        raise ValueError("journald must be true or false; got %r" % (journald,))
    if not journald and (not isinstance(system_log_file, str) or not system_log_file.startswith("/")):
        raise ValueError("system_log_file must be an absolute path; got %r" % (system_log_file,))
    # check_service_names() already refused service names that are reserved, "system" among them.
    taken = {service["name"] for service in services} | {SYSTEM_LOG}
    extra_logs = [] if extra_logs is None else extra_logs
    _check_extra_logs(extra_logs, taken)

    # The agent adds the host name as a dimension unless told not to.
    agent = {"metrics_collection_interval": metrics_collection_interval, "omit_hostname": True}
    if region is not None:
        agent["region"] = check_region(region, "region")
    return {
        "agent": agent,
        "metrics": _metrics(stack_name, namespace),
        "logs": _logs(services, stack_name, journald, system_log_file, system_log_retention_days, extra_logs, retention),
    }


def cloudwatch_agent_config(services, stack_name, **options):
    """Filter entry point: `spot_services | spotkit.ec2.cloudwatch_agent_config(stack, **options)`."""
    try:
        return build_config(services, stack_name, **options)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("cloudwatch_agent_config: %s" % to_native(exc))


class FilterModule(object):
    """spotkit.ec2 CloudWatch agent filters."""

    def filters(self):
        return {"cloudwatch_agent_config": cloudwatch_agent_config}
