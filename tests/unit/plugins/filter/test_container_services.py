"""Unit tests for the spotkit.ec2.container_services filter: the stack API's rules, defaults filled in, env merged."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.spotkit.ec2.plugins.filter.container_services import FilterModule, container_services

BLOG = {"name": "blog", "image": "registry.example:5000/blog:latest", "ports": ["80:80"]}


def test_fills_in_every_default():
    assert container_services([BLOG]) == [{
        "name": "blog",
        "image": "registry.example:5000/blog:latest",
        "ports": ["80:80"],
        "env": {},
        "volumes": [],
        "command": [],
        "pull": "always",
        "log_retention_days": 30,
        "memory": "256m",
        "pids_limit": 256,
        "cap_add": [],
        "read_only": False,
        "state": [],
    }]


def test_keeps_given_fields_and_order_and_leaves_the_input_alone():
    services = [
        {"name": "web", "image": "web@sha256:" + "ab" * 32, "ports": ["53:53/udp", "8080:80/tcp"], "env": {"A": "1"},
         "volumes": ["/srv/site:/srv", "data:/data"], "command": ["serve", "8080"], "pull": "never",
         "log_retention_days": 7, "memory": "1g", "pids_limit": 32, "cap_add": ["SETGID"], "read_only": True,
         "state": ["/srv/site/uploads"]},
        BLOG,
    ]
    result = container_services(services)
    assert [service["name"] for service in result] == ["web", "blog"]
    assert result[0] == services[0]
    assert "env" not in BLOG


def test_env_values_become_strings_and_extra_env_wins():
    service = dict(BLOG, env={"PORT": 80, "DEBUG": False, "RATIO": 0.5, "TOKEN": "public"})
    result = container_services([service], env={"blog": {"TOKEN": "secret", "NEW": "x"}})
    assert result[0]["env"] == {"PORT": "80", "DEBUG": "false", "RATIO": "0.5", "TOKEN": "secret", "NEW": "x"}


def test_no_service_is_allowed():
    assert container_services([]) == []


def test_is_registered():
    assert FilterModule().filters()["container_services"]([BLOG])[0]["pull"] == "always"


@pytest.mark.parametrize(
    ("services", "env", "message"),
    [
        ("blog", None, "container_service_services must be a list of services; got 'blog'"),
        ([{"name": "blog"}], None, "container_service_services[0] (blog): missing required field 'image'"),
        ([{"name": "Blog", "image": "x"}], None, "container_service_services[0] (Blog): field 'name' must be lowercase"),
        ([BLOG, BLOG], None, "container_service_services[1] (blog): field 'name' 'blog' is already used"),
        ([dict(BLOG, name="syslog")], None, "field 'name' 'syslog' is reserved"),
        ([dict(BLOG, log_retention_days=2)], None, "field 'log_retention_days' must be one of CloudWatch's values"),
        ([dict(BLOG, imge="x")], None, "(blog): unknown field 'imge'; fields: name, image, ports"),
        ([dict(BLOG, image="blog latest")], None, "field 'image' must be an image reference such as registry:5000/blog:latest; got 'blog latest'"),
        ([dict(BLOG, pull="sometimes")], None, "field 'pull' must be one of always, missing, never; got 'sometimes'"),
        ([dict(BLOG, ports="80:80")], None, "field 'ports' must be a list; got '80:80'"),
        ([dict(BLOG, ports=["80"])], None, "field 'ports' items must be 'host:container' or 'host:container/udp' with ports 1-65535, or either prefixed with '127.0.0.1:' to publish on the instance's loopback only; got '80'"),
        ([dict(BLOG, ports=["0:80"])], None, "got '0:80'"),
        ([dict(BLOG, ports=["80:80/sctp"])], None, "got '80:80/sctp'"),
        ([BLOG, {"name": "api", "image": "api", "ports": ["80:8080"]}], None,
         "container_service_services[1] (api): field 'ports' item '80:8080': host port 80/tcp is already published by "
         "container_service_services[0] (blog)"),
        ([dict(BLOG, env=["A=1"])], None, "field 'env' must be a mapping of variable names to values; got a list"),
        ([dict(BLOG, env={"1A": "x"})], None, "field 'env': variable name '1A'"),
        ([dict(BLOG, env={"A": "two\nlines"})], None, "field 'env': variable A must be a single line"),
        ([dict(BLOG, volumes=["/srv"])], None, "field 'volumes' items must be 'source:/path' or 'source:/path:options'; got '/srv'"),
        ([dict(BLOG, command="caddy run")], None, "field 'command' must be a list of non-empty single-line strings"),
        ([dict(BLOG, memory="64")], None, "container_service_services[0] (blog): field 'memory' must be a size in MiB or GiB"),
        ([dict(BLOG, pids_limit=0)], None, "(blog): field 'pids_limit' must be a whole number of processes and threads from 1"),
        ([dict(BLOG, cap_add=["CAP_SETGID"])], None, "(blog): field 'cap_add' item 'CAP_SETGID' is not a capability"),
        ([dict(BLOG, read_only="yes")], None, "(blog): field 'read_only' must be true or false; got 'yes'"),
        # The same state rule as on the controller (plugins/module_utils/_stack.py), naming this role's variable.
        ([dict(BLOG, volumes=["/srv/blog:/data"], state=["data"])], None,
         "container_service_services[0] (blog): field 'state' item 'data' must be an absolute, normalised host path"),
        ([dict(BLOG, volumes=["/srv/blog:/data"], state=["/srv/other"])], None,
         "(blog): field 'state' item '/srv/other' is not at or under the host side of one of the service's volumes (/srv/blog)"),
        ([dict(BLOG, volumes=["/etc/blog:/data"], allow_system_mounts=True, state=["/etc/blog"])], None,
         "(blog): field 'state' item '/etc/blog' is a system directory"),
        ([BLOG], {"api": {"A": "1"}}, "env: 'api' is not a service in container_service_services (services: blog)"),
        ([BLOG], ["A=1"], "env must be a mapping of service names to environments; got a list"),
        ([BLOG], {"blog": {"A": "x\ny"}}, "container_service_services (blog) env: variable A must be a single line"),
    ],
)
def test_bad_input_names_the_variable_the_service_the_field_and_the_value(services, env, message):
    with pytest.raises(AnsibleFilterError) as error:
        container_services(services, env=env, variable="container_service_services")
    assert str(error.value).startswith("container_services: ")
    assert message in str(error.value)


def test_secret_values_never_appear_in_errors():
    with pytest.raises(AnsibleFilterError) as error:
        container_services([BLOG], env={"blog": {"TOKEN": "s3cret\nvalue"}})
    assert "s3cret" not in str(error.value)


def test_errors_speak_of_spot_services_by_default():
    with pytest.raises(AnsibleFilterError, match=r"spot_services\[0\] \(blog\): field 'pull'"):
        container_services([dict(BLOG, pull="no")])
