"""Role READMEs point at the argument spec instead of copying it into a table that drifts, and name
only variables that the spec has (or the role's tags)."""

from __future__ import annotations

import re

import pytest
import yaml

from harness import REPO

ROLES = sorted(path.parent for path in (REPO / "roles").glob("*/README.md"))
# The stack API's variables keep its spot_ prefix (docs/stack-api.md), not the role's name.
PREFIXES = {"spot_instance": "spot_"}


def options(role):
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return {option for entry in specs.values() for option in (entry.get("options") or {})}


def tags(role):
    """Every tag in the role's task files, blocks and include options included."""
    found, pending = set(), [yaml.safe_load(path.read_text()) for path in (role / "tasks").glob("*.yml")]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            found.update(item.get("tags", []) if isinstance(item.get("tags"), list) else [])
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_the_readme_points_at_ansible_doc_and_the_spec(role):
    text = (role / "README.md").read_text()
    assert "ansible-doc -t role spotkit.ec2.%s" % role.name in text
    assert "meta/argument_specs.yml" in text
    assert not re.search(r"^\|\s*variable\s*\|", text, re.MULTILINE | re.IGNORECASE), "a variable table: point at the spec instead"


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_the_variables_a_readme_names_are_in_the_spec(role):
    prefix = PREFIXES.get(role.name, role.name + "_")
    named = set(re.findall(r"`(%s[a-z0-9_]+)`" % re.escape(prefix), (role / "README.md").read_text()))
    assert sorted(named - options(role) - tags(role)) == []
