"""The eip role attached each platform's Elastic IP to the instance id it read, through injected
credential errors, with growing waits, reading its identity only the way it should."""

from __future__ import annotations

import http.client
import json
import os
import urllib.parse

import boto3
import pytest

STATE_DIR = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]


@pytest.fixture(name="state")
def fixture_state(host):
    """What prepare.yml set up for this platform (stack, instances, address, doubles)."""
    with open(os.path.join(STATE_DIR, host.backend.get_hostname() + ".json"), encoding="utf-8") as stream:
        return json.load(stream)


@pytest.fixture(name="address")
def fixture_address(host):
    """The platform's own address on the Docker bridge: how the doubles saw its requests."""
    return host.check_output("hostname -I").split()[0]


def read_log(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as stream:
        return [json.loads(line) for line in stream]


def test_address_is_on_the_instance_the_role_read(state):
    ec2 = boto3.client(
        "ec2", region_name=state["region"], endpoint_url=state["emulator_url"],
        aws_access_key_id="molecule", aws_secret_access_key="molecule",
    )
    tagged = ec2.describe_addresses(Filters=[{"Name": "tag:spotkit:stack", "Values": [state["stack"]]}])["Addresses"]
    assert [a["PublicIp"] for a in tagged] == [state["public_ip"]]
    assert tagged[0].get("InstanceId") == state["instance_id"], "address is on %s, not on this platform's %s" % (
        tagged[0].get("InstanceId"), state["instance_id"])


def test_retried_through_injected_errors_with_growing_waits(state, address):
    entries = [e for e in read_log(state["proxy_log"]) if e["client"] == address]
    injected = [e for e in entries if e["injected"]]
    planned = [(f["action"], f["code"]) for f in state["faults"] for unused in range(int(f["count"]))]
    assert sorted((e["action"], e["injected"]) for e in injected) == sorted(planned)
    last_fault = injected[-1]["time"]
    success = next(
        (e for e in entries if e["action"] == "AssociateAddress" and e["status"] == 200 and e["time"] > last_fault), None
    )
    assert success is not None, "no successful AssociateAddress after the injected errors"
    # Each failed attempt i is followed by a wait of retry_delay * 2**(i-1) before attempt i+1.
    times = [e["time"] for e in injected] + [success["time"]]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    waits = [int(state["retry_delay"]) * 2 ** i for i in range(len(gaps))]
    assert all(gap >= wait for gap, wait in zip(gaps, waits)), "gaps %s, expected at least %s" % (
        ["%.1f" % g for g in gaps], waits)


def test_identity_came_from_the_expected_source(host, state, address):
    requests = [r for r in read_log(state["imds_log"]) if r["client"] == address]
    if state["identity_source"] == "cloud-init":
        instance_data = json.loads(host.file("/run/cloud-init/instance-data.json").content_string)
        assert instance_data["v1"]["instance_id"] == state["instance_id"]
        assert instance_data["v1"]["region"] == state["region"]
        assert requests == [], "the metadata service was asked although cloud-init's instance data was there"
    else:
        assert not host.file("/run/cloud-init/instance-data.json").exists
        platform_requests = [(r["method"], r["path"], r["token"], r["status"]) for r in requests]
        assert ("PUT", "/latest/api/token", "none", 200) in platform_requests
        assert ("GET", "/latest/dynamic/instance-identity/document", "valid", 200) in platform_requests
        tokenless = [r for r in requests if r["method"] == "GET" and r["token"] != "valid"]
        assert tokenless == [], "requests without a valid IMDSv2 token (IMDSv1): %s" % tokenless


def test_metadata_double_refuses_requests_without_token(state):
    """The double enforces IMDSv2, so the role's answers prove it used a token."""
    url = urllib.parse.urlsplit(state["imds_url"])
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        connection.request("GET", "/latest/meta-data/instance-id")
        assert connection.getresponse().status == 401
    finally:
        connection.close()
