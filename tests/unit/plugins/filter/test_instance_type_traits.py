"""Unit tests for the spotkit.ec2.instance_type_traits filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.spotkit.ec2.plugins.filter.instance_type_traits import FilterModule, instance_type_traits


@pytest.mark.parametrize("types,traits", [
    (["t4g.nano", "t4g.micro"], {"architecture": "arm64", "burstable": True}),
    (["t3.nano", "t3a.micro"], {"architecture": "x86_64", "burstable": True}),
    (["m7g.medium", "c7gn.medium"], {"architecture": "arm64", "burstable": False}),
    (["c5.large"], {"architecture": "x86_64", "burstable": False}),
])
def test_traits(types, traits):
    assert instance_type_traits(types) == traits
    assert FilterModule().filters()["instance_type_traits"](types) == traits


@pytest.mark.parametrize("types", [[], ["t4g.nano", "t3.nano"], ["t3.nano", "c5.large"], ["nano"], ["mac1.metal"]])
def test_bad_types_fail(types):
    with pytest.raises(AnsibleFilterError, match="spot_instance_types"):
        instance_type_traits(types)
