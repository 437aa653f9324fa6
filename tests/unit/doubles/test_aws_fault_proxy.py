"""The fault-injecting proxy (a test double) fails what it is told to, in the form botocore reads
as an EC2 error, and forwards everything else to the real emulator."""

from __future__ import annotations

import argparse
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

import aws_fault_proxy
from http_double import RequestLog, serve


@pytest.fixture(name="emulator", scope="module")
def fixture_emulator():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield "http://%s:%d" % server.get_host_and_port()
    server.stop()


@pytest.fixture(name="proxy")
def fixture_proxy(emulator, tmp_path):
    faults = aws_fault_proxy.Faults([("DescribeAddresses", 1, "UnauthorizedOperation"), ("AssociateAddress", 2, "AuthFailure")])
    log = tmp_path / "proxy.jsonl"
    (server,) = serve([("127.0.0.1", 0)], aws_fault_proxy.make_handler(faults, emulator, RequestLog(str(log))))
    yield "http://%s:%d" % server.server_address[:2], log
    server.shutdown()


def ec2_client(url):
    return boto3.client(
        "ec2", region_name="eu-west-1", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test",
        config=boto3.session.Config(retries={"max_attempts": 1}),
    )


def error_code(call, *args, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_injects_the_planned_errors_then_forwards(proxy):
    url, log = proxy
    ec2 = ec2_client(url)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]

    assert error_code(ec2.describe_addresses) == ("UnauthorizedOperation", 403)
    assert [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]] == [allocation]
    assert error_code(ec2.associate_address, AllocationId=allocation, InstanceId=instance) == ("AuthFailure", 401)
    assert error_code(ec2.associate_address, AllocationId=allocation, InstanceId=instance) == ("AuthFailure", 401)
    ec2.associate_address(AllocationId=allocation, InstanceId=instance)
    assert ec2.describe_addresses()["Addresses"][0]["InstanceId"] == instance

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    injected = [(e["action"], e["injected"], e["status"]) for e in entries if e["injected"]]
    assert injected == [
        ("DescribeAddresses", "UnauthorizedOperation", 403),
        ("AssociateAddress", "AuthFailure", 401),
        ("AssociateAddress", "AuthFailure", 401),
    ]
    assert [e["status"] for e in entries if e["action"] == "AssociateAddress" and not e["injected"]] == [200]


def test_counts_faults_per_client():
    faults = aws_fault_proxy.Faults([("AssociateAddress", 1, "AuthFailure")])
    assert faults.take("172.17.0.2", "AssociateAddress") == "AuthFailure"
    assert faults.take("172.17.0.2", "AssociateAddress") is None
    assert faults.take("172.17.0.3", "AssociateAddress") == "AuthFailure"
    assert faults.take("172.17.0.3", "DescribeAddresses") is None


@pytest.mark.parametrize("text, expected", [
    ("AssociateAddress=2", ("AssociateAddress", 2, "AuthFailure")),
    ("DescribeAddresses=1:UnauthorizedOperation", ("DescribeAddresses", 1, "UnauthorizedOperation")),
])
def test_parse_fault(text, expected):
    assert aws_fault_proxy.parse_fault(text) == expected


@pytest.mark.parametrize("text", ["AssociateAddress", "=2", "AssociateAddress=two", "AssociateAddress=1:Throttling"])
def test_parse_fault_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError, match="ACTION=COUNT"):
        aws_fault_proxy.parse_fault(text)


@pytest.mark.parametrize("path, content_type, body, expected", [
    ("/", "application/x-www-form-urlencoded; charset=utf-8", b"Action=AssociateAddress&Version=2016-11-15", "AssociateAddress"),
    ("/?Action=DescribeAddresses", "", b"", "DescribeAddresses"),
    ("/", "application/json", b'{"Action": "x"}', None),
])
def test_request_action(path, content_type, body, expected):
    assert aws_fault_proxy.request_action(path, content_type, body) == expected
