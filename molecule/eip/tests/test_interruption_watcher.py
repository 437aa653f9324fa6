"""The interruption watcher runs small on each platform, and a spot interruption notice posted to the IMDS double
detaches the instance from its group in the emulator (which launches a replacement), says so on the stack's topic
and stops the site before the deadline. The check takes the notice back and starts the site again for
side_effect.yml. The emulator cannot put the instance back: verify's second run checks that the notice was acted on
once only."""

from __future__ import annotations

import datetime
import json
import os
import urllib.request

import boto3
import pytest
from harness.waiting import wait_for

STATE_DIR = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
NOTICE = "/spotkit-double/spot/instance-action"
SITE = ["systemd-run", "--unit=scenario-site", "/opt/spotkit/venv/bin/python", "-m", "http.server", "8080", "--bind", "127.0.0.1"]
MIB = 1024 * 1024


@pytest.fixture(name="state")
def fixture_state(host):
    with open(os.path.join(STATE_DIR, host.backend.get_hostname() + ".json"), encoding="utf-8") as stream:
        return json.load(stream)


def client(state, service):
    return boto3.client(service, region_name=state["region"], endpoint_url=state["emulator_url"],
                        aws_access_key_id="molecule", aws_secret_access_key="molecule")


def group_instances(state):
    group = client(state, "autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[state["watcher"]["group"]])["AutoScalingGroups"][0]
    return [instance["InstanceId"] for instance in group["Instances"]], group["DesiredCapacity"]


def notice(state, method, document=None):
    body = json.dumps(document).encode() if document else None
    with urllib.request.urlopen(urllib.request.Request(state["imds_url"] + NOTICE, data=body, method=method), timeout=5) as answer:
        assert answer.status == 200


def test_the_watcher_runs_small(host):
    service = host.service("spotkit-watch")
    assert service.is_enabled and service.is_running
    assert host.check_output("systemctl show --property MemoryMax --value spotkit-watch") == str(128 * MIB)
    pid = host.check_output("systemctl show --property MainPID --value spotkit-watch")
    rss = int(host.check_output("awk '/^VmRSS/ {print $2}' /proc/%s/status" % pid)) * 1024
    assert rss < 10 * MIB, "the watcher's loop holds %d KiB" % (rss // 1024)


def test_a_notice_detaches_the_instance_publishes_and_stops_the_site(host, state):
    sqs = client(state, "sqs")
    instances, desired = group_instances(state)
    if state["instance_id"] not in instances:
        # verify's second run: the group cannot take the instance back (moto 5.2.1 answers AttachInstances of an
        # instance it detached with HTTP 500). What holds then: the notice, taken back, was acted on once only.
        journal = host.check_output("journalctl --unit spotkit-watch --no-pager --output cat")
        assert journal.count("detached %s from the group" % state["instance_id"]) == 1, journal
        return
    assert instances == [state["instance_id"]] and desired == 1
    when = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=26)).strftime("%Y-%m-%dT%H:%M:%SZ")
    notice(state, "PUT", {"action": "terminate", "time": when})
    try:
        replacement = wait_for(lambda: group_instances(state)[0] not in ([], [state["instance_id"]]) and group_instances(state),
                               20, "the instance leaves the group and a replacement joins")
        assert state["instance_id"] not in replacement[0] and replacement[1] == 1, replacement
        # The notice's time is in the message: the one from verify's first run does not count.
        expected = "%s: AWS reclaims %s at %s UTC; a replacement is starting" % (state["stack"], state["instance_id"], when[11:19])
        received = []
        wait_for(lambda: received.extend(m["Body"] for m in sqs.receive_message(
            QueueUrl=state["watcher"]["queue_url"], MaxNumberOfMessages=10).get("Messages", [])) or expected in received,
            20, "the message on the stack's topic")
        assert received.count(expected) == 1, received
        # 20 s before the deadline: about 6 s after the notice.
        wait_for(lambda: not host.service("scenario-site").is_running, 20, "the site stops")
        assert datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") < when
        journal = host.check_output("journalctl --unit spotkit-watch --no-pager --output cat --since -2min")
        for step in ("spot interruption notice: AWS will terminate instance " + state["instance_id"],
                     "detached %s from the group %s" % (state["instance_id"], state["watcher"]["group"]),
                     "published to arn:aws:sns:", "stopped scenario-site.service"):
            assert step in journal, journal
    finally:
        # No notice any more, and the site up again, for side_effect.yml.
        notice(state, "DELETE")
        if not host.service("scenario-site").is_running:
            host.run(" ".join(SITE))
