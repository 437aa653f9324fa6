# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""Action plugin of spotkit.ec2.stack_plan: the one planning step of a stack, on the controller."""

from __future__ import annotations

import functools
import os

import yaml
from ansible.plugins.action import ActionBase

from ansible_collections.spotkit.ec2.plugins.module_utils._alerts import alert_plan
from ansible_collections.spotkit.ec2.plugins.module_utils._stack import (
    INSTANCE_ROLES,
    PLAN_VARIABLES,
    StackError,
    instance_variables,
    plan_stack,
)

ROLES = os.path.join(os.path.dirname(__file__), "..", "..", "roles")


@functools.lru_cache(maxsize=1)
def instance_role_variables():
    """The public variables of the on-instance roles: the options of their argument specs."""
    options = {}
    for role in INSTANCE_ROLES:
        with open(os.path.join(ROLES, role, "meta", "argument_specs.yml"), encoding="utf-8") as stream:
            specs = yaml.safe_load(stream)["argument_specs"]
        options[role] = [option for entry in specs.values() for option in (entry.get("options") or {})]
    return instance_variables(options)


class ActionModule(ActionBase):
    """Read the stack's spot_* variables, check them all against the rulebook, return the plan."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        unknown = sorted(set(self._task.args) - {"stack"})
        if unknown:
            return dict(result, failed=True, msg="stack_plan takes only 'stack' (it reads the stack's spot_* variables); got %s"
                        % ", ".join(unknown))
        stack = self._task.args.get("stack") or task_vars.get("inventory_hostname")
        variables = self._templar.template({name: task_vars[name] for name in PLAN_VARIABLES if name in task_vars})
        try:
            plan = plan_stack(stack, variables, instance_role_variables())
        except StackError as exc:
            return dict(result, failed=True, errors=exc.errors, msg="Stack %s: %s" % (stack, "; ".join(exc.errors)))
        plan["alerts"] = alert_plan(plan, variables["spot_region"], variables["spot_services"])
        return dict(result, changed=False, plan=plan)
