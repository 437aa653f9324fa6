"""Unit tests for the spotkit.ec2.security_group_rules filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.spotkit.ec2.plugins.filter.security_group_rules import FilterModule, security_group_rules

SERVICES = [{"name": "blog", "image": "caddy:2", "ports": ["80:80", "443:443", "443:443/udp"]},
            {"name": "dns", "image": "dns:1", "ports": ["53:5353/udp"]}]


def test_service_ports_are_open_to_all_and_ssh_stays_closed_by_default():
    assert security_group_rules(SERVICES) == [
        {"proto": "tcp", "ports": [80], "cidr_ip": "0.0.0.0/0", "rule_desc": "blog"},
        {"proto": "tcp", "ports": [443], "cidr_ip": "0.0.0.0/0", "rule_desc": "blog"},
        {"proto": "udp", "ports": [443], "cidr_ip": "0.0.0.0/0", "rule_desc": "blog"},
        {"proto": "udp", "ports": [53], "cidr_ip": "0.0.0.0/0", "rule_desc": "dns"},
    ]


def test_ssh_opens_only_to_the_given_cidrs():
    rules = FilterModule().filters()["security_group_rules"](SERVICES[:1], ["203.0.113.7/32", "2001:db8::/48"])
    assert [r for r in rules if r["ports"] == [22]] == [
        {"proto": "tcp", "ports": [22], "cidr_ip": "203.0.113.7/32", "rule_desc": "ssh"},
        {"proto": "tcp", "ports": [22], "cidr_ipv6": "2001:db8::/48", "rule_desc": "ssh"},
    ]


def test_a_service_without_ports_opens_nothing():
    assert security_group_rules([{"name": "worker", "image": "w:1"}]) == []


@pytest.mark.parametrize("services,cidrs,message", [
    ([{"name": "blog", "image": "x", "ports": ["22:22"]}], [], "reserved for SSH"),
    (SERVICES, ["0.0.0.0/33"], r"spot_ssh_cidrs\[0\]"),
])
def test_bad_input_fails(services, cidrs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        security_group_rules(services, cidrs)
