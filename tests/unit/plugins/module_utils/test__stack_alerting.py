"""Unit tests for the rulebook's alerting part (plugins/module_utils/_stack.py): names and the checks of
the alerting variables, alone and through plan_stack()."""

from __future__ import annotations

import pytest

from ansible_collections.spotkit.ec2.plugins.action.stack_plan import instance_role_variables
from ansible_collections.spotkit.ec2.plugins.module_utils import _stack as stack_api

VALID = {
    "spot_region": "eu-west-1",
    "spot_services": [{"name": "blog", "image": "caddy:2", "ports": ["80:80"]}],
    "spot_instance_types": ["t4g.nano"],
    "spot_pull_repo": "https://example.com/site.git",
    "spot_pull_version": "main",
}


def plan(**changes):
    return stack_api.plan_stack("blog", dict(VALID, **changes), instance_role_variables())


def test_names_carry_the_region_where_the_resource_is_global_or_outside_the_stacks_region():
    assert stack_api.topic_name("blog", "eu-west-1") == "spotkit-blog-eu-west-1"
    assert stack_api.global_name("blog", "eu-west-1") == stack_api.iam_name("blog", "eu-west-1")
    assert stack_api.site_alarm_name("blog", "eu-west-1") == "spotkit-blog-eu-west-1-site-down"
    assert stack_api.alarm_name("blog", "memory") == "spotkit-blog-memory"
    assert stack_api.event_rule_name("blog", "launch-failed") == "spotkit-blog-launch-failed"
    with pytest.raises(ValueError, match="alarm kind"):
        stack_api.alarm_name("blog", "coffee")
    with pytest.raises(ValueError, match="event rule kind"):
        stack_api.event_rule_name("blog", "reboot")


def test_no_alarm_of_one_stack_can_be_named_like_another_stacks():
    # A kind that ended with "-" and another kind would let stack "a-cpu" own the name of "a"'s alarm.
    for kind in stack_api.ALARM_KINDS:
        for other in stack_api.ALARM_KINDS:
            assert not kind.endswith("-" + other), (kind, other)
    assert "site-down" not in stack_api.ALARM_KINDS


@pytest.mark.parametrize("variable,value,expected", [
    ("spot_alarm_memory_percent", 80, 80),
    ("spot_alarm_memory_percent", 87.5, 87.5),
    ("spot_alarm_memory_percent", "95", 95),
    ("spot_alarm_disk_percent", 1, 1),
    ("spot_alarm_cpu_credits", 4608, 4608),
    ("spot_alarm_pull_failures", 4, 4),
    ("spot_alarm_pull_failures", "3", 3),
])
def test_thresholds_in_range(variable, value, expected):
    assert stack_api.check_threshold(variable, value) == expected


@pytest.mark.parametrize("variable,value", [
    ("spot_alarm_memory_percent", 100),
    ("spot_alarm_memory_percent", 0),
    ("spot_alarm_memory_percent", True),
    ("spot_alarm_memory_percent", "lots"),
    ("spot_alarm_disk_percent", -5),
    ("spot_alarm_cpu_percent", 99.5),
    ("spot_alarm_cpu_credits", 5000),
    ("spot_alarm_pull_failures", 5),
    ("spot_alarm_pull_failures", 1.5),
    ("spot_alarm_pull_failures", None),
])
def test_thresholds_out_of_range_are_named_with_their_value(variable, value):
    with pytest.raises(ValueError) as error:
        stack_api.check_threshold(variable, value)
    assert str(error.value).startswith(variable)
    assert "got %r" % (value,) in str(error.value)


@pytest.mark.parametrize("value,expected", [
    (None, []), ("", []), ([], []),
    (["https://hooks.example.com/spotkit?token=1"], ["https://hooks.example.com/spotkit?token=1"]),
    (["http://127.0.0.1:5003/"], ["http://127.0.0.1:5003/"]),
])
def test_webhooks(value, expected):
    assert stack_api.check_webhooks(value) == expected


@pytest.mark.parametrize("value,fragment", [
    ("https://hooks.example.com/", "must be a list"),
    (["ftp://example.com/"], "spot_alarm_webhooks[0]"),
    (["https://exa mple.com/"], "'https://exa mple.com/'"),
    (["https://a.example.com/", "https://a.example.com/"], "twice"),
])
def test_bad_webhooks(value, fragment):
    with pytest.raises(ValueError, match="spot_alarm_webhooks") as error:
        stack_api.check_webhooks(value)
    assert fragment in str(error.value)


def test_health_check_request():
    assert stack_api.check_health_check(None, None) == ("/", "")
    assert stack_api.check_health_check("/health?full=1", "Welcome") == ("/health?full=1", "Welcome")
    for path in ("health", "/a b", "/" + "x" * 255):
        with pytest.raises(ValueError, match="spot_alarm_health_check_path"):
            stack_api.check_health_check(path, "")
    for match in ("x" * 256, "two\nlines", 7):
        with pytest.raises(ValueError, match="spot_alarm_health_check_match"):
            stack_api.check_health_check("/", match)


def test_the_plan_holds_the_alerting_with_its_defaults():
    assert plan()["alerting"] == {
        "emails": [], "webhooks": [], "health_check_path": "/", "health_check_match": "",
        "thresholds": {"spot_alarm_memory_percent": 90, "spot_alarm_disk_percent": 85, "spot_alarm_cpu_percent": 90,
                       "spot_alarm_cpu_credits": 5, "spot_alarm_pull_failures": 2},
    }
    alerting = plan(spot_alarm_email="ops@example.com", spot_alarm_webhooks=["https://hooks.example.com/"],
                    spot_alarm_disk_percent=70, spot_alarm_health_check_path="/up")["alerting"]
    assert alerting["emails"] == ["ops@example.com"] and alerting["webhooks"] == ["https://hooks.example.com/"]
    assert alerting["thresholds"]["spot_alarm_disk_percent"] == 70 and alerting["health_check_path"] == "/up"


def test_every_broken_alerting_rule_is_reported_at_once():
    with pytest.raises(stack_api.StackError) as error:
        plan(spot_alarm_email=["ops@example.com", "OPS@example.com"], spot_alarm_memory_percent=120,
             spot_alarm_pull_failures=9, spot_alarm_webhooks=["mailto:x"], spot_alarm_health_check_path="up")
    messages = error.value.errors
    assert len(messages) == 5
    for fragment in ("spot_alarm_email lists an address twice", "spot_alarm_memory_percent", "got 120",
                     "spot_alarm_pull_failures", "got 9", "spot_alarm_webhooks[0]", "spot_alarm_health_check_path"):
        assert any(fragment in message for message in messages), (fragment, messages)
