"""A service's fields are checked in one place, the rulebook (plugins/module_utils/_stack.py). The argument specs
that declare them for ansible-doc and type checks must say the same as the rulebook and the filter built on it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.spotkit.ec2.plugins.filter.container_services import container_services
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
    assert options["cap_add"]["choices"] == list(_stack.CAPABILITIES)
    for field in ("memory", "pids_limit", "cap_add", "read_only"):
        assert options[field]["default"] == _stack.SERVICE_DEFAULTS[field], field
    assert (options["memory"]["type"], options["pids_limit"]["type"], options["read_only"]["type"]) == ("str", "int", "bool")
    assert (options["cap_add"]["type"], options["cap_add"]["elements"]) == ("list", "str")


def test_the_stack_api_declares_the_rulebooks_defaults_and_retentions():
    options = DECLARATIONS["spot_instance"]
    for field, default in _stack.SERVICE_DEFAULTS.items():
        assert options[field]["default"] == default, field
    assert options["log_retention_days"]["choices"] == list(_stack.LOG_RETENTION_DAYS)


def test_the_container_service_role_declares_the_defaults_its_filter_fills_in():
    declared = {field: option["default"] for field, option in DECLARATIONS["container_service"].items() if "default" in option}
    filled = container_services([{"name": "web", "image": "nginx:1"}])[0]
    assert declared == {field: filled[field] for field in declared}
    assert set(declared) == set(_stack.SERVICE_DEFAULTS) - {"log_retention_days"} | {"command", "state"}
