# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: health_checks
short_description: What spotkit-health checks of a stack's services
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - For services that M(spotkit.ec2.stack_plan) or the C(container_services) filter checked, the pairs
    C([service, port]) of each TCP host port a service publishes, and C([service, null]) for a service that
    publishes none (whose unit being active is its check). UDP ports are not checked.
  - The C(container_service) role writes them into C(/usr/local/sbin/spotkit-health).
positional: _input
options:
  _input:
    description: The services, as the C(container_services) filter returns them.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: The checks of the blog (ports 80 and 443/udp) and a worker (no port)
  ansible.builtin.debug:
    msg: "{{ services | spotkit.ec2.health_checks }}"
  # [["blog", 80], ["worker", null]]
"""

RETURN = r"""
_value:
  description: Pairs of service name and TCP host port (or null), services in their order.
  type: list
  elements: list
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.module_utils._stack import service_ports


def health_checks(services):
    """Filter entry point: `services | spotkit.ec2.health_checks`."""
    try:
        ports = service_ports(services)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("health_checks: %s" % to_native(exc))
    checks = []
    for service in services:
        tcp = [port["host"] for port in ports if port["service"] == service["name"] and port["protocol"] == "tcp"]
        checks += [[service["name"], port] for port in tcp] or [[service["name"], None]]
    return checks


class FilterModule(object):
    """spotkit.ec2 health check filter."""

    def filters(self):
        return {"health_checks": health_checks}
