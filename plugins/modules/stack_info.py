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
"""

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.spotkit.ec2.plugins.module_utils._stack import TAG_KEY as TAG, canonical_rules


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
        ),
        supports_check_mode=True,
    )
    params = module.params
    retry = AWSRetry.jittered_backoff()
    ec2 = module.client("ec2", retry_decorator=retry)
    result = {"changed": False, "image_parameter_value": "", "image_id": "", "image_source": "", "image": {}, "hosted_zone": {},
              "hosted_zones": [], "records": [], "delegations": []}
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
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Looking up stack %s" % params["stack"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
