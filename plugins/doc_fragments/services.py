# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations


class ModuleDocFragment:
    """The input of the filters that take a stack's services."""

    DOCUMENTATION = r"""
options:
  _input:
    description: The stack's services (the C(spot_services) stack variable).
    type: list
    elements: dict
    required: true
"""
