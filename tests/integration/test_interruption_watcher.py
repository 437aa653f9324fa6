"""The interruption watcher's script (roles/interruption_watcher), rendered as the role writes it, run as a local
process against the IMDSv2 test double and the AWS emulator, with short intervals: a notice detaches the instance
(the group launches a replacement), says so on the stack's topic and stops the services before the deadline,
once; a rebalance recommendation is published; a refused token and a metadata service that is down are each
a clear error line, written at most once per quiet interval, while the watcher polls on."""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from harness import REPO, waiting
from harness.aws import CREDENTIALS, REGION
from harness.role_variables import render_role_template
from ansible_collections.spotkit.ec2.plugins.filter._stack_names import stack_names

sys.path.insert(0, str(REPO / "tests" / "doubles"))
import imds  # noqa: E402 pylint: disable=wrong-import-position
from http_double import RequestLog, serve  # noqa: E402 pylint: disable=wrong-import-position

STACK = "blog"
NAMES = stack_names(STACK, region=REGION)
UNITS = ["spotkit-pull.timer", "spotkit-blog.service"]
STOP_RECORDER = REPO / "tests" / "doubles" / "stop_recorder.sh"
INTERVAL = 0.2
# The watcher polls every INTERVAL s here: look as often.
wait_for = functools.partial(waiting.wait_for, interval=INTERVAL)


@pytest.fixture(scope="module", name="stack")
def fixture_stack(aws):
    """The stack's group of one (its instance is the one the double speaks for) and topic, with a queue that
    receives what the topic says."""
    aws.reset()
    ec2, autoscaling, sns, sqs = (aws.client(name) for name in ("ec2", "autoscaling", "sns", "sqs"))
    template = ec2.create_launch_template(LaunchTemplateName=NAMES["group"], LaunchTemplateData={
        "ImageId": "ami-12345678", "InstanceType": "t4g.nano"})["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=NAMES["group"], MinSize=1, MaxSize=2, DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateId": template}, AvailabilityZones=[REGION + "a"])
    topic = sns.create_topic(Name=NAMES["topic"])["TopicArn"]
    queue = sqs.create_queue(QueueName="watcher-messages")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return {"autoscaling": autoscaling, "sqs": sqs, "queue": queue, "url": aws.url}


def group_instances(stack):
    group = stack["autoscaling"].describe_auto_scaling_groups(AutoScalingGroupNames=[NAMES["group"]])["AutoScalingGroups"][0]
    return group["DesiredCapacity"], [instance["InstanceId"] for instance in group["Instances"]]


def messages(stack):
    found = stack["sqs"].receive_message(QueueUrl=stack["queue"], MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [message["Body"] for message in found.get("Messages", [])]


@contextlib.contextmanager
def metadata_service(instance_id, refuse_tokens=None, port=0):
    metadata = imds.instance_metadata(instance_id, REGION)
    (server,) = serve([("127.0.0.1", port)], imds.make_handler(metadata, RequestLog(None), refuse_tokens))
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def post_notice(url, notice, document):
    request = urllib.request.Request(url + imds.CONTROL_PREFIX + notice, data=json.dumps(document).encode(), method="PUT")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


@contextlib.contextmanager
def watcher(tmp_path, imds_url, endpoint_url="", quiet=60):
    """The rendered script, running; yields a function that returns its output so far."""
    variables = {
        "interruption_watcher_stack": STACK, "interruption_watcher_region": REGION,
        "interruption_watcher_endpoint_url": endpoint_url, "interruption_watcher_imds_url": imds_url,
        "interruption_watcher_interval": INTERVAL, "interruption_watcher_quiet_interval": quiet,
        "interruption_watcher_units": UNITS, "interruption_watcher_python": sys.executable,
        "interruption_watcher_stop_command": [str(STOP_RECORDER), str(tmp_path / "stopped")],
        "interruption_watcher_notice_units": ["spotkit-state.service"],
        "interruption_watcher_notice_command": [str(STOP_RECORDER), str(tmp_path / "started")],
        # What the role's vars get from the _stack_names filter, which needs a play's collection loader.
        "_interruption_watcher_names": NAMES,
    }
    script = tmp_path / "spotkit-watch"
    script.write_text(render_role_template("interruption_watcher", "spotkit-watch.j2", variables))
    output = tmp_path / "watch.log"
    env = dict(os.environ, AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, **CREDENTIALS)
    with open(output, "w", encoding="utf-8") as stream:
        # Its own process group, as its unit's control group: the stop that waits in the background ends with it.
        process = subprocess.Popen(["bash", str(script)], stdout=stream, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    try:
        yield output.read_text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def test_a_notice_detaches_the_instance_tells_the_topic_and_stops_the_services_once(stack, tmp_path):
    desired, (instance,) = group_instances(stack)
    with metadata_service(instance) as url, watcher(tmp_path, url, stack["url"]) as output:
        wait_for(lambda: "watching instance " + instance in output(), 10, "the watcher starts")
        deadline = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=24)
        when = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
        post_notice(url, "spot/instance-action", {"action": "terminate", "time": when})
        # The state save starts at once, before the detach: the replacement restores a copy made now.
        assert wait_for(lambda: (tmp_path / "started").exists() and (tmp_path / "started").read_text(), 5,
                        "the save") == "spotkit-state.service\n"
        # The group launched the replacement at once, while this instance still runs.
        wait_for(lambda: instance not in group_instances(stack)[1], 10, "the instance leaves the group")
        after, instances = wait_for(lambda: group_instances(stack)[1] and group_instances(stack), 10, "a replacement")
        assert after == desired and len(instances) == 1 and instance not in instances
        expected = "%s: AWS reclaims %s at %s UTC; a replacement is starting" % (STACK, instance, when[11:19])
        assert wait_for(lambda: messages(stack), 10, "a message on the topic") == [expected]
        # 20 s before the deadline (the role's default lead): about 4 s after the notice.
        stopped = wait_for(lambda: (tmp_path / "stopped").exists() and (tmp_path / "stopped").read_text(), 15, "the stop")
        assert stopped == " ".join(UNITS) + "\n"
        assert datetime.datetime.now(datetime.timezone.utc) < deadline - datetime.timedelta(seconds=15)
        time.sleep(5 * INTERVAL)
        log = output()
    assert log.count("spot interruption notice:") == 1, log
    assert "detached %s from the group %s" % (instance, NAMES["group"]) in log
    assert "published to arn:aws:sns:%s:123456789012:%s: %s" % (REGION, NAMES["topic"], expected) in log
    assert "stopped " + " ".join(UNITS) in log
    assert (tmp_path / "stopped").read_text().count("\n") == 1
    assert (tmp_path / "started").read_text().count("\n") == 1
    assert log.index("started spotkit-state.service") < log.index("detached %s" % instance)


def test_a_rebalance_recommendation_is_published(stack, tmp_path):
    instance = group_instances(stack)[1][0]
    with metadata_service(instance) as url, watcher(tmp_path, url, stack["url"]) as output:
        wait_for(lambda: "watching instance" in output(), 10, "the watcher starts")
        post_notice(url, "events/recommendations/rebalance", {"noticeTime": "2026-11-30T12:04:05Z"})
        [message] = wait_for(lambda: messages(stack), 10, "a message on the topic")
        log = output()
    assert message.startswith("%s: AWS recommends rebalancing %s (since 12:04:05 UTC)" % (STACK, instance)), message
    assert "rebalance recommendation for instance %s" % instance in log
    assert not (tmp_path / "stopped").exists()


def test_a_refused_token_is_one_clear_error_line(tmp_path):
    with metadata_service("i-0123456789abcdef0", refuse_tokens=403) as url, watcher(tmp_path, url) as output:
        time.sleep(10 * INTERVAL)
        log = output()
    assert log.splitlines() == [
        "<3>no IMDSv2 token: PUT %s/latest/api/token answered HTTP 403 (IMDS refuses sessions: is its endpoint "
        "disabled, or the hop limit too low?); polling on" % url]


def test_a_metadata_service_that_is_down_is_one_line_per_quiet_interval_and_polled_on(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = "http://127.0.0.1:%d" % port
    with watcher(tmp_path, url, quiet=1) as output:
        time.sleep(3.5)
        down = output().splitlines()
        # Back: the watcher, still polling, finds it.
        with metadata_service("i-0123456789abcdef0", port=port):
            wait_for(lambda: "answers again" in output(), 5, "the watcher finds the service back")
            log = output()
    error = "<3>no IMDSv2 token: PUT %s/latest/api/token got no answer (the metadata service is down or unreachable); polling on" % url
    # About 17 polls in 3.5 s, one line a second.
    assert set(down) == {error} and 3 <= len(down) <= 5, down
    assert "watching instance i-0123456789abcdef0" in log
