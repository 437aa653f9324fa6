"""Unit tests for the spotkit.ec2.stack_cost module's look-ups, on stubbed AWS clients."""

from __future__ import annotations

import datetime

import pytest
from botocore.stub import ANY

from ansible_collections.spotkit.ec2.plugins.modules import stack_cost

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def ec2(stub):
    return stub("ec2")


def test_the_spot_prices_in_effect_now_for_linux(ec2):
    client, stubber = ec2
    stubber.add_response("describe_spot_price_history", {"SpotPriceHistory": [
        {"InstanceType": "t4g.nano", "AvailabilityZone": "eu-west-1a", "SpotPrice": "0.001600", "Timestamp": NOW,
         "ProductDescription": "Linux/UNIX"}]},
        {"InstanceTypes": ["t4g.nano"], "ProductDescriptions": ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"], "StartTime": NOW})
    history, failure = stack_cost.spot_history(client, ["t4g.nano"], NOW)
    assert failure == ""
    assert history == [{"instance_type": "t4g.nano", "availability_zone": "eu-west-1a", "price": "0.001600", "timestamp": NOW}]


def test_a_refused_price_history_is_a_reason_not_a_failure(ec2):
    client, stubber = ec2
    stubber.add_client_error("describe_spot_price_history", service_error_code="UnauthorizedOperation",
                             service_message="not allowed", expected_params={
                                 "InstanceTypes": ["t4g.nano"], "ProductDescriptions": ANY, "StartTime": NOW})
    history, failure = stack_cost.spot_history(client, ["t4g.nano"], NOW)
    assert history == [] and "UnauthorizedOperation" in failure


def test_the_snapshots_of_the_stacks_own_images(ec2):
    client, stubber = ec2
    stubber.add_response("describe_images", {"Images": [
        {"ImageId": "ami-1", "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}},
                                                     {"DeviceName": "/dev/xvdb", "VirtualName": "ephemeral0"}]},
        {"ImageId": "ami-2", "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 4}}]},
    ]}, {"Owners": ["self"], "Filters": [{"Name": "tag:spotkit:stack", "Values": ["blog"]}]})
    assert stack_cost.snapshot_size(client, "blog") == 12
