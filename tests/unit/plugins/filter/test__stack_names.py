"""Unit tests for the private spotkit.ec2._stack_names filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.spotkit.ec2.plugins.filter._stack_names import FilterModule, stack_names


def test_names_of_the_group_and_the_topic():
    expected = {"group": "spotkit-blog", "topic": "spotkit-blog-eu-west-1"}
    assert stack_names("blog", region="eu-west-1") == expected
    assert FilterModule().filters()["_stack_names"]("blog", region="eu-west-1") == expected


@pytest.mark.parametrize(("stack", "region", "message"), [
    ("Blog", "eu-west-1", "the stack name must be lowercase letters"),
    ("blog", "europe", "the region must be an AWS region"),
    (None, "eu-west-1", "got None"),
])
def test_bad_input_names_the_value(stack, region, message):
    with pytest.raises(AnsibleFilterError, match=message):
        stack_names(stack, region=region)
