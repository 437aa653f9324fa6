# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: stack_errors
short_description: What is wrong with a stack's variables, before any AWS call
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Checks the rules of the stack API that an argument spec cannot express, and returns one message per broken
    rule; an empty list means the stack is valid.
  - Each message names the variable and the bad value (for a service, the service and the field).
  - "Rules: the stack name; O(_input.spot_region); O(_input.spot_services) (at least one, names valid, unique and
    not reserved, an image each, ports C(HOST:CONTAINER[/udp]) within 1-65535, no host port published twice,
    host port 22 reserved for SSH, env names, pull policy, log retention among CloudWatch's values, and whatever
    else the C(container_service) role refuses, through P(spotkit.ec2.container_services#filter));
    O(_input.spot_instance_types) (well formed, one architecture, all burstable or none, no mac);
    O(_input.spot_image_id); O(_input.spot_domain) inside O(_input.spot_hosted_zone); O(_input.spot_ssh_cidrs);
    keys of O(_input.spot_instance_vars)."
positional: _input, stack_name
options:
  _input:
    description: The stack's variables, keyed by their names (C(spot_region), C(spot_services), ...).
    type: dict
    required: true
  stack_name:
    description: The stack's name, the inventory hostname.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Check the stack's variables
  ansible.builtin.assert:
    that: __errors | length == 0
    fail_msg: "{{ __errors | join('; ') }}"
  vars:
    __errors: "{{ {'spot_region': spot_region, 'spot_services': spot_services} | spotkit.ec2.stack_errors(inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description: One message per broken rule, empty when the stack is valid.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.filter.container_services import normalise_services
from ansible_collections.spotkit.ec2.plugins.module_utils.stack_api import (
    check_cidrs,
    check_domain,
    check_image_id,
    check_instance_types,
    check_instance_vars,
    check_name,
    check_region,
    check_service_specs,
)


def _check_services(services):
    check_service_specs(services)
    # What the instance's container_service role accepts: refused here, before anything is created.
    normalise_services(services)


def _checks(stack, stack_name):
    """One check per rule, each raising ValueError when its rule is broken; all run, so every error shows."""
    return (
        lambda: check_name("the stack name (inventory hostname)", stack_name),
        lambda: check_region(stack.get("spot_region")),
        lambda: _check_services(stack.get("spot_services")),
        lambda: check_instance_types(stack.get("spot_instance_types")),
        lambda: check_image_id(stack.get("spot_image_id")),
        lambda: check_domain(stack.get("spot_domain"), stack.get("spot_hosted_zone")),
        lambda: check_cidrs(stack.get("spot_ssh_cidrs", [])),
        lambda: check_instance_vars(stack.get("spot_instance_vars", {})),
    )


def stack_errors(stack, stack_name):
    """Filter entry point: `{...stack vars...} | spotkit.ec2.stack_errors(inventory_hostname)`."""
    if not isinstance(stack, dict):
        raise AnsibleFilterError("stack_errors: expects the stack's variables as a mapping; got %r" % (stack,))
    errors = []
    for check in _checks(stack, stack_name):
        try:
            check()
        except (TypeError, ValueError) as exc:
            errors.append(to_native(exc))
    return errors


class FilterModule(object):
    """spotkit.ec2 stack validation."""

    def filters(self):
        return {"stack_errors": stack_errors}
