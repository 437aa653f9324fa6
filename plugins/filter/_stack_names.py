# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: _stack_names
short_description: The names an instance needs of its stack's Auto Scaling group and SNS topic (private)
version_added: 0.2.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Private to this collection (leading underscore); the C(interruption_watcher) role writes these names into its
    script, so that the rule of each name stays in one place (the collection's C(_stack) module_utils).
positional: _input
options:
  _input:
    description: The stack's name (C(spot_stack) of the instance's settings).
    type: str
    required: true
  region:
    description: The stack's region.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The names of stack blog in eu-west-1
  ansible.builtin.debug:
    msg: "{{ 'blog' | spotkit.ec2._stack_names(region='eu-west-1') }}"
  # {"group": "spotkit-blog", "topic": "spotkit-blog-eu-west-1"}
"""

RETURN = r"""
_value:
  description: C(group), the Auto Scaling group's name, and C(topic), the SNS topic's name in the stack's region.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.module_utils._stack import check_name, check_region, resource_name, topic_name


def stack_names(stack, region):
    """Filter entry point: `stack | spotkit.ec2._stack_names(region=region)`."""
    try:
        check_name("the stack name", stack)
        check_region(region, "the region")
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("_stack_names: %s" % to_native(exc))
    return {"group": resource_name(stack), "topic": topic_name(stack, region)}


class FilterModule(object):
    """spotkit.ec2 private filter: names of a stack's resources."""

    def filters(self):
        return {"_stack_names": stack_names}
