"""A service's fields are checked in one place, the rulebook (plugins/module_utils/_stack.py). The argument specs
that declare them for ansible-doc and type checks, and the container_service role's defaults, must say the same."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.spotkit.ec2.plugins.module_utils import _stack

ROLES = Path(__file__).resolve().parents[3] / "roles"


def service_options(role, variable):
    spec = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"][variable]["options"]


DECLARATIONS = {
    "spot_instance": service_options("spot_instance", "spot_services"),
    "container_service": service_options("container_service", "container_service_services"),
}


@pytest.mark.parametrize("role", sorted(DECLARATIONS))
def test_the_fields_are_the_rulebooks(role):
    options = DECLARATIONS[role]
    assert tuple(options) == _stack.SERVICE_FIELDS
    assert {name for name, option in options.items() if option.get("required")} == set(_stack.REQUIRED_SERVICE_FIELDS)
    assert options["pull"]["choices"] == list(_stack.PULL_POLICIES)
    assert options["pull"]["default"] == _stack.DEFAULT_PULL_POLICY


def test_the_stack_api_declares_the_rulebooks_defaults_and_retentions():
    options = DECLARATIONS["spot_instance"]
    for field, default in _stack.SERVICE_DEFAULTS.items():
        assert options[field]["default"] == default, field
    assert options["log_retention_days"]["choices"] == list(_stack.LOG_RETENTION_DAYS)


def test_the_container_service_role_fills_in_what_its_spec_declares():
    role_defaults = yaml.safe_load((ROLES / "container_service" / "vars" / "main.yml").read_text())["_container_service_field_defaults"]
    declared = {field: option["default"] for field, option in DECLARATIONS["container_service"].items() if "default" in option}
    assert role_defaults == declared
    # The same defaults as a stack's settings carry (command: none, which the role runs as no arguments).
    assert {field: default for field, default in role_defaults.items() if field != "command"} == {
        field: default for field, default in _stack.SERVICE_DEFAULTS.items() if field in role_defaults}
    assert role_defaults["command"] == []
