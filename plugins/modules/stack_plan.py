#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), like the collection's other modules.
# The work happens in the action plugin of the same name (plugins/action/stack_plan.py), on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_plan
short_description: Check a stack's variables against the stack API and plan what provisioning creates
version_added: 0.2.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Reads the stack's C(spot_*) variables (the stack API, documented in docs/stack-api.md) and checks every rule
    that an argument spec cannot express, before any AWS call; a stack that breaks rules fails with one message per
    broken rule, each naming the variable and the bad value (for a service, its index, name and field). An C(env)
    value is never repeated.
  - "Rules: the stack name (the inventory hostname); C(spot_region); C(spot_services) (at least one; names valid,
    unique, not reserved, not C(spotkit...); an image reference each, by Docker's grammar; ports
    C(HOST:CONTAINER[/udp]) within 1-65535, none published twice, host port 22 reserved for SSH; volumes
    C(source:/path[:options]) with Docker's options, no host system path unless C(allow_system_mounts); env names and single-line scalar
    values; pull policy; log retention among CloudWatch's values; memory limit, pids limit, capabilities and
    read-only root of the container; no unknown field); C(spot_instance_types) (well
    formed, one architecture, all burstable or none, no mac); C(spot_image_id); C(spot_domain) inside
    C(spot_hosted_zone), a name and not an address; C(spot_ssh_cidrs), only with C(spot_key_name); the keys of C(spot_instance_vars) (the
    on-instance roles' public variables only); C(spot_pull_repo) (C(https://), C(ssh://), scp-style or C(file:///),
    without credentials) and C(spot_pull_version); C(spot_pull_credential) (an SSM parameter of the stack's own);
    C(spot_session_manager), C(spot_tailscale) only with C(spot_tailscale_auth_parameter) (an SSM parameter of the stack's own),
    C(spot_tailscale_ssh) only with C(spot_tailscale);
    C(spot_alarm_email) (addresses, none twice), C(spot_alarm_webhooks) (C(http://) or C(https://) URLs), the alarms'
    thresholds (C(spot_alarm_memory_percent), C(spot_alarm_disk_percent), C(spot_alarm_cpu_percent) 1-99,
    C(spot_alarm_cpu_credits) 1-4608, C(spot_alarm_pull_failures) 1-4), C(spot_alarm_health_check_path) and
    C(spot_alarm_health_check_match); C(spot_instance_policy_arns); C(spot_root_volume_size); C(spot_image_bake),
    C(spot_image_keep) (1-100) and C(spot_image_bake_timeout) (60-14400 seconds); C(spot_lock_timeout) (300-86400
    seconds, longer than the bake timeout of a stack that bakes); fixed endpoint credentials in pairs
    and only with C(spot_endpoint_url)."
  - "Returns what provisioning needs, derived once: names and tags, the architecture and credit model of the
    instance types, the image parameter, the DNS names, the security group rules, the log groups, and the settings
    document the instance reads from C(/etc/spotkit/stack.json), and the stack's alerting: its topic, subscriptions,
    outside health check, alarms, EventBridge rules and metric filter."
  - "With O(base_image), also the stack image's inputs and key (RV(plan.bake)): it asks C(spot_pull_repo) for the
    commit of C(spot_pull_version) with C(git ls-remote), from the controller."
  - Runs on the controller and calls no AWS API.
options:
  stack:
    description: The stack's name. The inventory hostname when left out, as a stack is an inventory host.
    type: str
  base_image:
    description: The stack's base image; given, the plan has RV(plan.bake), the stack image's inputs, key and tags.
    type: str
attributes:
  check_mode:
    support: full
    description: Reads and computes only; it changes nothing in either mode.
  diff_mode:
    support: none
    description: Nothing to compare.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
notes:
  - Reads the variables of the inventory host it runs for; nothing else is an argument but the base image.
"""

EXAMPLES = r"""
- name: Check the stack's variables and plan it
  spotkit.ec2.stack_plan:
  register: stack

- name: Open the services' ports
  amazon.aws.ec2_security_group:
    name: "{{ stack.plan.name }}"
    description: "spotkit stack {{ stack.plan.stack }}"
    rules: "{{ stack.plan.security_group_rules }}"
"""

RETURN = r"""
plan:
  description: What provisioning creates for the stack. No secret is in it.
  returned: success
  type: dict
  contains:
    stack:
      description: The stack's name.
      type: str
    name:
      description: Name of the stack's security group, launch template and Auto Scaling group.
      type: str
      sample: spotkit-blog
    iam_name:
      description: Name of the stack's IAM role and instance profile, with the region (IAM is global).
      type: str
      sample: spotkit-blog-eu-west-1
    tags:
      description: Tags of every taggable resource of the stack.
      type: dict
      sample: {"spotkit:stack": "blog", "Name": "spotkit-blog"}
    tag_key:
      description: Key of the tag that marks the stack's resources.
      type: str
      sample: spotkit:stack
    base_image_tag:
      description: Tag of the launch template that records the base image it was made from.
      type: str
      sample: spotkit:base-image
    architecture:
      description: Architecture of the instance types, as EC2 images name it.
      type: str
      sample: arm64
    burstable:
      description: Whether the instance types earn CPU credits.
      type: bool
    image_id:
      description: The stack's C(spot_image_id); empty when the image is looked up through RV(plan.image_parameter).
      type: str
    image_parameter:
      description: Public SSM parameter naming the latest Debian 13 image of the architecture.
      type: str
      sample: /aws/service/debian/release/13/latest/arm64
    domain:
      description: C(spot_domain) in lowercase without a final dot; empty without DNS.
      type: str
    zone:
      description: The hosted zone holding RV(plan.domain); empty without DNS.
      type: str
    security_group_rules:
      description: Inbound rules for M(amazon.aws.ec2_security_group).
      type: list
      elements: dict
    log_groups:
      description: The stack's log groups (C(name), C(retention)).
      type: list
      elements: dict
    env_parameter:
      description: Name of the SSM SecureString that holds the services' C(env).
      type: str
    env_services:
      description: Names of the services that have an C(env).
      type: list
      elements: str
    instance_parameters:
      description:
        - The SSM parameters the stack's instances read, the only ones the instance role may read and decrypt,
          RV(plan.env_parameter) when a service has an C(env), C(spot_pull_credential) when set, and
          C(spot_tailscale_auth_parameter) with C(spot_tailscale).
      type: list
      elements: str
      sample: [/spotkit/blog/env, /spotkit/blog/deploy-key]
    metrics_namespace:
      description: CloudWatch namespace of the stack's metrics, the stack's own.
      type: str
      sample: spotkit/blog
    access:
      description:
        - How one gets a shell without SSH, C(session_manager) (a bool) and C(tailscale), null or the C(auth_parameter),
          C(ssh) (a bool), C(hostname) and C(tag) of the stack's node.
      type: dict
      sample: {session_manager: true, tailscale: null}
    policy_arns:
      description: The managed policies of C(spot_instance_policy_arns), sorted.
      type: list
      elements: str
    alerting:
      description:
        - The checked alerting variables, C(emails), C(webhooks), C(thresholds) (by variable name, defaults filled in),
          C(health_check_path) and C(health_check_match).
      type: dict
    alerts:
      description:
        - What the stack's alerting consists of, in the shapes M(spotkit.ec2.stack_info) reports what AWS holds.
        - C(topic) (its name, in each of C(topic_regions)), C(topic_tags), C(subscriptions) (C(protocol), C(endpoint)),
          C(health_check) (empty without a published TCP port) and C(health_check_tags), C(alarms) (options of
          M(amazon.aws.cloudwatch_metric_alarm) with their C(region), without actions), C(alarm_names) (by region, every
          alarm the stack may own), C(event_rules) (C(name), C(description), C(event_pattern), C(input_paths_map),
          C(input_template)) and C(event_target_id), C(metric_filter) (on the pull log group), C(group_metrics).
      type: dict
    settings:
      description: The instance's settings, without C(spot_env_version), which is known once the env is stored.
      type: dict
    lock:
      description: The stack's lock (M(spotkit.ec2.stack_lock)), its C(parameter) and its C(timeout) in seconds.
      type: dict
    image:
      description:
        - The stack image's checked variables, C(bake), C(keep) and C(bake_timeout), and its names, C(role_tag),
          C(bake_tag), C(bake_error_tag) and C(builder_name).
      type: dict
    bake:
      description:
        - With O(base_image), the stack image's inputs, C(commit) and C(images) (by service, the digest when the
          reference pins one, else the reference), its C(key) (their sha256 with the base image and the settings),
          and the tags of the image (C(image_tags)) and of its builder (C(builder_tags)).
      returned: with O(base_image)
      type: dict
errors:
  description: One message per broken rule.
  returned: failure
  type: list
  elements: str
"""
