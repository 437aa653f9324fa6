# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""Action plugin of spotkit.ec2.stack_plan: the one planning step of a stack, on the controller."""

from __future__ import annotations

import functools
import os
import subprocess

import yaml
from ansible.plugins.action import ActionBase

from ansible_collections.spotkit.ec2.plugins.module_utils._alerts import alert_plan
from ansible_collections.spotkit.ec2.plugins.module_utils._handover import group_settings
from ansible_collections.spotkit.ec2.plugins.module_utils._image import bake_key, builder_tags, commit_of, image_tags, service_images
from ansible_collections.spotkit.ec2.plugins.module_utils._stack import (
    INSTANCE_ROLES,
    PLAN_VARIABLES,
    StackError,
    instance_variables,
    plan_stack,
)

ROLES = os.path.join(os.path.dirname(__file__), "..", "..", "roles")
# Seconds git may take to list the project's refs.
LS_REMOTE_TIMEOUT = 60


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
        unknown = sorted(set(self._task.args) - {"stack", "base_image"})
        if unknown:
            return dict(result, failed=True, msg="stack_plan takes only 'stack' and 'base_image' (it reads the stack's spot_* "
                        "variables); got %s" % ", ".join(unknown))
        stack = self._task.args.get("stack") or task_vars.get("inventory_hostname")
        variables = self._templar.template({name: task_vars[name] for name in PLAN_VARIABLES if name in task_vars})
        try:
            plan = plan_stack(stack, variables, instance_role_variables())
        except StackError as exc:
            return dict(result, failed=True, errors=exc.errors, msg="Stack %s: %s" % (stack, "; ".join(exc.errors)))
        plan["alerts"] = alert_plan(plan, variables["spot_region"], variables["spot_services"])
        # The Auto Scaling group's launch hook, maintenance policy and refresh (docs/operations.md#a-new-instance).
        plan["group"] = group_settings()
        if self._task.args.get("base_image"):
            try:
                plan["bake"] = bake_plan(stack, plan, self._task.args["base_image"], variables)
            except ValueError as exc:
                return dict(result, failed=True, msg="Stack %s: %s" % (stack, exc))
        return dict(result, changed=False, plan=plan)


def project_commit(repo, version):
    """The commit that spot_pull_version names in spot_pull_repo, asked of the remote from the controller."""
    try:
        # A tag's peeled line (tag^{}, the commit of an annotated tag) is listed only when asked for.
        listed = subprocess.run(["git", "ls-remote", "--", repo, version, version + "^{}"], capture_output=True, text=True,
                                check=False, timeout=LS_REMOTE_TIMEOUT, env=dict(os.environ, GIT_TERMINAL_PROMPT="0"))
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ValueError("git ls-remote of spot_pull_repo %s failed: %s" % (repo, exc)) from None
    if listed.returncode != 0:
        raise ValueError("git ls-remote of spot_pull_repo %s failed (exit %d): %s"
                         % (repo, listed.returncode, " ".join(listed.stderr.split())[-500:]))
    commit = commit_of(listed.stdout, version)
    if not commit:
        raise ValueError("spot_pull_version %s names no branch, tag or commit of spot_pull_repo %s" % (version, repo))
    return commit


def bake_plan(stack, plan, base_image, variables):
    """The stack image's inputs, its key and the tags of the image and of its builder."""
    commit = project_commit(variables.get("spot_controller_pull_repo") or variables["spot_pull_repo"], variables["spot_pull_version"])
    images = service_images(variables["spot_services"])
    key = bake_key(base_image, commit, images, plan["settings"])
    return {"commit": commit, "images": images, "key": key, "image_tags": image_tags(stack, base_image, commit, images, key),
            "builder_tags": builder_tags(stack, plan["image"]["builder_name"], key)}
