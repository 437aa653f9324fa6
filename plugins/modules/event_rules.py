#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), like the amazon.aws module_utils it builds on.

from __future__ import annotations

DOCUMENTATION = r"""
module: event_rules
short_description: EventBridge rules whose targets get a plain-text message
version_added: 0.2.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Creates, updates or deletes EventBridge rules on the default event bus, each with an event pattern and targets
    whose input transformer turns the event into a message.
  - Unlike M(amazon.aws.cloudwatchevent_rule), it sends an input template as given, so that a plain-text template
    reaches an SNS topic as plain text (that module wraps it in quotes, which the message then shows), it tags the
    rules, and it supports check mode.
  - A rule's targets are exactly the listed ones; its tags are exactly O(tags).
options:
  rules:
    description: The rules. With O(state=absent), only their names are read.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the rule.
        type: str
        required: true
      description:
        description: Description of the rule.
        type: str
        default: ""
      event_pattern:
        description: The event pattern, as a mapping. Required when O(state=present).
        type: dict
      targets:
        description: The rule's targets.
        type: list
        elements: dict
        default: []
        suboptions:
          id:
            description: Id of the target within the rule.
            type: str
            required: true
          arn:
            description: ARN of the target, e.g. an SNS topic.
            type: str
            required: true
          input_paths_map:
            description: Variables of the template, each a JSON path into the event.
            type: dict
            default: {}
          input_template:
            description:
              - The message, with the variables as C(<name>). Sent as given; plain text stays plain text.
            type: str
            required: true
  tags:
    description: Tags of each rule.
    type: dict
    default: {}
  state:
    description: Whether the rules exist. Deleting a rule removes its targets first.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode and diff mode.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Say on the stack's topic when its group launches an instance
  spotkit.ec2.event_rules:
    rules:
      - name: spotkit-blog-launch
        description: The group's launches
        event_pattern:
          source: [aws.autoscaling]
          detail-type: [EC2 Instance Launch Successful]
          detail:
            AutoScalingGroupName: [spotkit-blog]
        targets:
          - id: spotkit-topic
            arn: arn:aws:sns:eu-west-1:123456789012:spotkit-blog-eu-west-1
            input_paths_map:
              instance: $.detail.EC2InstanceId
            input_template: "blog: instance <instance> launched"
    tags:
      spotkit:stack: blog

- name: Remove them
  spotkit.ec2.event_rules:
    rules:
      - name: spotkit-blog-launch
    state: absent
"""

RETURN = r"""
rules:
  description: The rules as they are afterwards (C(name), C(description), C(event_pattern), C(state), C(targets), C(tags)); none once deleted.
  returned: always
  type: list
  elements: dict
"""

import json

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

STATE = "ENABLED"


def describe(client, name):
    """A rule as the module's options spell it, with its state; None when it does not exist."""
    try:
        rule = client.describe_rule(aws_retry=True, Name=name)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    targets = client.list_targets_by_rule(aws_retry=True, Rule=name).get("Targets") or []
    tags = client.list_tags_for_resource(aws_retry=True, ResourceARN=rule["Arn"]).get("Tags") or []
    return {
        "name": name,
        "arn": rule["Arn"],
        "description": rule.get("Description", ""),
        "event_pattern": json.loads(rule["EventPattern"]) if rule.get("EventPattern") else {},
        "state": rule.get("State", ""),
        "targets": [target_of(target) for target in targets],
        "tags": {tag["Key"]: tag["Value"] for tag in tags},
    }


def target_of(target):
    """A target as EventBridge describes it, as the module's options spell it."""
    transformer = target.get("InputTransformer") or {}
    return {"id": target["Id"], "arn": target["Arn"], "input_paths_map": transformer.get("InputPathsMap") or {},
            "input_template": transformer.get("InputTemplate", "")}


def target_request(target):
    return {"Id": target["id"], "Arn": target["arn"],
            "InputTransformer": {"InputPathsMap": target["input_paths_map"], "InputTemplate": target["input_template"]}}


def wanted(rule, tags):
    """The state a listed rule should have, in describe()'s shape without its ARN."""
    return {"name": rule["name"], "description": rule["description"], "event_pattern": rule["event_pattern"], "state": STATE,
            "targets": [dict(target) for target in rule["targets"]], "tags": dict(tags)}


def comparable(found):
    return {key: value for key, value in found.items() if key != "arn"} if found else {}


def ensure_present(module, client, rule, tags):
    """Bring one rule to its wanted state; (changed, before, after)."""
    found = describe(client, rule["name"])
    want = wanted(rule, tags)
    before = comparable(found)
    if before == want:
        return False, before, want
    if module.check_mode:
        return True, before, want
    name = rule["name"]
    if not found or (before["description"], before["event_pattern"], before["state"]) != (want["description"], want["event_pattern"], STATE):
        request = {"Name": name, "EventPattern": json.dumps(rule["event_pattern"], sort_keys=True), "State": STATE,
                   "Description": rule["description"]}
        if not found:
            request["Tags"] = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
        client.put_rule(aws_retry=True, **request)
    found = describe(client, name)
    wanted_ids = {target["id"] for target in want["targets"]}
    stale = [target["id"] for target in found["targets"] if target["id"] not in wanted_ids]
    if stale:
        client.remove_targets(aws_retry=True, Rule=name, Ids=stale)
    put = [target for target in want["targets"] if target not in found["targets"]]
    if put:
        client.put_targets(aws_retry=True, Rule=name, Targets=[target_request(target) for target in put])
    to_tag = {key: value for key, value in tags.items() if found["tags"].get(key) != value}
    if to_tag:
        client.tag_resource(aws_retry=True, ResourceARN=found["arn"], Tags=[{"Key": key, "Value": value} for key, value in sorted(to_tag.items())])
    to_untag = sorted(set(found["tags"]) - set(tags))
    if to_untag:
        client.untag_resource(aws_retry=True, ResourceARN=found["arn"], TagKeys=to_untag)
    return True, before, comparable(describe(client, name))


def ensure_absent(module, client, name):
    found = describe(client, name)
    if not found:
        return False, {}, {}
    if not module.check_mode:
        if found["targets"]:
            client.remove_targets(aws_retry=True, Rule=name, Ids=[target["id"] for target in found["targets"]])
        client.delete_rule(aws_retry=True, Name=name)
    return True, comparable(found), {}


def main():
    target_options = dict(
        id=dict(type="str", required=True),
        arn=dict(type="str", required=True),
        input_paths_map=dict(type="dict", default={}),
        input_template=dict(type="str", required=True),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            rules=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                description=dict(type="str", default=""),
                event_pattern=dict(type="dict"),
                targets=dict(type="list", elements="dict", default=[], options=target_options),
            )),
            tags=dict(type="dict", default={}),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "present":
        missing = [rule["name"] for rule in params["rules"] if not rule["event_pattern"]]
        if missing:
            module.fail_json(msg="event_pattern is required for a rule that is present; missing for %s" % ", ".join(missing))
    client = module.client("events", retry_decorator=AWSRetry.jittered_backoff())
    changed, before, after, rules = False, {}, {}, []
    try:
        for rule in params["rules"]:
            if params["state"] == "present":
                rule_changed, was, now = ensure_present(module, client, rule, params["tags"])
                rules.append(now)
            else:
                rule_changed, was, now = ensure_absent(module, client, rule["name"])
            changed |= rule_changed
            before[rule["name"]], after[rule["name"]] = was, now
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="EventBridge rules %s" % ", ".join(rule["name"] for rule in params["rules"]))
    result = {"changed": changed, "rules": rules}
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
