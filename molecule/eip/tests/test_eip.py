"""The eip role attached each platform's Elastic IP to the instance id it read, through injected
credential errors, with jittered waits within their backoff bounds, reading its identity only the way it should."""

from __future__ import annotations

import http.client
import json
import os
import urllib.parse

import boto3
import pytest
import yaml

STATE_DIR = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
# converge.yml sets eip_retry_delay only; the other retry settings are the role's defaults.
with open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "eip", "defaults", "main.yml"),
          encoding="utf-8") as _stream:
    ROLE_DEFAULTS = yaml.safe_load(_stream)
SLACK = 0.5
MIN_TOTAL_WAIT = 0.2


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


def test_retried_through_injected_errors_with_bounded_waits(state, address):
    entries = [e for e in read_log(state["proxy_log"]) if e["client"] == address]
    injected = [e for e in entries if e["injected"]]
    planned = [(f["action"], f["code"]) for f in state["faults"] for unused in range(int(f["count"]))]
    # Every planned error, in the planned order: each attempt finds the address, then associates it.
    assert [(e["action"], e["injected"]) for e in injected] == planned
    last_fault = injected[-1]["time"]
    success = next(
        (e for e in entries if e["action"] == "AssociateAddress" and e["status"] == 200 and e["time"] > last_fault), None
    )
    assert success is not None, "no successful AssociateAddress after the injected errors"
    window = [e for e in entries if injected[0]["time"] <= e["time"] <= success["time"]]
    assert all(e["injected"] or e["status"] == 200 for e in window), "other failures among the attempts: %s" % window
    # The wait after each injected error ends with the next attempt's first request. Jittered backoff draws
    # the wait before retry i (from 1) at random between 0 and min(retry_delay * 2**(i-1), retry_max_delay);
    # SLACK covers the next request's own round trip, which the proxy logs once the emulator answered.
    waits = [next(e["time"] for e in entries if e["time"] > fault["time"]) - fault["time"] for fault in injected]
    bounds = [min(int(state["retry_delay"]) * 2 ** i, ROLE_DEFAULTS["eip_retry_max_delay"]) for i in range(len(waits))]
    shown = "waits %s, bounds %s" % (["%.2f" % w for w in waits], bounds)
    assert all(wait <= bound + SLACK for wait, bound in zip(waits, bounds)), shown
    assert sum(waits) <= sum(bounds) + SLACK * len(waits), shown
    # No backoff at all would leave only round trips; full jitter sums to under MIN_TOTAL_WAIT with
    # probability MIN_TOTAL_WAIT**3 / 6 / (2 * 4 * 8), about 2e-5.
    assert sum(waits) >= MIN_TOTAL_WAIT, "the role hardly waited between attempts: " + shown


def test_identity_came_from_the_expected_source(host, state, address):
    # The interruption watcher polls the same service for notices: only the role's requests count here.
    requests = [r for r in read_log(state["imds_log"]) if r["client"] == address and r.get("agent") != "spotkit-watch"]
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


def test_the_instance_waited_on_the_launch_hook_until_it_served_and_held_the_address(state, address):
    """CONTINUE, once, after the address was associated; the group's launch activity spans the wait (Pending:Wait)."""
    autoscaling = boto3.client("autoscaling", region_name=state["region"], endpoint_url=state["emulator_url"],
                               aws_access_key_id="molecule", aws_secret_access_key="molecule")
    activities = autoscaling.describe_scaling_activities(AutoScalingGroupName=state["watcher"]["group"])["Activities"]
    [launch] = [a for a in activities if a["Description"].endswith(state["instance_id"])]
    assert launch["StatusCode"] == "Successful"
    waited = (launch["EndTime"] - launch["StartTime"]).total_seconds()
    # The figure for docs/operations.md, when asked for (SPOTKIT_FIGURES names a file): how long this instance waited in
    # Pending:Wait (the converge's health check, then the address through the injected errors).
    if os.environ.get("SPOTKIT_FIGURES"):
        with open(os.environ["SPOTKIT_FIGURES"], "a", encoding="utf-8") as stream:
            stream.write("molecule/eip %s: %.1f s in Pending:Wait\n" % (state["identity_source"], waited))
    entries = [e for e in read_log(state["proxy_log"]) if e["client"] == address]
    # The converge's, first (side_effect.yml's abandon test completes another instance's hook later).
    completion = next(e for e in entries if e["action"] == "CompleteLifecycleAction")
    associated = next(e for e in entries if e["action"] == "AssociateAddress" and e["status"] == 200)
    assert completion["status"] == 200 and completion["time"] > associated["time"]
