"""Unit tests for the spotkit.ec2.stack_settings filter."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.spotkit.ec2.plugins.filter.stack_settings import FilterModule, stack_settings

SERVICES = [
    {"name": "blog", "image": "caddy:2", "ports": ["80:80"]},
    {"name": "api", "image": "api:1", "env": {"TOKEN": "s3cr3t"}, "command": ["serve"], "pull": "missing", "log_retention_days": 7},
]
BASE = {"region": "eu-west-1", "pull_repo": "https://example.com/site.git", "pull_version": "main"}


def test_settings_name_the_stack_and_keep_the_services_without_env():
    settings = stack_settings(SERVICES, "shop", **BASE)
    assert settings == {
        "spot_stack": "shop",
        "spot_region": "eu-west-1",
        "spot_pull_repo": "https://example.com/site.git",
        "spot_pull_version": "main",
        "spot_services": [
            {"name": "blog", "image": "caddy:2", "ports": ["80:80"], "volumes": [], "pull": "always", "log_retention_days": 30},
            {"name": "api", "image": "api:1", "ports": [], "volumes": [], "command": ["serve"], "pull": "missing", "log_retention_days": 7},
        ],
    }
    assert "s3cr3t" not in json.dumps(settings)
    # The input is left as it was.
    assert SERVICES[1]["env"] == {"TOKEN": "s3cr3t"}


def test_env_parameter_and_version_and_endpoint_appear_only_when_given():
    settings = FilterModule().filters()["stack_settings"](
        SERVICES, "shop", env_parameter="/spotkit/shop/env", env_version=3, endpoint_url="http://10.0.0.1:4566", **BASE)
    assert settings["spot_env_parameter"] == "/spotkit/shop/env"
    assert settings["spot_env_version"] == 3
    assert settings["spot_endpoint_url"] == "http://10.0.0.1:4566"


def test_instance_vars_are_merged_under_the_stack_settings():
    settings = stack_settings(SERVICES, "shop", instance_vars={"docker_daemon_options": {"debug": True}}, **BASE)
    assert settings["docker_daemon_options"] == {"debug": True}


@pytest.mark.parametrize("options,message", [
    ({"instance_vars": {"spot_stack": "other"}}, "'spot_stack'"),
    ({"env_parameter": "/spotkit/shop/env"}, "env_version"),
    ({"env_parameter": "/spotkit/shop/env", "env_version": True}, "env_version"),
    ({"region": ""}, "region"),
])
def test_bad_input_fails(options, message):
    with pytest.raises(AnsibleFilterError, match=message):
        stack_settings(SERVICES, "shop", **dict(BASE, **options))


def test_bad_services_fail():
    with pytest.raises(AnsibleFilterError, match="spot_services"):
        stack_settings([{"name": "blog"}], "shop", **BASE)
