# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""The sandbox's own filter (not part of the collection): where the sandbox publishes a stack's ports.

The sandbox's instance is a container; each host port P that the stack's services publish on the
instance is published on the controller at ADDRESS:P+OFFSET, so that port 80 needs no privilege and
stays off public interfaces. `spot_services | sandbox_published_ports(8000)` returns Docker
published_ports entries `ADDRESS:OUTSIDE:P/PROTOCOL`, in the services' order; bad input raises an
error that names the service, the field and the bad value. `... | sandbox_site_url(domain)` is the site's URL
on the controller: https://DOMAIN:OUTSIDE/ when a domain is given and the stack publishes 443/tcp (DOMAIN
under .localhost, which browsers and curl resolve to this machine), else the first TCP entry's http://
URL, or '' when the stack publishes no TCP port.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.module_utils._stack import check_service_names, service_ports


def published_ports(services, offset, address="127.0.0.1"):
    """Return the published_ports entries; raise ValueError on bad input."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError("offset must be a whole number of ports, 0 or more; got %r" % (offset,))
    if not isinstance(address, str) or not address:
        raise ValueError("address must be a non-empty string; got %r" % (address,))
    entries = []
    # A port on the instance's loopback is not reachable from outside it: the sandbox publishes none.
    for port in service_ports(check_service_names(services)):
        if port["loopback"]:
            continue
        outside = port["host"] + offset
        if outside > 65535:
            raise ValueError(
                "service %s: host port %d plus the offset %d is %d, beyond 65535; lower the offset"
                % (port["service"], port["host"], offset, outside)
            )
        entries.append("%s:%d:%d/%s" % (address, outside, port["host"], port["protocol"]))
    return entries


def sandbox_published_ports(services, offset, address="127.0.0.1"):
    """Filter entry point: `spot_services | sandbox_published_ports(8000)`."""
    try:
        return published_ports(services, offset, address)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("sandbox_published_ports: %s" % to_native(exc))


def sandbox_site_url(entries, domain=""):
    """Filter entry point: the https:// URL of 443/tcp under domain, else the http:// URL of the first TCP entry, or ''."""
    for entry in entries:
        outside, inside = entry.split(":")[1:3]
        if domain and inside == "443/tcp":
            return "https://%s:%s/" % (domain, outside)
    for entry in entries:
        address, outside = entry.split(":")[:2]
        if entry.endswith("/tcp"):
            return "http://%s:%s/" % (address, outside)
    return ""


class FilterModule(object):
    """The sandbox role's filters."""

    def filters(self):
        return {"sandbox_published_ports": sandbox_published_ports, "sandbox_site_url": sandbox_site_url}
