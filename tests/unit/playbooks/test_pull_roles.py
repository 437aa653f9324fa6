"""playbooks/pull.yml applies every on-instance role of the stack API (INSTANCE_ROLES), each once, and no other
(but _common, the roles' shared tasks)."""

from __future__ import annotations

import yaml

from ansible_collections.spotkit.ec2.plugins.module_utils._stack import INSTANCE_ROLES
from harness import REPO


def imported_roles(node):
    """The role names of every import_role/include_role under node that applies the whole role, in order. One of its
    task files (tasks_from) is not an application of the role, unless it may be main.yml (a choice, templated)."""
    if isinstance(node, list):
        return [name for item in node for name in imported_roles(item)]
    if not isinstance(node, dict):
        return []
    found = []
    for key, value in node.items():
        if key in ("ansible.builtin.import_role", "ansible.builtin.include_role", "import_role", "include_role"):
            if "main.yml" in value.get("tasks_from", "main.yml"):
                found.append(value["name"])
        else:
            found.extend(imported_roles(value))
    return found


def test_pull_applies_every_instance_role_once():
    roles = [role for role in imported_roles(yaml.safe_load((REPO / "playbooks" / "pull.yml").read_text()))
             if role != "spotkit.ec2._common"]
    assert sorted(roles) == sorted("spotkit.ec2." + role for role in INSTANCE_ROLES)
