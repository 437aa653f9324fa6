# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: security_group_rules
short_description: Inbound rules of a stack's security group
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - The inbound rules for M(amazon.aws.ec2_security_group) O(amazon.aws.ec2_security_group#module:rules).
  - Each host port that a service publishes is open to any IPv4 address, with the service's name as description.
  - Port 22 is open only to the CIDRs of O(ssh_cidrs); with none, port 22 stays closed.
positional: _input, ssh_cidrs
extends_documentation_fragment:
  - spotkit.ec2.services
options:
  ssh_cidrs:
    description: IPv4 or IPv6 CIDRs allowed to reach port 22 (the C(spot_ssh_cidrs) stack variable).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Open the services' ports
  amazon.aws.ec2_security_group:
    name: spotkit-blog
    description: spotkit stack blog
    rules: "{{ spot_services | spotkit.ec2.security_group_rules(spot_ssh_cidrs) }}"
"""

RETURN = r"""
_value:
  description: Rules with C(proto), C(ports), C(cidr_ip) or C(cidr_ipv6) and C(rule_desc).
  type: list
  elements: dict
"""

import ipaddress

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.module_utils.stack_api import (
    SSH_PORT,
    check_cidrs,
    check_service_specs,
    service_ports,
)


def build_rules(services, ssh_cidrs=None):
    """Return the inbound rules; raise ValueError on bad input."""
    check_service_specs(services)
    ssh_cidrs = [] if ssh_cidrs is None else ssh_cidrs
    check_cidrs(ssh_cidrs)
    rules = [
        {"proto": port["protocol"], "ports": [port["host"]], "cidr_ip": "0.0.0.0/0", "rule_desc": port["service"]}
        for port in service_ports(services)
    ]
    for cidr in ssh_cidrs:
        key = "cidr_ipv6" if ipaddress.ip_network(cidr).version == 6 else "cidr_ip"
        rules.append({"proto": "tcp", "ports": [SSH_PORT], key: cidr, "rule_desc": "ssh"})
    return rules


def security_group_rules(services, ssh_cidrs=None):
    """Filter entry point: `spot_services | spotkit.ec2.security_group_rules(spot_ssh_cidrs)`."""
    try:
        return build_rules(services, ssh_cidrs)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("security_group_rules: %s" % to_native(exc))


class FilterModule(object):
    """spotkit.ec2 security group rules."""

    def filters(self):
        return {"security_group_rules": security_group_rules}
