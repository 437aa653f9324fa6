# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: container_services
short_description: Check a stack's services and fill in their defaults
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Checks a list of services shaped like the C(spot_services) stack variable and returns a new list
    in which every service has every field, defaults filled in.
  - "Fields: C(name) and C(image) (required), C(ports) (list of C(host:container) or C(host:container/udp)),
    C(env) (mapping of variable names to strings or numbers), C(volumes) (list of C(source:/path[:options])),
    C(command) (list of arguments), C(pull) (C(always), C(missing) or C(never); default C(always)),
    C(log_retention_days) (one of CloudWatch's values; default 30)."
  - Names follow the stack API (see C(plugins/module_utils/stack_api.py)); two services cannot publish the same host port.
  - Bad input raises an error that names the variable, the service, the field and the bad value.
positional: _input
options:
  _input:
    description: The services.
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
      C(pull) and C(log_retention_days).
    - Environment values are strings (C(true)/C(false) for booleans).
  type: list
  elements: dict
"""

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.module_utils.stack_api import (
    DEFAULT_LOG_RETENTION_DAYS,
    check_services,
    service_label,
)

FIELDS = ("name", "image", "ports", "env", "volumes", "command", "pull", "log_retention_days")
PULL_POLICIES = ("always", "missing", "never")
DEFAULT_PULL = "always"

# A Docker image reference: [registry[:port]/]repository[:tag][@digest]; no spaces, no systemd specifiers.
IMAGE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")
PORT_PATTERN = re.compile(r"^([0-9]{1,5}):([0-9]{1,5})(/udp|/tcp)?$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_list_of_strings(label, field, value):
    if not isinstance(value, list):
        raise ValueError("%s: field '%s' must be a list; got %r" % (label, field, value))
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)) or "\n" in str(item) or "\0" in str(item):
            raise ValueError("%s: field '%s' items must be single-line strings; got %r" % (label, field, item))
    return [str(item) for item in value]


def _check_image(label, image):
    if not isinstance(image, str) or not IMAGE_PATTERN.match(image):
        raise ValueError("%s: field 'image' must be an image reference such as registry:5000/blog:latest; got %r" % (label, image))
    return image


def _check_ports(label, ports, published):
    ports = _check_list_of_strings(label, "ports", ports)
    for port in ports:
        match = PORT_PATTERN.match(port)
        if not match or not all(1 <= int(number) <= 65535 for number in match.group(1, 2)):
            raise ValueError(
                "%s: field 'ports' items must be 'host:container' or 'host:container/udp' with ports 1-65535; got %r"
                % (label, port)
            )
        key = (int(match.group(1)), match.group(3) or "/tcp")
        if key in published:
            raise ValueError("%s: host port %s is already published by %s" % (label, port.split(":")[0] + key[1], published[key]))
        published[key] = label
    return ports


def _env_value(label, name, value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, (str, int, float)):
        raise ValueError("%s: field 'env' value of %s must be a string or a number; got a %s" % (label, name, type(value).__name__))
    text = str(value)
    if "\n" in text or "\r" in text or "\0" in text:
        # Docker's env file holds one variable per line. The value is not repeated: it may be a secret.
        raise ValueError("%s: field 'env' value of %s must be a single line" % (label, name))
    return text


def _check_env(label, env):
    if not isinstance(env, dict):
        raise ValueError("%s: field 'env' must be a mapping of variable names to values; got a %s" % (label, type(env).__name__))
    checked = {}
    for name, value in env.items():
        if not isinstance(name, str) or not ENV_NAME_PATTERN.match(name):
            raise ValueError("%s: field 'env' has a bad variable name %r (letters, digits and '_', not starting with a digit)" % (label, name))
        checked[name] = _env_value(label, name, value)
    return checked


def _check_volumes(label, volumes):
    volumes = _check_list_of_strings(label, "volumes", volumes)
    for volume in volumes:
        parts = volume.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/"):
            raise ValueError("%s: field 'volumes' items must be 'source:/path' or 'source:/path:options'; got %r" % (label, volume))
    return volumes


def _check_service(label, service, extra_env, published):
    unknown = sorted(set(service) - set(FIELDS))
    if unknown:
        raise ValueError("%s: unknown field %r; fields: %s" % (label, unknown[0], ", ".join(FIELDS)))
    pull = service.get("pull", DEFAULT_PULL)
    if pull not in PULL_POLICIES:
        raise ValueError("%s: field 'pull' must be one of %s; got %r" % (label, ", ".join(PULL_POLICIES), pull))
    env = _check_env(label, service.get("env") if service.get("env") is not None else {})
    env.update(_check_env("%s (extra env)" % label, extra_env))
    return {
        "name": service["name"],
        "image": _check_image(label, service["image"]),
        "ports": _check_ports(label, service.get("ports") or [], published),
        "env": env,
        "volumes": _check_volumes(label, service.get("volumes") or []),
        "command": _check_list_of_strings(label, "command", service.get("command") or []),
        "pull": pull,
        "log_retention_days": service.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS),
    }


def normalise_services(services, env=None):
    """Return the checked services with defaults filled in; raise ValueError on bad input."""
    check_services(services, required=("name", "image"))
    env = {} if env is None else env
    if not isinstance(env, dict):
        raise ValueError("env must be a mapping of service names to environments; got a %s" % type(env).__name__)
    names = [service["name"] for service in services]
    stray = sorted(set(env) - set(names))
    if stray:
        raise ValueError("env: %r is not a service in spot_services (services: %s)" % (stray[0], ", ".join(names)))
    published = {}
    return [
        _check_service(service_label(index, service), service, env.get(service["name"]) or {}, published)
        for index, service in enumerate(services)
    ]


def container_services(services, env=None, variable="spot_services"):
    """Filter entry point: `spot_services | spotkit.ec2.container_services(env=...)`."""
    try:
        return normalise_services(services, env)
    except (TypeError, ValueError) as exc:
        # The shared rules speak of spot_services; name the variable the services really came from.
        message = re.sub(r"\bspot_services\b", variable, to_native(exc))
        raise AnsibleFilterError("container_services: %s" % message)


class FilterModule(object):
    """spotkit.ec2 container service filters."""

    def filters(self):
        return {"container_services": container_services}
