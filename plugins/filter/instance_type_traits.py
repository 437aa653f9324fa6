# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: instance_type_traits
short_description: Architecture and CPU credit model of a list of EC2 instance types, without asking AWS
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Tells the architecture that the instance types share (they launch from one image) and whether they are burstable,
    from their names alone.
  - "A family is arm64 when it is C(a1), or when a generation digit is followed by C(g) (C(t4g), C(c7gn), C(g5g),
    C(im4gn), C(x2gd)); every other family is x86_64. Burstable families are C(t2), C(t3), C(t3a), C(t4g)."
  - Fails on an empty list, a malformed type, a mac type, mixed architectures, or burstable types mixed with others.
positional: _input
options:
  _input:
    description: Instance types (the C(spot_instance_types) stack variable).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Pick the image parameter of the instance types' architecture
  ansible.builtin.debug:
    msg: "{{ (spot_instance_types | spotkit.ec2.instance_type_traits).architecture }}"
"""

RETURN = r"""
_value:
  description: C(architecture) (V(arm64) or V(x86_64), as EC2 images name it) and C(burstable) (bool).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.module_utils.stack_api import (
    check_instance_types,
    instance_family,
    is_burstable,
)


def instance_type_traits(types):
    """Filter entry point: `spot_instance_types | spotkit.ec2.instance_type_traits`."""
    try:
        arch = check_instance_types(types)
        return {"architecture": arch, "burstable": is_burstable(instance_family("spot_instance_types[0]", types[0]))}
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("instance_type_traits: %s" % to_native(exc))


class FilterModule(object):
    """spotkit.ec2 instance type traits."""

    def filters(self):
        return {"instance_type_traits": instance_type_traits}
