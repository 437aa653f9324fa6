#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# Licensed under the MIT License (see LICENSE) or, at your option, the GNU General Public License v3.0+
# (see https://www.gnu.org/licenses/gpl-3.0.txt), like the amazon.aws module_utils it builds on.

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_cost
short_description: The modeled monthly cost of a stack, line by line
version_added: 0.2.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Models what a stack costs running all month (730 hours), line by line, and the total, in USD before taxes.
  - "Lines: the spot instance (the first of O(instance_types), at the median of the availability zones' current spot
    prices from DescribeSpotPriceHistory; when it gives no price of the last 90 days, a typical spot price from a dated
    table of on-demand prices), the Elastic IP's public IPv4 address, the root volume, snapshots of the stack's own
    images (tagged C(spotkit:stack)), alarms beyond CloudWatch's free 10, the Route 53 health check, custom metrics
    beyond the free 10, the stack's share of its hosted zone, and its state bucket when O(state_services) keep state
    there (S3 Standard storage and the saves' requests, under the assumptions the line states)."
  - Free tiers are per account; they are counted as if the stack were the account's only one, and each line says what
    it would cost without them.
  - Reads only; changes nothing.
options:
  stack:
    description: Name of the stack; its images are found by the tag C(spotkit:stack).
    type: str
    required: true
  instance_types:
    description: The stack's instance types; the first is the one modeled, the others' spot prices are shown beside it.
    type: list
    elements: str
    required: true
  volume_size:
    description: Size of the instance's root volume in GiB.
    type: int
    required: true
  hosted_zone:
    description: The hosted zone of the stack's domain; empty for none.
    type: str
    default: ""
  zone_stacks:
    description: How many stacks share O(hosted_zone); its price is split among them.
    type: int
    default: 1
  health_check_type:
    description: Route 53's type of the stack's health check (C(HTTP), C(HTTPS), C(HTTP_STR_MATCH), ...); empty for none.
    type: str
    default: ""
  alarms:
    description: Number of the stack's alarms.
    type: int
    default: 0
  custom_metrics:
    description: Number of custom metrics the stack publishes (the CloudWatch agent's, and the metric filters').
    type: int
    default: 0
  state_services:
    description: How many of the stack's services keep state in its bucket; 0 for none (no bucket).
    type: int
    default: 0
  noncurrent_days:
    description: Days the state bucket keeps an old version of a service's state.
    type: int
    default: 30
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Model what the blog stack costs a month
  spotkit.ec2.stack_cost:
    stack: blog
    instance_types: [t4g.nano, t4g.micro]
    volume_size: 8
    hosted_zone: example.com
    health_check_type: HTTP
    alarms: 6
    custom_metrics: 17
  register: cost

- name: Print it
  ansible.builtin.debug:
    msg: "{{ cost.text }}"
"""

RETURN = r"""
lines:
  description: One per item (C(item), C(monthly) in USD or null where no price is known, C(detail)).
  returned: always
  type: list
  elements: dict
total:
  description: The sum of the lines that have a price, in USD.
  returned: always
  type: float
  sample: 8.69
complete:
  description: Whether every line has a price.
  returned: always
  type: bool
spot_source:
  description: Where the spot price comes from, V(DescribeSpotPriceHistory) or V(table).
  returned: always
  type: str
text:
  description: The cost as lines of text, a header, the items and the total.
  returned: always
  type: list
  elements: str
"""

import datetime

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.spotkit.ec2.plugins.module_utils._cost import cost_text, current_spot_prices, monthly_cost
from ansible_collections.spotkit.ec2.plugins.module_utils._stack import TAG_KEY

# What DescribeSpotPriceHistory calls a Linux instance, in a VPC and in EC2-Classic's days.
PRODUCTS = ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"]


def spot_history(ec2, instance_types, now):
    """The prices in effect now, one per type and zone: (history, why there is none)."""
    try:
        history = []
        paginator = ec2.get_paginator("describe_spot_price_history")
        for page in paginator.paginate(InstanceTypes=instance_types, ProductDescriptions=PRODUCTS, StartTime=now):
            history.extend({"instance_type": item["InstanceType"], "availability_zone": item["AvailabilityZone"],
                            "price": item["SpotPrice"], "timestamp": item["Timestamp"]}
                           for item in page["SpotPriceHistory"])
        return history, ""
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        return [], "DescribeSpotPriceHistory failed: %s" % exc


def snapshot_size(ec2, stack):
    """GiB of EBS snapshots behind the stack's own images."""
    images = ec2.describe_images(aws_retry=True, Owners=["self"], Filters=[{"Name": "tag:%s" % TAG_KEY, "Values": [stack]}])["Images"]
    return sum(mapping.get("Ebs", {}).get("VolumeSize") or 0 for image in images for mapping in image.get("BlockDeviceMappings", []))


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            stack=dict(type="str", required=True),
            instance_types=dict(type="list", elements="str", required=True),
            volume_size=dict(type="int", required=True),
            hosted_zone=dict(type="str", default=""),
            zone_stacks=dict(type="int", default=1),
            health_check_type=dict(type="str", default=""),
            alarms=dict(type="int", default=0),
            custom_metrics=dict(type="int", default=0),
            state_services=dict(type="int", default=0),
            noncurrent_days=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not params["instance_types"]:
        module.fail_json(msg="instance_types must not be empty")
    ec2 = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    now = datetime.datetime.now(datetime.timezone.utc)
    history, failure = spot_history(ec2, params["instance_types"], now)
    try:
        snapshots = snapshot_size(ec2, params["stack"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Looking up the images of stack %s" % params["stack"])
    cost = monthly_cost(
        module.region, params["instance_types"], history, now, params["volume_size"], snapshots, params["hosted_zone"],
        params["zone_stacks"], params["health_check_type"], params["alarms"], params["custom_metrics"], failure,
        params["state_services"], params["noncurrent_days"])
    source = "DescribeSpotPriceHistory" if params["instance_types"][0] in current_spot_prices(history, now) else "table"
    module.exit_json(changed=False, spot_source=source, text=cost_text(params["stack"], module.region, cost), **cost)


if __name__ == "__main__":
    main()
