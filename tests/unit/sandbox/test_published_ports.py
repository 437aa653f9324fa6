"""The sandbox role's own filters, sandbox_published_ports and sandbox_site_url (sandbox/roles/sandbox/filter_plugins)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from sandbox_published_ports import FilterModule, sandbox_published_ports, sandbox_site_url

BLOG = {"name": "blog", "image": "registry.example/blog:latest", "ports": ["80:80", "443:8443", "443:8443/udp"]}
WORKER = {"name": "worker", "image": "registry.example/worker:1"}
DNS = {"name": "dns", "image": "registry.example/dns:1", "ports": ["53:5353/udp"]}


def test_each_host_port_is_published_on_loopback_at_port_plus_offset():
    # The container side is the instance's host port: the instance container publishes what the
    # instance publishes, whatever port the service listens on inside its own container.
    assert sandbox_published_ports([BLOG, WORKER, DNS], 8000) == [
        "127.0.0.1:8080:80/tcp",
        "127.0.0.1:8443:443/tcp",
        "127.0.0.1:8443:443/udp",
        "127.0.0.1:8053:53/udp",
    ]


def test_address_and_zero_offset():
    assert sandbox_published_ports([BLOG], 0, address="127.0.0.2")[0] == "127.0.0.2:80:80/tcp"


def test_services_without_ports_publish_nothing():
    assert sandbox_published_ports([WORKER], 8000) == []


def test_a_port_on_the_instances_loopback_is_not_published():
    admin = {"name": "admin", "image": "registry.example/admin:1", "ports": ["127.0.0.1:3001:3001", "8081:81"]}
    assert sandbox_published_ports([admin], 8000) == ["127.0.0.1:16081:8081/tcp"]


def test_through_filter_module():
    assert FilterModule().filters()["sandbox_published_ports"]([DNS], 1000) == ["127.0.0.1:1053:53/udp"]


def test_site_url_is_the_first_tcp_entry():
    # UDP first: a URL names a TCP port only.
    assert sandbox_site_url(sandbox_published_ports([DNS, BLOG], 8000)) == "http://127.0.0.1:8080/"


def test_site_url_with_a_domain_is_https_on_the_port_443_is_published_at():
    entries = sandbox_published_ports([DNS, BLOG], 8000)
    assert sandbox_site_url(entries, "blog.localhost") == "https://blog.localhost:8443/"
    # Without 443/tcp there is no HTTPS site to name.
    assert sandbox_site_url(entries[:2], "blog.localhost") == "http://127.0.0.1:8080/"


def test_no_site_url_without_a_tcp_port():
    assert sandbox_site_url(sandbox_published_ports([DNS, WORKER], 8000)) == ""


@pytest.mark.parametrize(
    ("services", "offset", "message"),
    [
        ([dict(BLOG, ports=["65000:80"])], 8000, "host port 65000 plus the offset 8000 is 73000"),
        ([BLOG], -1, "offset must be a whole number of ports, 0 or more; got -1"),
        ([BLOG], True, "offset must be a whole number of ports, 0 or more; got True"),
        ([BLOG], "8000", "offset must be a whole number of ports, 0 or more; got '8000'"),
        ([dict(BLOG, ports=["80"])], 8000,
         "spot_services[0] (blog): field 'ports' items must be 'host:container' or 'host:container/udp' with ports 1-65535, "
         "or either prefixed with '127.0.0.1:' to publish on the instance's loopback only; got '80'"),
        ([dict(BLOG, ports=["22:22"])], 8000, "host port 22 is reserved for SSH"),
        ([BLOG, dict(DNS, ports=["80:80"])], 8000, "host port 80/tcp is already published by spot_services[0] (blog)"),
        ([dict(BLOG, name="Blog")], 8000, "spot_services[0] (Blog): field 'name' must be"),
        ("blog", 8000, "spot_services must be a list of services"),
    ],
)
def test_bad_input_names_the_field_and_value(services, offset, message):
    with pytest.raises(AnsibleFilterError, match="^sandbox_published_ports: ") as error:
        sandbox_published_ports(services, offset)
    assert message in str(error.value)


def test_bad_address():
    with pytest.raises(AnsibleFilterError, match="address must be a non-empty string; got ''"):
        sandbox_published_ports([BLOG], 8000, address="")
