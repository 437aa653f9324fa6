"""A stack's alerting against the emulator: topics, subscriptions, the outside health check, alarms,
the metric filter, the EventBridge rules, the messages they send, the cost; created, unchanged on a
re-run, changed where a variable changed, clean in check mode, removed by teardown.

The stack lives in eu-west-1: its site-down alarm and a topic for it live in us-east-1. Its webhook is
the sandbox's own notification endpoint (sandbox/tools/notification_endpoint.py), which confirms its
subscription as a real endpoint does. The tests of this module share one account and run in file
order; teardown comes last.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time

import pytest

from harness import REPO
from harness.aws import HEALTH_CHECK_REGION
from stacks import IMAGES, REGION, TAG

STACK = "shop"
TOPIC = "spotkit-shop-%s" % REGION
EMAILS = ["ops@example.com", "owner@example.org"]
SERVICES = [{"name": "shop", "image": "docker.io/library/caddy:2", "ports": ["80:80", "443:443"]}]
REGION_ALARMS = ["spotkit-shop-%s" % kind for kind in ("no-instance", "cpu-credits", "memory", "disk", "deploys-failing")]
SITE_ALARM = "spotkit-shop-%s-site-down" % REGION


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """The sandbox's notification endpoint on a free port: (url, path of its messages)."""
    messages = tmp_path_factory.mktemp("endpoint") / "notifications.log"
    with subprocess.Popen([sys.executable, str(REPO / "sandbox" / "tools" / "notification_endpoint.py"),
                           "--listen", "127.0.0.1:0", "--messages", str(messages)], stdout=subprocess.PIPE, text=True) as process:
        # It says where it listens once it does.
        address = process.stdout.readline().split(" listening on ", 1)[1].split(",", 1)[0]
        yield "http://%s/" % address, messages
        process.terminate()


@pytest.fixture(scope="module")
def stacks(aws, endpoint):
    return {STACK: {
        "spot_region": REGION, "spot_endpoint_url": aws.url, "spot_image_id": IMAGES["arm64"], "spot_services": copy.deepcopy(SERVICES),
        "spot_pull_repo": "https://example.com/site.git", "spot_domain": "shop.example.com", "spot_alarm_email": EMAILS,
        "spot_alarm_webhooks": [endpoint[0]],
    }}


@pytest.fixture(scope="module")
def provisioned(aws, stacks):
    aws.reset()
    run = aws.playbook("provision", stacks)
    assert run.rc == 0, run.explain()
    return run


def topic_arn(aws, region):
    return "arn:aws:sns:%s:%s:%s" % (region, aws.client("sts").get_caller_identity()["Account"], TOPIC)


def subscriptions(aws, region):
    """{endpoint: pending?} of the stack's topic in a region."""
    found = aws.client("sns", region).list_subscriptions_by_topic(TopicArn=topic_arn(aws, region))["Subscriptions"]
    return {item["Endpoint"]: item["SubscriptionArn"] == "PendingConfirmation" for item in found}


def alarms(aws, region):
    return {alarm["AlarmName"]: alarm for alarm in aws.client("cloudwatch", region).describe_alarms()["MetricAlarms"]}


def health_checks(aws):
    route53 = aws.client("route53")
    checks = route53.list_health_checks()["HealthChecks"]
    tags = {item["ResourceId"]: {tag["Key"]: tag["Value"] for tag in item["Tags"]}
            for item in route53.list_tags_for_resources(ResourceType="healthcheck", ResourceIds=[c["Id"] for c in checks])["ResourceTagSets"]} \
        if checks else {}
    return [dict(check, Tags=tags.get(check["Id"], {})) for check in checks]


def messages(path, since=0, expected=(), timeout=30):
    """The endpoint's lines after the first `since`, once each of `expected` is in one of them."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines()[since:] if path.exists() else []
        if all(any(fragment in line for line in lines) for fragment in expected) or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def test_the_topic_in_the_stacks_region_and_its_twin_in_us_east_1(aws, provisioned):
    for region in (REGION, HEALTH_CHECK_REGION):
        sns = aws.client("sns", region)
        arn = topic_arn(aws, region)
        tags = {tag["Key"]: tag["Value"] for tag in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
        assert tags == {TAG: STACK, "Name": TOPIC}
        policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
        principals = [statement["Principal"] for statement in policy["Statement"]]
        assert {statement["Action"] for statement in policy["Statement"]} == {"sns:Publish"}
        assert all(statement["Resource"] == arn for statement in policy["Statement"])
        if region == REGION:
            assert principals == [{"Service": "cloudwatch.amazonaws.com"}, {"Service": "events.amazonaws.com"},
                                  {"AWS": "arn:aws:iam::123456789012:role/spotkit-shop-%s" % REGION}]
        else:
            # Only the site-down alarm publishes there.
            assert principals == [{"Service": "cloudwatch.amazonaws.com"}]
            assert policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == [
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + SITE_ALARM]


def test_addresses_wait_for_their_confirmation_and_the_webhook_confirms_itself(aws, endpoint, provisioned):
    url = endpoint[0]
    for region in (REGION, HEALTH_CHECK_REGION):
        deadline = time.monotonic() + 30
        while subscriptions(aws, region).get(url) is not False and time.monotonic() < deadline:
            time.sleep(0.2)
        assert subscriptions(aws, region) == {EMAILS[0]: True, EMAILS[1]: True, url: False}
    [said] = [message for message in provisioned.messages(STACK) if "confirmation" in message]
    assert said.startswith("Stack shop: 6 subscriptions wait for their confirmation")
    assert "ops@example.com (email, topic %s in %s, just subscribed)" % (TOPIC, REGION) in said
    assert "(http, topic %s in %s, just subscribed)" % (TOPIC, HEALTH_CHECK_REGION) in said


def test_the_site_is_checked_from_outside_and_its_alarm_lives_in_us_east_1(aws, provisioned):
    [check] = health_checks(aws)
    config = check["HealthCheckConfig"]
    # Port 80 answers (a redirect to HTTPS counts): no charge for HTTPS.
    assert (config["Type"], config["Port"], config["ResourcePath"], config["FullyQualifiedDomainName"]) == ("HTTP", 80, "/", "shop.example.com")
    assert config["Disabled"] is False
    assert check["Tags"] == {TAG: STACK, "Name": "spotkit-shop-%s" % REGION}
    assert list(alarms(aws, HEALTH_CHECK_REGION)) == [SITE_ALARM]
    site = alarms(aws, HEALTH_CHECK_REGION)[SITE_ALARM]
    assert site["Dimensions"] == [{"Name": "HealthCheckId", "Value": check["Id"]}]
    assert (site["Namespace"], site["MetricName"], site["ComparisonOperator"]) == ("AWS/Route53", "HealthCheckStatus", "LessThanThreshold")
    assert site["AlarmActions"] == site["OKActions"] == [topic_arn(aws, HEALTH_CHECK_REGION)]


def test_alarms_outlive_the_instance_and_notify_the_topic_of_their_region(aws, provisioned):
    found = alarms(aws, REGION)
    assert sorted(found) == sorted(REGION_ALARMS)
    for alarm in found.values():
        assert "InstanceId" not in [dimension["Name"] for dimension in alarm["Dimensions"]]
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topic_arn(aws, REGION)]
    assert found["spotkit-shop-memory"]["Dimensions"] == [{"Name": "Stack", "Value": STACK}]
    assert found["spotkit-shop-memory"]["Threshold"] == 90.0
    assert found["spotkit-shop-no-instance"]["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": "spotkit-shop"}]
    group = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["spotkit-shop"])["AutoScalingGroups"][0]
    assert group["EnabledMetrics"] == [{"Metric": "GroupInServiceInstances", "Granularity": "1Minute"}]


def test_failed_pulls_are_counted_from_the_pull_log_group(aws, provisioned):
    [found] = aws.client("logs").describe_metric_filters(logGroupName="/spotkit/shop/ansible-pull")["metricFilters"]
    assert found["filterName"] == "spotkit-pull-failures" and "failed (exit" in found["filterPattern"]
    assert found["metricTransformations"] == [{"metricName": "pull_failures", "metricNamespace": "spotkit/shop", "metricValue": "1"}]


def test_the_groups_events_reach_the_topic_as_short_messages(aws, endpoint, provisioned):
    events = aws.client("events")
    names = sorted(rule["Name"] for rule in events.list_rules()["Rules"])
    assert names == ["spotkit-shop-launch", "spotkit-shop-launch-failed", "spotkit-shop-terminate"]
    [target] = events.list_targets_by_rule(Rule="spotkit-shop-terminate")["Targets"]
    assert target["Arn"] == topic_arn(aws, REGION)
    assert target["InputTransformer"]["InputTemplate"].startswith("shop: instance <instance> left the group at <time>")

    path = endpoint[1]
    seen = len(messages(path))
    autoscaling = aws.client("autoscaling")
    [old] = [i["InstanceId"] for i in autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["spotkit-shop"])["AutoScalingGroups"][0]["Instances"]]
    autoscaling.terminate_instance_in_auto_scaling_group(InstanceId=old, ShouldDecrementDesiredCapacity=False)
    [new] = [i["InstanceId"] for i in autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["spotkit-shop"])["AutoScalingGroups"][0]["Instances"]]
    left, launched = "instance %s left the group" % old, "instance %s launched" % new
    lines = [line for line in messages(path, seen, [left, launched]) if left in line or launched in line]
    # Once, on the topic of the stack's region, the termination first.
    assert len(lines) == 2, lines
    assert ("%s: shop: %s" % (TOPIC, left)) in lines[0]
    assert "in response to a user request" in lines[0]
    assert ("%s: shop: %s" % (TOPIC, launched)) in lines[1]


def test_an_alarm_reaches_the_webhook(aws, endpoint, provisioned):
    path = endpoint[1]
    seen = len(messages(path))
    aws.client("cloudwatch").set_alarm_state(AlarmName="spotkit-shop-memory", StateValue="ALARM", StateReason="a test")
    [line] = messages(path, seen, ['ALARM: "spotkit-shop-memory"'])
    notification = json.loads(line.split(" in %s " % REGION, 1)[1])
    assert notification["AlarmName"] == "spotkit-shop-memory" and notification["NewStateValue"] == "ALARM"
    assert notification["AlarmDescription"].startswith("shop: memory used above 90 %")


def test_the_cost_is_printed_line_by_line_with_its_total(provisioned):
    [cost] = [message for message in provisioned.messages(STACK) if "modeled cost per month" in message]
    for item in ("spot instance", "public IPv4 $3.65", "root volume", "image snapshots", "alarms $0.00 6 alarms",
                 "health check $0.50 Route 53, HTTP", "custom metrics $0.00 9 metrics (the agent's by stack, and failed pulls)",
                 "hosted zone share $0.50", "total"):
        assert item in cost, item
    # The emulator's spot price history holds a placeholder of 2006: the dated table prices the instance.
    assert "table of 2025-06" in cost and "no t4g.nano price of the last 90 days" in cost


def test_a_second_run_changes_nothing_and_subscribes_no_one_again(aws, stacks, provisioned):
    with aws.recording():
        run = aws.playbook("provision", stacks)
    assert run.rc == 0, run.explain()
    assert run.stats(STACK)["changed"] == 0, run.changed_tasks(STACK)
    assert "Subscribe" not in aws.actions()
    [said] = [message for message in run.messages(STACK) if "confirmation" in message]
    assert said.startswith("Stack shop: 4 subscriptions wait for their confirmation")
    assert "just subscribed" not in said


def changed(stacks, **variables):
    stacks = copy.deepcopy(stacks)
    stacks[STACK].update(variables)
    return stacks


def test_a_threshold_and_the_path_change_only_their_alarm_and_check(aws, stacks, provisioned):
    wanted = changed(stacks, spot_alarm_memory_percent=80, spot_alarm_health_check_path="/health")
    check = aws.playbook("provision", wanted, "--check")
    assert check.rc == 0, check.explain()
    run = aws.playbook("provision", wanted)
    assert run.rc == 0, run.explain()
    assert run.changed_tasks(STACK) == ["Check the site from outside", "Create the alarms"]
    assert check.changed_tasks(STACK) == run.changed_tasks(STACK)
    assert alarms(aws, REGION)["spotkit-shop-memory"]["Threshold"] == 80.0
    [health] = health_checks(aws)
    assert health["HealthCheckConfig"]["ResourcePath"] == "/health"
    again = aws.playbook("provision", wanted, "--check")
    assert again.rc == 0 and again.stats(STACK)["changed"] == 0, again.changed_tasks(STACK)


def test_a_string_to_match_replaces_the_check_and_the_alarm_follows(aws, stacks, provisioned):
    wanted = changed(stacks, spot_alarm_memory_percent=80, spot_alarm_health_check_path="/health", spot_alarm_health_check_match="Welcome")
    [before] = health_checks(aws)
    run = aws.playbook("provision", wanted)
    assert run.rc == 0, run.explain()
    assert run.changed_tasks(STACK) == ["Remove the health check that cannot become the wanted one", "Check the site from outside",
                                        "Create the alarms"]
    [after] = health_checks(aws)
    assert after["Id"] != before["Id"] and after["HealthCheckConfig"]["Type"] == "HTTP_STR_MATCH"
    assert alarms(aws, HEALTH_CHECK_REGION)[SITE_ALARM]["Dimensions"] == [{"Name": "HealthCheckId", "Value": after["Id"]}]
    assert aws.playbook("provision", wanted).stats(STACK)["changed"] == 0


def test_teardown_removes_the_alerting_in_both_regions(aws, stacks, provisioned):
    run = aws.playbook("teardown", stacks)
    assert run.rc == 0, run.explain()
    order = [name for name, _result in run.task_results(STACK)]
    # No word on the topic, and no alarm, for the instance that the teardown removes.
    assert order.index("Remove the EventBridge rules") < order.index("Remove the Auto Scaling group and its instances")
    assert order.index("Remove the alarms") < order.index("Remove the Auto Scaling group and its instances")
    left = aws.inventory_of_resources()
    for kind in ("topics", "subscriptions", "alarms", "event rules", "metric filters", "health checks"):
        assert left[kind] == [], kind
    again = aws.playbook("teardown", stacks)
    assert again.rc == 0 and again.stats(STACK)["changed"] == 0, again.changed_tasks(STACK)
