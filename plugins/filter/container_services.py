# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: container_services
short_description: Check a stack's services against the stack API and fill in their defaults
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Checks a list of services shaped like the C(spot_services) stack variable with the stack API's rules (the
    same rules M(spotkit.ec2.stack_plan) applies on the controller) and returns a new list in which every service
    has every field, defaults filled in; what the C(container_service) role runs.
  - "Fields: C(name) and C(image) (required), C(ports) (list of C(host:container) or C(host:container/udp)),
    C(env) (mapping of variable names to single-line strings, numbers or booleans), C(volumes) (list of
    C(source:/path[:options])), C(command) (list of arguments), C(pull) (C(always), C(missing) or C(never); default
    C(always)), C(log_retention_days) (one of CloudWatch's values; default 30), C(memory) (the container's memory
    limit, such as C(256m) or C(1g); default C(256m)), C(pids_limit) (processes and threads; default 256),
    C(cap_add) (the capabilities the container gets back after it drops them all, such as C(NET_BIND_SERVICE);
    default none), C(read_only) (the container's root file system read-only; default false), C(state) (host
    directories at or under the host side of its volumes that outlive the instance; default none)."
  - Bad input raises an error that names the variable, the service, the field and the bad value; an C(env) value is
    never repeated.
positional: _input
options:
  _input:
    description: The services. An empty list is allowed.
    type: list
    elements: dict
    required: true
  env:
    description:
      - Environment per service name, merged over each service's own C(env); for values kept out of the
        service list, such as the stack's SSM parameter C(/spotkit/<stack>/env).
      - A name that is not a service in the list is an error.
    type: dict
    default: {}
  variable:
    description: Name of the variable the services came from, used in error messages.
    type: str
    default: spot_services
"""

EXAMPLES = r"""
- name: Check the services and fill in their defaults
  ansible.builtin.set_fact:
    services: "{{ spot_services | spotkit.ec2.container_services }}"

- name: Merge the secret environment kept outside the list
  ansible.builtin.set_fact:
    services: "{{ spot_services | spotkit.ec2.container_services(env={'blog': {'TOKEN': 'secret'}}) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description:
    - The services in the same order, each with C(name), C(image), C(ports), C(env), C(volumes), C(command),
      C(pull), C(log_retention_days), C(memory), C(pids_limit), C(cap_add), C(read_only) and C(state).
    - Environment values are strings (C(true)/C(false) for booleans).
  type: list
  elements: dict
"""

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.module_utils._stack import check_env, check_services, public_service


def _env_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_extra_env(services, env):
    if not isinstance(env, dict):
        raise ValueError("env must be a mapping of service names to environments; got a %s" % type(env).__name__)
    names = [service["name"] for service in services]
    stray = sorted(set(env) - set(names))
    if stray:
        raise ValueError("env: %r is not a service in spot_services (services: %s)" % (stray[0], ", ".join(names)))
    for name, extra in env.items():
        check_env("spot_services (%s) env" % name, extra)


def normalise_services(services, env=None):
    """The checked services with every field, env merged; raise ValueError on bad input."""
    check_services(services, allow_empty=True)
    env = {} if env is None else env
    _check_extra_env(services, env)
    normalised = []
    for service in services:
        merged = dict(service.get("env") or {}, **(env.get(service["name"]) or {}))
        normalised.append(dict(public_service(service), command=service.get("command", []), state=service.get("state", []),
                               env={key: _env_text(value) for key, value in merged.items()}))
    return normalised


def container_services(services, env=None, variable="spot_services"):
    """Filter entry point: `spot_services | spotkit.ec2.container_services(env=...)`."""
    try:
        return normalise_services(services, env)
    except (TypeError, ValueError) as exc:
        # The rules speak of spot_services; name the variable the services really came from.
        message = re.sub(r"\bspot_services\b", variable, to_native(exc))
        raise AnsibleFilterError("container_services: %s" % message)


class FilterModule(object):
    """spotkit.ec2 container service filters."""

    def filters(self):
        return {"container_services": container_services}
