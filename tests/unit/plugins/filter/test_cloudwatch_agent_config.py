"""Unit tests for the spotkit.ec2.cloudwatch_agent_config filter."""

from __future__ import annotations

import json

import jsonschema
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.spotkit.ec2.plugins.filter.cloudwatch_agent_config import (
    FilterModule,
    cloudwatch_agent_config,
)

BLOG = {"name": "blog", "image": "registry.example/blog:latest", "ports": ["80:80"]}
API = {"name": "api", "image": "registry.example/api:1", "ports": ["8080:8080"], "log_retention_days": 7}


@pytest.fixture(scope="module")
def validator(cloudwatch_reference):
    schema = json.loads((cloudwatch_reference / "schema.json").read_text())
    return jsonschema.Draft4Validator(schema)


def collected_files(config):
    return config["logs"]["logs_collected"].get("files", {}).get("collect_list", [])


def groups(config):
    return {entry["log_group_name"]: entry for entry in collected_files(config)}


def test_reference_samples_are_valid(validator, cloudwatch_reference):
    # Guards the validator itself: the official samples must pass, a broken one must not.
    samples = sorted((cloudwatch_reference / "examples").glob("*.json"))
    assert len(samples) >= 4
    for sample in samples:
        validator.validate(json.loads(sample.read_text()))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"logs": {"logs_collected": {"files": {"collect_list": [{"log_group_name": "x"}]}}}})


CASES = {
    "one service": ([BLOG], {}),
    "two services": ([BLOG, API], {}),
    "journald": ([BLOG], {"journald": True}),
    "region": ([BLOG, API], {"region": "eu-west-1"}),
    "extra log": ([BLOG], {"extra_logs": [{"name": "ansible-pull", "file_path": "/var/log/spotkit-pull.log"}]}),
    "all options": (
        [BLOG, API],
        {
            "region": "us-east-1",
            "journald": True,
            "system_log_retention_days": 90,
            "namespace": "custom",
            "metrics_collection_interval": 30,
            "extra_logs": [{"name": "pull", "file_path": "/var/log/pull.log", "log_retention_days": 14}],
        },
    ),
    "syslog elsewhere": ([BLOG], {"system_log_file": "/var/log/messages", "system_log_retention_days": 7}),
}


@pytest.mark.parametrize("services,options", CASES.values(), ids=list(CASES))
def test_generated_config_is_schema_valid(validator, services, options):
    config = cloudwatch_agent_config(services, "stack-1", **options)
    validator.validate(config)
    # What the agent reads is the JSON text: the round trip must not change it.
    assert json.loads(json.dumps(config)) == config


def test_service_logs_go_to_their_own_group_with_their_retention():
    config = cloudwatch_agent_config([BLOG, API], "shop")
    by_group = groups(config)
    assert by_group["/spotkit/shop/blog"]["file_path"] == "/var/log/blog.log"
    assert by_group["/spotkit/shop/blog"]["retention_in_days"] == 30
    assert by_group["/spotkit/shop/api"]["file_path"] == "/var/log/api.log"
    assert by_group["/spotkit/shop/api"]["retention_in_days"] == 7
    assert {entry["log_stream_name"] for entry in collected_files(config)} == {"{instance_id}"}


def test_system_log_from_syslog_file_by_default():
    config = cloudwatch_agent_config([BLOG], "shop", system_log_retention_days=14)
    system = groups(config)["/spotkit/shop/system"]
    assert system["file_path"] == "/var/log/syslog"
    assert system["retention_in_days"] == 14
    assert "journald" not in config["logs"]["logs_collected"]


def test_journald_replaces_the_syslog_file():
    config = cloudwatch_agent_config([BLOG], "shop", journald=True)
    journald = config["logs"]["logs_collected"]["journald"]["collect_list"]
    assert journald == [{"log_group_name": "/spotkit/shop/system", "log_stream_name": "{instance_id}", "retention_in_days": 30}]
    assert "/spotkit/shop/system" not in groups(config)
    assert "/spotkit/shop/blog" in groups(config)


def test_extra_logs_are_shipped():
    config = cloudwatch_agent_config(
        [BLOG], "shop", extra_logs=[{"name": "ansible-pull", "file_path": "/var/log/spotkit-pull.log", "log_retention_days": 7}]
    )
    pull = groups(config)["/spotkit/shop/ansible-pull"]
    assert pull == {
        "file_path": "/var/log/spotkit-pull.log",
        "log_group_name": "/spotkit/shop/ansible-pull",
        "log_stream_name": "{instance_id}",
        "retention_in_days": 7,
    }


def test_metrics_survive_instance_replacement():
    config = cloudwatch_agent_config([BLOG], "shop")
    metrics = config["metrics"]
    # The stack's own namespace: the instance policy allows that one only.
    assert metrics["namespace"] == "spotkit/shop"
    assert cloudwatch_agent_config([BLOG], "shop", namespace="custom")["metrics"]["namespace"] == "custom"
    # No dimension that changes with the instance: no host, no instance-wide dimensions, no copies by them.
    assert config["agent"]["omit_hostname"] is True
    assert "append_dimensions" not in metrics and "aggregation_dimensions" not in metrics
    collected = metrics["metrics_collected"]
    assert set(collected) == {"cpu", "mem", "disk", "swap"}
    for plugin in collected.values():
        assert plugin["append_dimensions"] == {"Stack": "shop"}
    assert collected["mem"]["measurement"] == ["mem_used_percent"]
    assert collected["disk"]["measurement"] == ["used_percent"]
    assert collected["disk"]["resources"] == ["/"]
    assert collected["swap"]["measurement"] == ["swap_used_percent"]
    assert "cpu_usage_user" in collected["cpu"]["measurement"]


def test_region_only_when_given():
    assert "region" not in cloudwatch_agent_config([BLOG], "shop")["agent"]
    assert cloudwatch_agent_config([BLOG], "shop", region="eu-north-1")["agent"]["region"] == "eu-north-1"


def test_input_is_not_modified():
    services = [dict(BLOG), dict(API)]
    before = json.dumps(services, sort_keys=True)
    cloudwatch_agent_config(services, "shop", journald=True)
    assert json.dumps(services, sort_keys=True) == before


def test_filter_module_exposes_the_filter():
    filters = FilterModule().filters()
    assert filters["cloudwatch_agent_config"] is cloudwatch_agent_config
    config = filters["cloudwatch_agent_config"]([BLOG], "shop", region="eu-west-1")
    assert config["agent"]["region"] == "eu-west-1"


BAD = {
    "duplicate name": (
        [BLOG, dict(API, name="blog")], {}, r"spot_services\[1\] \(blog\): field 'name' 'blog' is already used by spot_services\[0\]"),
    "retention not accepted": (
        [dict(BLOG, log_retention_days=10)], {}, r"spot_services\[0\] \(blog\): field 'log_retention_days' .* got 10"),
    "retention as bool": (
        [dict(BLOG, log_retention_days=True)], {}, r"field 'log_retention_days' .* got True"),
    "retention as string": (
        [dict(BLOG, log_retention_days="30")], {}, r"field 'log_retention_days' .* got '30'"),
    "uppercase name": (
        [dict(BLOG, name="Blog")], {}, r"spot_services\[0\] \(Blog\): field 'name' must be .* got 'Blog'"),
    "name with underscore": (
        [dict(BLOG, name="my_blog")], {}, r"field 'name' must be .* got 'my_blog'"),
    "name too long": (
        [dict(BLOG, name="a" * 33)], {}, r"field 'name' must be .*at most 32 characters; got 'a{33}'"),
    "missing name": (
        [BLOG, {"image": "x"}], {}, r"spot_services\[1\]: missing required field 'name'"),
    "service not a mapping": (
        ["blog"], {}, r"spot_services\[0\] must be a mapping; got 'blog'"),
    "services not a list": (
        {"name": "blog"}, {}, r"spot_services must be a list"),
    "reserved name": (
        [dict(BLOG, name="system")], {}, r"spot_services\[0\] \(system\): field 'name' 'system' is reserved"),
    "name of a system log file": (
        [BLOG, dict(API, name="syslog")], {}, r"spot_services\[1\] \(syslog\): field 'name' 'syslog' is reserved"),
    "bad stack name": (
        [BLOG], {"stack_name": "My Stack"}, r"stack_name must be .* got 'My Stack'"),
    "bad system retention": (
        [BLOG], {"system_log_retention_days": 0}, r"system_log_retention_days must be one of .* got 0"),
    "relative syslog path": (
        [BLOG], {"system_log_file": "syslog"}, r"system_log_file must be an absolute path; got 'syslog'"),
    "journald not bool": (
        [BLOG], {"journald": "yes"}, r"journald must be true or false; got 'yes'"),
    "interval out of range": (
        [BLOG], {"metrics_collection_interval": 0}, r"metrics_collection_interval must be .* got 0"),
    "empty region": (
        [BLOG], {"region": ""}, r"region must be an AWS region such as eu-west-1; got ''"),
    "not a region": (
        [BLOG], {"region": "eu-west-1.example.com/x"}, r"region must be an AWS region such as eu-west-1; got 'eu-west-1.example.com/x'"),
    "extra log clashes with system log": (
        [BLOG], {"extra_logs": [{"name": "system", "file_path": "/var/log/x.log"}]}, r"extra_logs\[0\]: field 'name' 'system' is already"),
    "extra log clashes with service": (
        [BLOG], {"extra_logs": [{"name": "blog", "file_path": "/var/log/x.log"}]}, r"extra_logs\[0\]: field 'name' 'blog' is already"),
    "extra log without path": (
        [BLOG], {"extra_logs": [{"name": "pull"}]}, r"extra_logs\[0\]: missing required field 'file_path'"),
    "unknown option": (
        [BLOG], {"colour": "blue"}, r"unexpected keyword argument 'colour'"),
}


@pytest.mark.parametrize("services,options,message", BAD.values(), ids=list(BAD))
def test_bad_input_names_the_field(services, options, message):
    options = dict(options)
    stack_name = options.pop("stack_name", "shop")
    with pytest.raises(AnsibleFilterError, match=message):
        cloudwatch_agent_config(services, stack_name, **options)


@pytest.mark.parametrize("journald", [False, True])
def test_without_retention_the_agent_sets_none(journald, cloudwatch_reference):
    """Where provisioning sets the retention and the instance may not, the configuration carries none."""
    config = cloudwatch_agent_config([BLOG, API], "shop", journald=journald, retention=False,
                                     extra_logs=[{"name": "ansible-pull", "file_path": "/var/log/spotkit-pull.log"}])
    assert "retention_in_days" not in json.dumps(config)
    jsonschema.validate(config, json.loads((cloudwatch_reference / "schema.json").read_text()))


def test_retention_is_a_boolean():
    with pytest.raises(AnsibleFilterError, match="retention must be true or false; got 'no'"):
        cloudwatch_agent_config([BLOG], "shop", retention="no")
