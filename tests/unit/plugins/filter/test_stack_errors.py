"""Unit tests for the spotkit.ec2.stack_errors filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.spotkit.ec2.plugins.filter.stack_errors import FilterModule, stack_errors

VALID = {
    "spot_region": "eu-west-1",
    "spot_services": [{"name": "blog", "image": "caddy:2", "ports": ["80:80", "443:443"]}],
    "spot_instance_types": ["t4g.nano", "t4g.micro"],
    "spot_image_id": "",
    "spot_domain": "blog.example.com",
    "spot_hosted_zone": "",
    "spot_ssh_cidrs": [],
    "spot_instance_vars": {},
}


def test_a_valid_stack_has_no_errors():
    assert stack_errors(VALID, "blog") == []
    assert FilterModule().filters()["stack_errors"](VALID, "blog") == []


def test_every_broken_rule_is_reported_at_once():
    stack = dict(VALID, spot_region="nowhere", spot_instance_types=["t4g.nano", "t3.nano"], spot_ssh_cidrs=["x"])
    errors = stack_errors(stack, "Blog")
    assert len(errors) == 4
    assert errors[0].startswith("the stack name (inventory hostname) must be") and "'Blog'" in errors[0]
    assert "spot_region" in errors[1] and "'nowhere'" in errors[1]
    assert "spot_instance_types" in errors[2]
    assert "spot_ssh_cidrs[0]" in errors[3] and "'x'" in errors[3]


@pytest.mark.parametrize("variable,value,fragment", [
    ("spot_services", [{"name": "blog", "image": "x", "ports": ["22:22"]}], "reserved for SSH"),
    ("spot_image_id", "ami-1", "spot_image_id"),
    ("spot_domain", "under_score.example.com", "spot_domain must be a DNS name"),
    ("spot_instance_vars", {"spot_x": 1}, "'spot_x'"),
    # Rules of the instance's container_service role are checked too.
    ("spot_services", [{"name": "blog", "image": "x", "volumes": ["data"]}], "spot_services[0] (blog): field 'volumes'"),
    ("spot_services", [{"name": "blog", "image": "x", "env": {"KEY": "two\nlines"}}], "must be a single line"),
])
def test_each_variable_is_checked(variable, value, fragment):
    errors = stack_errors(dict(VALID, **{variable: value}), "blog")
    assert len(errors) == 1 and fragment in errors[0], errors


def test_missing_required_variables_are_errors():
    errors = stack_errors({}, "blog")
    assert any("spot_region" in error for error in errors)
    assert any("spot_services" in error for error in errors)
    assert any("spot_instance_types" in error for error in errors)


def test_input_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="mapping"):
        stack_errors(["x"], "blog")
