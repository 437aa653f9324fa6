"""The spot_instance role's contract: defaults, argument spec, the stack API document, the inventories."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from ansible_collections.spotkit.ec2.plugins.action.stack_plan import instance_role_variables
from ansible_collections.spotkit.ec2.plugins.module_utils._stack import plan_stack

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "spot_instance"
SPEC = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


# That the spec and the defaults agree is tests/unit/roles/test_argument_specs.py's, for every role.
def test_the_required_variables_are_the_region_and_the_services():
    required = {name for name, option in SPEC.items() if option.get("required")}
    assert required == {"spot_region", "spot_services"}


def test_stack_api_document_matches_the_spec():
    spec = importlib.util.spec_from_file_location("stack_api_doc", REPO / "scripts" / "stack-api-doc.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.render() in (REPO / "docs" / "stack-api.md").read_text(), "run scripts/stack-api-doc.py --write"


def inventory_stacks(directory):
    """{stack: variables} of an inventory directory: role defaults, then group_vars, then host variables. The one
    template the inventories use in a checked variable, the inventory's own directory, is filled in."""
    hosts = {}
    for path in sorted(directory.glob("*.yml")):
        text = path.read_text().replace("{{ inventory_dir | realpath }}", str(directory.resolve()))
        group = yaml.safe_load(text)["spot_stacks"]
        shared = group.get("vars", {})
        for name, variables in group["hosts"].items():
            hosts[name] = dict(shared, **(variables or {}))
    group_vars = directory / "group_vars" / "spot_stacks.yml"
    for name in hosts:
        stack = dict(DEFAULTS)
        if group_vars.exists():
            stack.update(yaml.safe_load(group_vars.read_text()))
        host_vars = directory / "host_vars" / ("%s.yml" % name)
        if host_vars.exists():
            stack.update(yaml.safe_load(host_vars.read_text()))
        stack.update(hosts[name])
        hosts[name] = stack
    return hosts


@pytest.mark.parametrize("inventory,stacks", [("examples/project/inventory", {"blog", "uptime"}), ("sandbox/inventory", {"blog"})])
def test_the_shipped_inventories_are_valid_stacks(inventory, stacks):
    found = inventory_stacks(REPO / inventory)
    assert set(found) == stacks
    for name, variables in found.items():
        plan_stack(name, variables, instance_role_variables())
        unknown = set(variables) - set(SPEC)
        assert not unknown, (name, unknown)
