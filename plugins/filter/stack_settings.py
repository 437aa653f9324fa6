# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: stack_settings
short_description: The stack settings an instance reads from /etc/spotkit/stack.json
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Builds the settings that the user-data writes to C(/etc/spotkit/stack.json), the only thing an instance is told
    about its stack (see docs/architecture.md).
  - The services keep every field except C(env), with defaults filled in (C(ports) and C(volumes) empty,
    C(pull=always), C(log_retention_days=30)). C(env) values can be secrets; they stay in SSM Parameter Store,
    and the settings carry only the parameter's name and version.
  - The keys of O(instance_vars) are merged in at the top level, under the C(spot_*) settings.
positional: _input, stack_name
extends_documentation_fragment:
  - spotkit.ec2.services
options:
  stack_name:
    description: The stack's name.
    type: str
    required: true
  region:
    description: The stack's AWS region.
    type: str
    required: true
  pull_repo:
    description: Git URL that ansible-pull checks out on the instance.
    type: str
    required: true
  pull_version:
    description: Branch, tag or commit that ansible-pull checks out.
    type: str
    required: true
  endpoint_url:
    description: AWS endpoint override for the instance; left out of the settings when empty.
    type: str
    default: ""
  env_parameter:
    description: Name of the SSM parameter holding the services' C(env); left out when empty (no service has env).
    type: str
    default: ""
  env_version:
    description: Version of that parameter, so that a changed env changes the settings.
    type: int
  instance_vars:
    description: Role variables for the on-instance roles; no key may start with C(spot_).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Render the settings
  ansible.builtin.debug:
    msg: "{{ spot_services | spotkit.ec2.stack_settings('blog', region='eu-west-1', pull_repo=repo, pull_version='main') | to_json }}"
"""

RETURN = r"""
_value:
  description: The settings, ready for C(to_json); no C(env) value anywhere in them.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.spotkit.ec2.plugins.module_utils.stack_api import (
    DEFAULT_LOG_RETENTION_DAYS,
    DEFAULT_PULL_POLICY,
    check_instance_vars,
    check_name,
    check_service_specs,
)


def _public_service(service):
    public = {key: value for key, value in service.items() if key != "env"}
    public.setdefault("ports", [])
    public.setdefault("volumes", [])
    public.setdefault("pull", DEFAULT_PULL_POLICY)
    public.setdefault("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
    return public


def build_settings(services, stack_name, region, pull_repo, pull_version, endpoint_url="",
                   env_parameter="", env_version=None, instance_vars=None):
    """Return the settings; raise ValueError on bad input."""
    check_name("stack_name", stack_name)
    check_service_specs(services)
    instance_vars = {} if instance_vars is None else instance_vars
    check_instance_vars(instance_vars)
    for what, value in (("region", region), ("pull_repo", pull_repo), ("pull_version", pull_version)):
        if not isinstance(value, str) or not value:
            raise ValueError("%s must be a non-empty string; got %r" % (what, value))

    settings = dict(instance_vars)
    settings.update({
        "spot_stack": stack_name,
        "spot_region": region,
        "spot_services": [_public_service(service) for service in services],
        "spot_pull_repo": pull_repo,
        "spot_pull_version": pull_version,
    })
    if env_parameter:
        if isinstance(env_version, bool) or not isinstance(env_version, int):
            raise ValueError("env_version must be the parameter's version number; got %r" % (env_version,))
        settings["spot_env_parameter"] = env_parameter
        settings["spot_env_version"] = env_version
    if endpoint_url:
        settings["spot_endpoint_url"] = endpoint_url
    return settings


def stack_settings(services, stack_name, **options):
    """Filter entry point: `spot_services | spotkit.ec2.stack_settings(stack, region=..., ...)`."""
    try:
        return build_settings(services, stack_name, **options)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("stack_settings: %s" % to_native(exc))


class FilterModule(object):
    """spotkit.ec2 stack settings."""

    def filters(self):
        return {"stack_settings": stack_settings}
