#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), like the amazon.aws module_utils it builds on.

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_info
short_description: What AWS knows about a stack, read in one go
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Reads, without changing anything, what provisioning a stack needs to know before it creates anything, and
    what tearing it down needs to find.
  - "The account and its partition; the region's default subnets and their VPC; the image (found by id, or
    through the public SSM parameter that names it) with its architecture and root device; the public hosted
    zone and the A records in it that name O(domain) or point at the stack's addresses; the Elastic IPs,
    security groups (with their rules) and log groups of the stack (by the tag C(spotkit:stack=<stack>), and
    by the name prefix C(/spotkit/<stack>/) for log groups and SSM parameters); the tags of its launch
    template; its IAM role (C(spotkit-<stack>)) with its policies, and its instance profile."
  - "With O(alerting): the stack's SNS topics (in its region and in us-east-1) with their policy, tags and
    subscriptions, its CloudWatch alarms in both regions (by the names the stack may give them), its Route 53 health
    check (by its C(Name) tag), its EventBridge rules with their targets and tags, and the metric filter of its pull
    log group, each in the shape the stack's plan (M(spotkit.ec2.stack_plan), C(plan.alerts)) gives it."
  - What it reports lets the caller skip a module whose resource already is as wanted.
  - One module, so that one process and one set of AWS clients do what seven info modules would.
  - Something that does not exist is reported empty, never as a failure; the caller decides what it needs.
options:
  stack:
    description: Name of the stack.
    type: str
    required: true
  image_id:
    description: AMI to describe. When empty, O(image_parameter) names it.
    type: str
    default: ""
  image_parameter:
    description:
      - SSM parameter whose value is the newest AMI id, read when O(image_id) is empty.
      - Its image is used only when the launch template records none (O(image_tag)), or with O(image_update).
    type: str
    default: ""
  image_tag:
    description:
      - Tag of the stack's launch template that records the image it was made from. When O(image_id) is empty and
        the tag is there, its image is used rather than the newest one, unless O(image_update).
      - Empty means no image is recorded.
    type: str
    default: ""
  image_update:
    description: Take the newest image of O(image_parameter) even when the launch template records another.
    type: bool
    default: false
  hosted_zone:
    description: Public Route53 hosted zone to find. Empty means none.
    type: str
    default: ""
  domain:
    description: Name whose A record in O(hosted_zone) to report. Empty means none.
    type: str
    default: ""
  iam_name:
    description: Name of the stack's IAM role and instance profile to report. Empty means none.
    type: str
    default: ""
  alerting:
    description: Also report the stack's alerting resources (RV(alerting)), in its region and in us-east-1.
    type: bool
    default: false
  images:
    description: Also report the stack's images (RV(images)), its builder instances (RV(builders)) and snapshots (RV(snapshots)).
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Look up what the blog stack has in AWS
  spotkit.ec2.stack_info:
    stack: blog
    image_parameter: /aws/service/debian/release/13/latest/arm64
    hosted_zone: example.com
  register: found
"""

RETURN = r"""
account:
  description: The AWS account id.
  returned: always
  type: str
  sample: "123456789012"
partition:
  description: The AWS partition of the account.
  returned: always
  type: str
  sample: aws
vpc_id:
  description: The default VPC, the one of the default subnets; empty when the region has none.
  returned: always
  type: str
  sample: vpc-0123456789abcdef0
subnet_ids:
  description: The default subnets of the region (one per availability zone), sorted.
  returned: always
  type: list
  elements: str
image_parameter_value:
  description: The value of O(image_parameter), the newest image; empty when it was not read or does not exist.
  returned: always
  type: str
image_id:
  description: The image the stack uses (see RV(image_source)); empty when there is none.
  returned: always
  type: str
image_source:
  description:
    - Where the image comes from, V(image_id), V(recorded) (the launch template's O(image_tag)) or V(parameter)
      (O(image_parameter)); empty when there is none.
  returned: always
  type: str
image:
  description: The image, empty when it does not exist.
  returned: always
  type: dict
  contains:
    image_id:
      description: The AMI id.
      type: str
    architecture:
      description: V(arm64) or V(x86_64).
      type: str
    root_device_name:
      description: Device name of the root volume.
      type: str
    root_volume_size:
      description: Size of the root volume in GiB.
      type: int
images:
  description:
    - With O(images), the stack's own images (tags C(spotkit:stack=<stack>), C(spotkit:role=image)), newest first.
  returned: always
  type: list
  elements: dict
  contains:
    image_id:
      description: The AMI id.
      type: str
    name:
      description: The image's name.
      type: str
    creation_date:
      description: When it was made, ISO 8601 in UTC.
      type: str
    state:
      description: V(available), V(pending), V(failed), ...
      type: str
    tags:
      description: Its tags.
      type: dict
    snapshot_ids:
      description: The EBS snapshots of its block devices.
      type: list
      elements: str
    root_device_name:
      description: As in RV(image).
      type: str
    root_volume_size:
      description: As in RV(image).
      type: int
builders:
  description: With O(images), the stack's builder instances (tag C(spotkit:role=builder)) that are not terminated.
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance id.
      type: str
    state:
      description: Its state, V(pending), V(running), V(stopping), V(stopped) or V(shutting-down).
      type: str
    tags:
      description: Its tags.
      type: dict
snapshots:
  description: With O(images), the ids of the account's snapshots tagged C(spotkit:stack=<stack>).
  returned: always
  type: list
  elements: str
hosted_zone:
  description:
    - The public hosted zone (C(id) without its C(/hostedzone/) prefix, C(name)); empty when there is none, or
      several (RV(hosted_zones)).
  returned: always
  type: dict
hosted_zones:
  description: Every public hosted zone of the name O(hosted_zone) (C(id), C(name)); AWS allows several.
  returned: always
  type: list
  elements: dict
delegations:
  description: Names between the zone and O(domain) that the zone delegates to other name servers (NS records).
  returned: always
  type: list
  elements: str
addresses:
  description: The stack's Elastic IPs (C(allocation_id), C(public_ip), C(instance_id), C(association_id)).
  returned: always
  type: list
  elements: dict
security_groups:
  description:
    - The stack's security groups (C(group_id), C(group_name), C(vpc_id), C(tags)), with their C(ingress) and
      C(egress) rules in the shape M(amazon.aws.ec2_security_group) takes (C(proto), C(ports), C(cidr_ip) or
      C(cidr_ipv6) or C(group_id) or C(prefix_list_id), C(rule_desc)), one rule per source, in canonical order.
  returned: always
  type: list
  elements: dict
records:
  description: A records of O(hosted_zone) named O(domain) or pointing at one of the stack's addresses (C(name), C(ttl), C(values)).
  returned: always
  type: list
  elements: dict
role:
  description:
    - The stack's IAM role O(iam_name) (C(description), C(trust_policy), C(tags), C(managed_policy_arns),
      C(inline_policies) by name); empty when there is none.
  returned: always
  type: dict
instance_profile:
  description: The stack's instance profile O(iam_name) (C(roles), C(tags)); empty when there is none.
  returned: always
  type: dict
log_groups:
  description: The stack's log groups (C(name), C(retention_in_days), C(tags)).
  returned: always
  type: list
  elements: dict
parameters:
  description: The SSM parameters under C(/spotkit/<stack>/) (C(name), C(version)).
  returned: always
  type: list
  elements: dict
launch_template_tags:
  description: All tags of the launch template tagged with the stack, as EC2 lists them; empty when there is none.
  returned: always
  type: dict
alerting:
  description: The stack's alerting resources; empty lists without O(alerting).
  returned: always
  type: dict
  contains:
    topics:
      description:
        - The stack's topics (C(region), C(name), C(arn), C(policy) as a mapping, C(tags), C(subscriptions) with
          C(protocol), C(endpoint), C(arn) and C(pending), true while the subscription waits for its confirmation).
      type: list
      elements: dict
    alarms:
      description:
        - The stack's metric alarms in the options of M(amazon.aws.cloudwatch_metric_alarm) (C(name), C(region),
          C(namespace), C(metric_name), C(dimensions) as a mapping, C(statistic), C(comparison), C(threshold), C(period),
          C(evaluation_periods), C(datapoints_to_alarm), C(treat_missing_data), C(description), C(alarm_actions),
          C(ok_actions)).
      type: list
      elements: dict
    health_checks:
      description:
        - The Route 53 health checks named for the stack (C(id), C(name), C(type), C(port), C(resource_path), C(fqdn),
          C(ip_address), C(string_match), C(request_interval), C(failure_threshold), C(disabled), C(tags)).
      type: list
      elements: dict
    event_rules:
      description:
        - The stack's EventBridge rules (C(name), C(description), C(event_pattern) as a mapping, C(state), C(tags),
          C(targets) with C(id), C(arn), C(input_paths_map), C(input_template)).
      type: list
      elements: dict
    metric_filters:
      description:
        - The metric filter of the pull log group (C(log_group), C(name), C(pattern), C(metric_name),
          C(metric_namespace), C(metric_value)).
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

from ansible_collections.spotkit.ec2.plugins.module_utils._alerts import PULL_FAILURE_FILTER, alarm_names, topic_regions
from ansible_collections.spotkit.ec2.plugins.module_utils._image import BUILDER_ROLE, IMAGE_ROLE
from ansible_collections.spotkit.ec2.plugins.module_utils._stack import (
    EVENT_RULE_KINDS,
    PULL_LOG,
    ROLE_TAG,
    TAG_KEY as TAG,
    canonical_rules,
    event_rule_name,
    global_name,
    log_group,
    topic_name,
)


def caller(sts):
    arn = sts.get_caller_identity(aws_retry=True)["Arn"]
    parts = arn.split(":")
    return parts[4], parts[1]


def default_subnets(ec2):
    subnets = ec2.describe_subnets(aws_retry=True, Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    vpcs = sorted({subnet["VpcId"] for subnet in subnets})
    return (vpcs[0] if vpcs else ""), sorted(subnet["SubnetId"] for subnet in subnets)


def parameter_value(ssm, name):
    try:
        return ssm.get_parameter(aws_retry=True, Name=name)["Parameter"]["Value"]
    except is_boto3_error_code("ParameterNotFound"):
        return ""


def image(ec2, image_id):
    # By filter: an unknown id is then an empty answer, not an error.
    images = ec2.describe_images(aws_retry=True, Filters=[{"Name": "image-id", "Values": [image_id]}])["Images"]
    if len(images) != 1:
        return {}
    found = images[0]
    root = [m for m in found.get("BlockDeviceMappings", []) if m.get("DeviceName") == found.get("RootDeviceName")]
    return {
        "image_id": found["ImageId"],
        "architecture": found.get("Architecture", ""),
        "root_device_name": found.get("RootDeviceName", ""),
        "root_volume_size": root[0].get("Ebs", {}).get("VolumeSize") if root else None,
    }


def public_zones(route53, name):
    """The public hosted zones of exactly that name (AWS allows several)."""
    wanted = name.lower().rstrip(".") + "."
    zones = route53.list_hosted_zones_by_name(aws_retry=True, DNSName=wanted)["HostedZones"]
    return [{"id": zone["Id"].replace("/hostedzone/", ""), "name": wanted.rstrip(".")}
            for zone in zones if zone["Name"] == wanted and not zone.get("Config", {}).get("PrivateZone")]


def addresses(ec2, stack):
    found = ec2.describe_addresses(aws_retry=True, Filters=[{"Name": "tag:%s" % TAG, "Values": [stack]}])["Addresses"]
    return [
        {"allocation_id": a.get("AllocationId"), "public_ip": a.get("PublicIp"), "instance_id": a.get("InstanceId", ""),
         "association_id": a.get("AssociationId", "")}
        for a in found
    ]


def tags_of(items):
    return {tag["Key"]: tag["Value"] for tag in items or []}


def _stack_filters(stack, role):
    return [{"Name": "tag:%s" % TAG, "Values": [stack]}, {"Name": "tag:%s" % ROLE_TAG, "Values": [role]}]


def stack_images(ec2, stack):
    """The stack's own images, newest first."""
    found = ec2.describe_images(aws_retry=True, Owners=["self"], Filters=_stack_filters(stack, IMAGE_ROLE))["Images"]
    images = []
    for item in found:
        mappings = item.get("BlockDeviceMappings", [])
        root = [m for m in mappings if m.get("DeviceName") == item.get("RootDeviceName")]
        images.append({
            "image_id": item["ImageId"], "name": item.get("Name", ""), "creation_date": item.get("CreationDate", ""),
            "state": item.get("State", ""), "tags": tags_of(item.get("Tags")),
            "snapshot_ids": [m["Ebs"]["SnapshotId"] for m in mappings if m.get("Ebs", {}).get("SnapshotId")],
            "root_device_name": item.get("RootDeviceName", ""),
            "root_volume_size": root[0].get("Ebs", {}).get("VolumeSize") if root else None,
        })
    return sorted(images, key=lambda image: (image["creation_date"], image["image_id"]), reverse=True)


def builders(ec2, stack):
    """The stack's builder instances that are not terminated."""
    filters = _stack_filters(stack, BUILDER_ROLE) + [
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped", "shutting-down"]}]
    reservations = ec2.describe_instances(aws_retry=True, Filters=filters)["Reservations"]
    return [{"instance_id": i["InstanceId"], "state": i["State"]["Name"], "tags": tags_of(i.get("Tags"))}
            for reservation in reservations for i in reservation["Instances"]]


def snapshots(ec2, stack):
    found = ec2.describe_snapshots(aws_retry=True, OwnerIds=["self"], Filters=[{"Name": "tag:%s" % TAG, "Values": [stack]}])
    return sorted(snapshot["SnapshotId"] for snapshot in found["Snapshots"])


# Where an IP permission lets traffic come from, and the rule key amazon.aws.ec2_security_group gives it.
SOURCES = (("IpRanges", "CidrIp", "cidr_ip"), ("Ipv6Ranges", "CidrIpv6", "cidr_ipv6"),
           ("UserIdGroupPairs", "GroupId", "group_id"), ("PrefixListIds", "PrefixListId", "prefix_list_id"))


def rules(permissions):
    """IP permissions as rules of amazon.aws.ec2_security_group, one per source, in canonical order."""
    found = []
    for permission in permissions:
        low, high = permission.get("FromPort"), permission.get("ToPort")
        ports = [] if low is None else [low] if low == high else ["%d-%d" % (low, high)]
        for field, key, rule_key in SOURCES:
            for source in permission.get(field, []):
                found.append({"proto": permission["IpProtocol"], "ports": ports, rule_key: source[key],
                              "rule_desc": source.get("Description", "")})
    return canonical_rules(found)


def security_groups(ec2, stack):
    found = ec2.describe_security_groups(aws_retry=True, Filters=[{"Name": "tag:%s" % TAG, "Values": [stack]}])["SecurityGroups"]
    return [
        {"group_id": g["GroupId"], "group_name": g["GroupName"], "vpc_id": g.get("VpcId", ""), "tags": tags_of(g.get("Tags")),
         "ingress": rules(g.get("IpPermissions", [])), "egress": rules(g.get("IpPermissionsEgress", []))}
        for g in found
    ]


def records(route53, zone, domain, stack_addresses):
    """(A records of the zone that name the domain or point at one of the stack's addresses,
    names between the zone and the domain that the zone delegates with NS records)."""
    wanted = domain.lower().rstrip(".")
    found, delegated = [], []
    for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone["id"]):
        for record in page["ResourceRecordSets"]:
            name = record["Name"].rstrip(".").lower()
            if record["Type"] == "NS" and name != zone["name"] and wanted and (wanted == name or wanted.endswith("." + name)):
                delegated.append(name)
            if record["Type"] != "A" or "AliasTarget" in record:
                continue
            values = [item["Value"] for item in record.get("ResourceRecords", [])]
            if name == wanted or set(values) & set(stack_addresses):
                found.append({"name": name, "ttl": record.get("TTL"), "values": values})
    return found, delegated


def role(iam, name):
    try:
        found = iam.get_role(aws_retry=True, RoleName=name)["Role"]
    except is_boto3_error_code("NoSuchEntity"):
        return {}
    attached = iam.list_attached_role_policies(aws_retry=True, RoleName=name)["AttachedPolicies"]
    inline = iam.list_role_policies(aws_retry=True, RoleName=name)["PolicyNames"]
    return {
        "description": found.get("Description", ""),
        "trust_policy": found.get("AssumeRolePolicyDocument", {}),
        "tags": tags_of(found.get("Tags")),
        "managed_policy_arns": [policy["PolicyArn"] for policy in attached],
        "inline_policies": {
            policy: iam.get_role_policy(aws_retry=True, RoleName=name, PolicyName=policy)["PolicyDocument"] for policy in inline
        },
    }


def instance_profile(iam, name):
    try:
        found = iam.get_instance_profile(aws_retry=True, InstanceProfileName=name)["InstanceProfile"]
    except is_boto3_error_code("NoSuchEntity"):
        return {}
    return {"roles": [item["RoleName"] for item in found.get("Roles", [])], "tags": tags_of(found.get("Tags"))}


def launch_template_tags(ec2, stack):
    """Tags of the stack's launch template, from DescribeTags (which lists tags added after creation too)."""
    tagged = ec2.describe_tags(aws_retry=True, Filters=[
        {"Name": "resource-type", "Values": ["launch-template"]},
        {"Name": "key", "Values": [TAG]},
        {"Name": "value", "Values": [stack]},
    ])["Tags"]
    ids = sorted({tag["ResourceId"] for tag in tagged})
    if len(ids) != 1:
        return {}
    tags = ec2.describe_tags(aws_retry=True, Filters=[{"Name": "resource-id", "Values": ids}])["Tags"]
    return {tag["Key"]: tag["Value"] for tag in tags}


def parameters(ssm, stack):
    found = []
    paginator = ssm.get_paginator("describe_parameters")
    for page in paginator.paginate(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/spotkit/%s" % stack]}]):
        found.extend({"name": p["Name"], "version": p.get("Version")} for p in page["Parameters"])
    return found


def log_groups(logs, stack):
    groups = []
    paginator = logs.get_paginator("describe_log_groups")
    for page in paginator.paginate(logGroupNamePrefix="/spotkit/%s/" % stack):
        for group in page["logGroups"]:
            tags = logs.list_tags_log_group(aws_retry=True, logGroupName=group["logGroupName"]).get("tags", {})
            groups.append({"name": group["logGroupName"], "retention_in_days": group.get("retentionInDays"), "tags": tags})
    return groups


def topic(sns, arn, region):
    """The topic of that ARN with its policy, tags and subscriptions; empty when it does not exist."""
    try:
        attributes = sns.get_topic_attributes(aws_retry=True, TopicArn=arn)["Attributes"]
    except is_boto3_error_code("NotFound"):
        return {}
    subscriptions = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn):
        for item in page["Subscriptions"]:
            pending = item["SubscriptionArn"] == "PendingConfirmation"
            subscriptions.append({"protocol": item["Protocol"], "endpoint": item["Endpoint"], "pending": pending,
                                  "arn": "" if pending else item["SubscriptionArn"]})
    return {
        "region": region, "name": arn.rsplit(":", 1)[1], "arn": arn,
        "policy": json.loads(attributes["Policy"]) if attributes.get("Policy") else {},
        "tags": tags_of(sns.list_tags_for_resource(aws_retry=True, ResourceArn=arn).get("Tags")),
        "subscriptions": sorted(subscriptions, key=lambda item: (item["protocol"], item["endpoint"])),
    }


def alarms(cloudwatch, region, names):
    """The metric alarms of those names, in the options of amazon.aws.cloudwatch_metric_alarm."""
    found = cloudwatch.describe_alarms(aws_retry=True, AlarmNames=names, AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    return [
        {"name": alarm["AlarmName"], "region": region, "namespace": alarm.get("Namespace", ""),
         "metric_name": alarm.get("MetricName", ""),
         "dimensions": {item["Name"]: item["Value"] for item in alarm.get("Dimensions") or []},
         "statistic": alarm.get("Statistic", ""), "comparison": alarm.get("ComparisonOperator", ""),
         "threshold": alarm.get("Threshold"), "period": alarm.get("Period"), "evaluation_periods": alarm.get("EvaluationPeriods"),
         "datapoints_to_alarm": alarm.get("DatapointsToAlarm"), "treat_missing_data": alarm.get("TreatMissingData", "missing"),
         "description": alarm.get("AlarmDescription", ""), "alarm_actions": alarm.get("AlarmActions") or [],
         "ok_actions": alarm.get("OKActions") or []}
        for alarm in found
    ]


def health_checks(route53, stack, name):
    """The Route 53 health checks tagged with the stack and named `name`."""
    checks = []
    for page in route53.get_paginator("list_health_checks").paginate():
        checks.extend(page["HealthChecks"])
    tags = {}
    ids = [check["Id"] for check in checks]
    # ListTagsForResources takes at most 10 ids.
    for start in range(0, len(ids), 10):
        for item in route53.list_tags_for_resources(aws_retry=True, ResourceType="healthcheck", ResourceIds=ids[start:start + 10])["ResourceTagSets"]:
            tags[item["ResourceId"]] = tags_of(item.get("Tags"))
    found = []
    for check in checks:
        check_tags = tags.get(check["Id"], {})
        if check_tags.get("Name") != name or check_tags.get(TAG) != stack:
            continue
        config = check["HealthCheckConfig"]
        found.append({
            "id": check["Id"], "name": name, "tags": check_tags, "type": config["Type"], "port": config.get("Port"),
            "resource_path": config.get("ResourcePath", ""), "fqdn": config.get("FullyQualifiedDomainName", ""),
            "ip_address": config.get("IPAddress", ""), "string_match": config.get("SearchString", ""),
            "request_interval": config.get("RequestInterval"), "failure_threshold": config.get("FailureThreshold"),
            "disabled": bool(config.get("Disabled")),
        })
    return found


def event_rules(events, names):
    """The EventBridge rules of those names (on the default bus), with their targets and tags."""
    found = []
    for name in names:
        try:
            rule = events.describe_rule(aws_retry=True, Name=name)
        except is_boto3_error_code("ResourceNotFoundException"):
            continue
        targets = events.list_targets_by_rule(aws_retry=True, Rule=name).get("Targets") or []
        found.append({
            "name": name, "description": rule.get("Description", ""), "state": rule.get("State", ""),
            "event_pattern": json.loads(rule["EventPattern"]) if rule.get("EventPattern") else {},
            "tags": tags_of(events.list_tags_for_resource(aws_retry=True, ResourceARN=rule["Arn"]).get("Tags")),
            "targets": [{"id": target["Id"], "arn": target["Arn"],
                         "input_paths_map": (target.get("InputTransformer") or {}).get("InputPathsMap", {}),
                         "input_template": (target.get("InputTransformer") or {}).get("InputTemplate", "")}
                        for target in targets],
        })
    return found


def metric_filters(logs, group, name):
    """The metric filter `name` of the log group, with its one metric transformation."""
    try:
        found = logs.describe_metric_filters(aws_retry=True, logGroupName=group, filterNamePrefix=name)["metricFilters"]
    except is_boto3_error_code("ResourceNotFoundException"):
        return []
    filters = []
    for item in found:
        if item["filterName"] != name:
            continue
        transformation = (item.get("metricTransformations") or [{}])[0]
        filters.append({"log_group": group, "name": name, "pattern": item.get("filterPattern", ""),
                        "metric_name": transformation.get("metricName", ""),
                        "metric_namespace": transformation.get("metricNamespace", ""),
                        "metric_value": transformation.get("metricValue", "")})
    return filters


def alerting(module, retry, stack, region, account, partition):
    """What the stack has of its alerting, in its region and in the health check's."""
    found = {"topics": [], "alarms": [], "health_checks": [], "event_rules": [], "metric_filters": []}
    name = topic_name(stack, region)
    for where in topic_regions(region):
        sns = module.client("sns", retry_decorator=retry, region=where)
        found_topic = topic(sns, "arn:%s:sns:%s:%s:%s" % (partition, where, account, name), where)
        if found_topic:
            found["topics"].append(found_topic)
    for where, names in alarm_names(stack, region).items():
        found["alarms"].extend(alarms(module.client("cloudwatch", retry_decorator=retry, region=where), where, names))
    found["health_checks"] = health_checks(module.client("route53", retry_decorator=retry), stack, global_name(stack, region))
    found["event_rules"] = event_rules(module.client("events", retry_decorator=retry),
                                       [event_rule_name(stack, kind) for kind in EVENT_RULE_KINDS])
    found["metric_filters"] = metric_filters(module.client("logs", retry_decorator=retry), log_group(stack, PULL_LOG),
                                             PULL_FAILURE_FILTER)
    return found


def chosen_image(params, found):
    """(image id, where it comes from): the given one; else the one the launch template records, unless
    an update is asked; else the newest."""
    recorded = found["launch_template_tags"].get(params["image_tag"], "") if params["image_tag"] else ""
    for image_id, source in ((params["image_id"], "image_id"),
                             ("" if params["image_update"] else recorded, "recorded"),
                             (found["image_parameter_value"], "parameter")):
        if image_id:
            return image_id, source
    return "", ""


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            stack=dict(type="str", required=True),
            image_id=dict(type="str", default=""),
            image_parameter=dict(type="str", default=""),
            image_tag=dict(type="str", default=""),
            image_update=dict(type="bool", default=False),
            hosted_zone=dict(type="str", default=""),
            domain=dict(type="str", default=""),
            iam_name=dict(type="str", default=""),
            alerting=dict(type="bool", default=False),
            images=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    retry = AWSRetry.jittered_backoff()
    ec2 = module.client("ec2", retry_decorator=retry)
    result = {"changed": False, "image_parameter_value": "", "image_id": "", "image_source": "", "image": {}, "hosted_zone": {},
              "hosted_zones": [], "records": [], "delegations": [], "images": [], "builders": [], "snapshots": [],
              "alerting": {"topics": [], "alarms": [], "health_checks": [], "event_rules": [], "metric_filters": []}}
    try:
        result["account"], result["partition"] = caller(module.client("sts", retry_decorator=retry))
        result["vpc_id"], result["subnet_ids"] = default_subnets(ec2)
        ssm = module.client("ssm", retry_decorator=retry)
        result["launch_template_tags"] = launch_template_tags(ec2, params["stack"])
        if not params["image_id"] and params["image_parameter"]:
            result["image_parameter_value"] = parameter_value(ssm, params["image_parameter"])
        result["image_id"], result["image_source"] = chosen_image(params, result)
        image_id = result["image_id"]
        if image_id:
            result["image"] = image(ec2, image_id)
        result["addresses"] = addresses(ec2, params["stack"])
        if params["hosted_zone"]:
            route53 = module.client("route53", retry_decorator=retry)
            result["hosted_zones"] = public_zones(route53, params["hosted_zone"])
            # Several zones of that name: reported, never guessed.
            if len(result["hosted_zones"]) == 1:
                result["hosted_zone"] = result["hosted_zones"][0]
                result["records"], result["delegations"] = records(route53, result["hosted_zone"], params["domain"],
                                                                   [address["public_ip"] for address in result["addresses"]])
        result["security_groups"] = security_groups(ec2, params["stack"])
        result["log_groups"] = log_groups(module.client("logs", retry_decorator=retry), params["stack"])
        result["parameters"] = parameters(ssm, params["stack"])
        result["role"], result["instance_profile"] = {}, {}
        if params["iam_name"]:
            iam = module.client("iam", retry_decorator=retry)
            result["role"] = role(iam, params["iam_name"])
            result["instance_profile"] = instance_profile(iam, params["iam_name"])
        if params["images"]:
            result["images"], result["builders"] = stack_images(ec2, params["stack"]), builders(ec2, params["stack"])
            result["snapshots"] = snapshots(ec2, params["stack"])
        if params["alerting"]:
            result["alerting"] = alerting(module, retry, params["stack"], module.region, result["account"], result["partition"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Looking up stack %s" % params["stack"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
