"""Every role's argument spec and defaults say the same: defaults/main.yml holds exactly the
top-level options of the spec's entry points that are not required, each with the spec's default;
required options have no default. The roles of the collection and the sandbox's role, whatever
their specs say."""

from __future__ import annotations

import pytest
import yaml

from harness import REPO

ROLES = sorted((REPO / "roles").glob("*/meta/argument_specs.yml")) + sorted((REPO / "sandbox" / "roles").glob("*/meta/argument_specs.yml"))
# Defaults that are templates of other variables: the spec cannot hold them as its default, and
# says in its description what the default is.
TEMPLATED = {
    ("spot_instance", "spot_instance_endpoint_url"),
    # The instance's paths, from the _common role.
    ("ansible_pull", "ansible_pull_checkout_dir"),
    ("ansible_pull", "ansible_pull_collections_path"),
    ("ansible_pull", "ansible_pull_executable"),
    ("interruption_watcher", "interruption_watcher_python"),
    ("container_service", "container_service_state_python"),
    ("eip", "eip_boot_python"),
    ("eip", "eip_boot_collections_path"),
}


def load(path):
    return (yaml.safe_load(path.read_text()) if path.exists() else None) or {}


@pytest.fixture(name="role", params=ROLES, ids=[spec.parents[1].name for spec in ROLES])
def fixture_role(request):
    """(name, entry points' options, defaults) of a role."""
    role = request.param.parents[1]
    entry_points = {name: entry.get("options") or {} for name, entry in load(request.param)["argument_specs"].items()}
    return role.name, entry_points, load(role / "defaults" / "main.yml")


def test_every_role_has_an_argument_spec():
    roles = {path.parent.name for path in (REPO / "roles").glob("*/tasks")}
    assert roles == {spec.parents[1].name for spec in ROLES if spec.is_relative_to(REPO / "roles")}


def test_defaults_are_the_specs_options_that_are_not_required(role):
    name, entry_points, defaults = role
    options = {option: spec for entry in entry_points.values() for option, spec in entry.items()}
    required = {option for option, spec in options.items() if spec.get("required")}
    assert sorted(set(options) - required) == sorted(defaults), name
    assert not required & set(defaults), name
    assert not [option for option in required if "default" in options[option]], name


def test_each_default_is_the_specs_default(role):
    name, entry_points, defaults = role
    for entry_point, options in entry_points.items():
        for option, spec in options.items():
            if option not in defaults:
                continue
            if (name, option) in TEMPLATED and "default" not in spec and "{{" in str(defaults[option]):
                continue
            assert spec.get("default") == defaults[option], (name, entry_point, option)
