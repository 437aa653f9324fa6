"""Unit tests for a stack's alerting plan (plugins/module_utils/_alerts.py)."""

from __future__ import annotations

import re

import pytest

from ansible_collections.spotkit.ec2.plugins.action.stack_plan import instance_role_variables
from ansible_collections.spotkit.ec2.plugins.filter.cloudwatch_agent_config import build_config
from ansible_collections.spotkit.ec2.plugins.module_utils import _alerts as alerts
from ansible_collections.spotkit.ec2.plugins.module_utils._stack import plan_stack
from harness import REPO

BLOG = {"name": "blog", "image": "caddy:2", "ports": ["80:80", "443:443", "443:443/udp"]}
VALID = {
    "spot_region": "eu-west-1",
    "spot_services": [BLOG],
    "spot_instance_types": ["t4g.nano", "t4g.micro"],
    "spot_domain": "blog.example.com",
    "spot_pull_repo": "https://example.com/site.git",
    "spot_pull_version": "main",
}


def alert_plan(**changes):
    variables = dict(VALID, **changes)
    return alerts.alert_plan(plan_stack("blog", variables, instance_role_variables()), variables["spot_region"],
                             variables["spot_services"])


def by_name(plan):
    return {alarm["name"]: alarm for alarm in plan["alarms"]}


@pytest.mark.parametrize("ports,expected", [
    (["80:80", "443:443"], ("HTTP", 80)),
    (["443:8443"], ("HTTPS", 443)),
    (["8080:80", "9000:9000"], ("HTTP", 8080)),
    (["127.0.0.1:80:80", "8080:80"], ("HTTP", 8080)),
])
def test_the_health_check_asks_the_cheapest_way_the_services_answer(ports, expected):
    check = alert_plan(spot_services=[dict(BLOG, ports=ports)])["health_check"]
    assert (check["type"], check["port"]) == expected
    assert check["fqdn"] == "blog.example.com" and check["resource_path"] == "/"


def test_no_health_check_without_a_tcp_port_and_none_of_its_alarm_or_topic():
    plan = alert_plan(spot_services=[dict(BLOG, ports=["53:53/udp"])])
    assert plan["health_check"] == {} and plan["health_check_tags"] == {}
    assert plan["topic_regions"] == ["eu-west-1"]
    assert "spotkit-blog-eu-west-1-site-down" not in by_name(plan)


def test_a_string_to_match_changes_the_type_and_a_stack_without_domain_checks_its_address():
    check = alert_plan(spot_alarm_health_check_match="Welcome", spot_domain="")["health_check"]
    assert check["type"] == "HTTP_STR_MATCH" and check["string_match"] == "Welcome"
    # The role fills in the Elastic IP.
    assert check["fqdn"] == ""


def test_the_site_down_alarm_and_a_topic_live_in_us_east_1_whatever_the_stacks_region():
    plan = alert_plan()
    assert plan["topic"] == "spotkit-blog-eu-west-1"
    assert plan["topic_regions"] == ["eu-west-1", "us-east-1"]
    site = by_name(plan)["spotkit-blog-eu-west-1-site-down"]
    assert site["region"] == "us-east-1"
    assert (site["namespace"], site["metric_name"], site["dimensions"]) == ("AWS/Route53", "HealthCheckStatus", {"HealthCheckId": ""})
    assert {alarm["region"] for alarm in plan["alarms"] if alarm is not site} == {"eu-west-1"}
    # A stack in us-east-1 has one topic.
    assert alert_plan(spot_region="us-east-1")["topic_regions"] == ["us-east-1"]
    assert alert_plan(spot_region="us-east-1")["alarm_names"] == {
        "us-east-1": ["spotkit-blog-%s" % kind for kind in ("no-instance", "cpu-credits", "cpu", "memory", "disk", "deploys-failing")]
        + ["spotkit-blog-us-east-1-site-down"]}


def test_alarms_outlive_the_instance_and_stay_within_the_free_ten():
    plan = alert_plan()
    assert len(plan["alarms"]) <= 10
    for alarm in plan["alarms"]:
        assert "InstanceId" not in alarm["dimensions"]
        assert alarm["datapoints_to_alarm"] == alarm["evaluation_periods"]
        assert alarm["description"].startswith("blog: ")
    assert sorted(by_name(plan)) == sorted([
        "spotkit-blog-no-instance", "spotkit-blog-cpu-credits", "spotkit-blog-memory", "spotkit-blog-disk",
        "spotkit-blog-deploys-failing", "spotkit-blog-eu-west-1-site-down"])
    no_instance = by_name(plan)["spotkit-blog-no-instance"]
    assert no_instance["dimensions"] == {"AutoScalingGroupName": "spotkit-blog"}
    assert plan["group_metrics"] == ["GroupInServiceInstances"]
    assert no_instance["metric_name"] in plan["group_metrics"]


def test_thresholds_reach_their_alarms():
    plan = alert_plan(spot_alarm_memory_percent=75, spot_alarm_disk_percent=60, spot_alarm_cpu_credits=30, spot_alarm_pull_failures=3)
    alarms = by_name(plan)
    assert (alarms["spotkit-blog-memory"]["threshold"], alarms["spotkit-blog-memory"]["dimensions"]) == (75.0, {"Stack": "blog"})
    assert alarms["spotkit-blog-disk"]["threshold"] == 60.0
    assert alarms["spotkit-blog-cpu-credits"]["threshold"] == 30.0
    assert alarms["spotkit-blog-deploys-failing"]["threshold"] == 3.0
    assert alarms["spotkit-blog-deploys-failing"]["namespace"] == "spotkit/blog"
    # Types that earn no credits: CPU used instead.
    other = by_name(alert_plan(spot_instance_types=["c7g.medium"], spot_alarm_cpu_percent=80))
    assert "spotkit-blog-cpu-credits" not in other
    assert (other["spotkit-blog-cpu"]["metric_name"], other["spotkit-blog-cpu"]["threshold"]) == ("CPUUtilization", 80.0)


def test_the_alarms_read_the_metrics_the_agent_publishes_by_stack():
    config = build_config([BLOG], "blog")
    metrics = config["metrics"]
    assert {plugin["append_dimensions"][alerts.STACK_DIMENSION] for plugin in metrics["metrics_collected"].values()} == {"blog"}
    names = {"%s_%s" % (plugin, measurement) if not measurement.startswith(plugin) else measurement
             for plugin, settings in metrics["metrics_collected"].items() for measurement in settings["measurement"]}
    assert {alerts.MEMORY_METRIC, alerts.DISK_METRIC} <= names
    assert metrics["namespace"] == "spotkit/blog"


def test_the_pull_failure_pattern_matches_what_spotkit_pull_writes_when_a_run_fails():
    script = (REPO / "roles" / "_common" / "templates" / "spotkit-pull.sh.j2").read_text()
    assert 'say "failed (exit $' in script and "say() { echo \"spotkit-pull: " in script
    line = "spotkit-pull: 2026-11-30T12:00:00+00:00 failed (exit 2): the running services are left as they are; the next run retries"
    terms = re.findall(r'"([^"]*)"', alerts.PULL_FAILURE_PATTERN)
    assert terms and all(term in line for term in terms)
    assert not all(term in "spotkit-pull: 2026-11-30T12:00:00+00:00 done: applied 0123abc" for term in terms)


def test_event_rules_pick_out_the_groups_own_events_and_say_them_in_plain_text():
    rules = alert_plan()["event_rules"]
    assert [rule["name"] for rule in rules] == ["spotkit-blog-launch", "spotkit-blog-launch-failed", "spotkit-blog-terminate"]
    for rule in rules:
        assert rule["event_pattern"]["source"] == ["aws.autoscaling"]
        assert rule["event_pattern"]["detail"] == {"AutoScalingGroupName": ["spotkit-blog"]}
        template = rule["input_template"]
        assert template.startswith("blog: ") and not template.lstrip().startswith(("{", '"'))
        assert set(re.findall(r"<([a-z]+)>", template)) == set(rule["input_paths_map"])
    assert rules[0]["event_pattern"]["detail-type"] == ["EC2 Instance Launch Successful"]
    assert rules[2]["input_paths_map"]["instance"] == "$.detail.EC2InstanceId"


def test_subscriptions_by_email_and_webhook_and_the_metric_filter():
    plan = alert_plan(spot_alarm_email=["ops@example.com"], spot_alarm_webhooks=["https://hooks.example.com/a", "http://127.0.0.1:5003/"])
    assert plan["subscriptions"] == [
        {"protocol": "email", "endpoint": "ops@example.com"},
        {"protocol": "https", "endpoint": "https://hooks.example.com/a"},
        {"protocol": "http", "endpoint": "http://127.0.0.1:5003/"},
    ]
    assert plan["metric_filter"] == {
        "log_group": "/spotkit/blog/ansible-pull", "name": "spotkit-pull-failures", "pattern": alerts.PULL_FAILURE_PATTERN,
        "metric_name": "pull_failures", "metric_namespace": "spotkit/blog", "metric_value": "1"}
    assert plan["topic_tags"] == {"spotkit:stack": "blog", "Name": "spotkit-blog-eu-west-1"}
