# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: sandbox_published_ports
short_description: Where the local sandbox publishes a stack's ports on the controller
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - The sandbox's instance is a container; each host port P that the stack's services publish on the
    instance is published on the controller at O(address):P+O(offset), so that port 80 needs no privilege
    and stays off public interfaces.
  - Returns Docker C(published_ports) entries C(ADDRESS:OUTSIDE:P/PROTOCOL).
  - Bad input raises an error that names the service, the field and the bad value.
positional: _input, offset
extends_documentation_fragment:
  - spotkit.ec2.services
options:
  offset:
    description: Added to each port; the result must stay within 1-65535.
    type: int
    required: true
  address:
    description: Controller address to publish on.
    type: str
    default: 127.0.0.1
"""

EXAMPLES = r"""
- name: Publish the blog's port 80 on 127.0.0.1:8080
  ansible.builtin.debug:
    msg: "{{ [{'name': 'blog', 'image': 'blog', 'ports': ['80:80']}] | spotkit.ec2.sandbox_published_ports(8000) }}"
  # -> ["127.0.0.1:8080:80/tcp"]
"""

RETURN = r"""
_value:
  description: Docker published_ports entries, one per host port of the services, in the services' order.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.module_utils.stack_api import check_services, service_ports


def published_ports(services, offset, address="127.0.0.1"):
    """Return the published_ports entries; raise ValueError on bad input."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError("offset must be a whole number of ports, 0 or more; got %r" % (offset,))
    if not isinstance(address, str) or not address:
        raise ValueError("address must be a non-empty string; got %r" % (address,))
    entries = []
    for port in service_ports(check_services(services)):
        outside = port["host"] + offset
        if outside > 65535:
            raise ValueError(
                "service %s: host port %d plus the offset %d is %d, beyond 65535; lower the offset"
                % (port["service"], port["host"], offset, outside)
            )
        entries.append("%s:%d:%d/%s" % (address, outside, port["host"], port["protocol"]))
    return entries


def sandbox_published_ports(services, offset, address="127.0.0.1"):
    """Filter entry point: `spot_services | spotkit.ec2.sandbox_published_ports(8000)`."""
    try:
        return published_ports(services, offset, address)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("sandbox_published_ports: %s" % to_native(exc))


class FilterModule(object):
    """spotkit.ec2 sandbox filters."""

    def filters(self):
        return {"sandbox_published_ports": sandbox_published_ports}
