"""The stacks the provisioning tests run, and the facts of the emulated account they run in."""

from __future__ import annotations

import copy

import yaml

from harness import REPO
from harness.aws import REGION, TAG, ZONE  # noqa: F401 pylint: disable=unused-import

# Images the emulator knows, one per architecture (its catalogue has no Debian image); the
# emulator's Debian image parameters name these too.
IMAGES = {"arm64": "ami-0e9271c829888680e", "x86_64": "ami-076f415166b04f5fe"}


def load_example_inventory():
    """{stack: variables} of examples/project/inventory, group_vars merged under host_vars."""
    example = REPO / "examples" / "project" / "inventory"
    shared = yaml.safe_load((example / "group_vars" / "spot_stacks.yml").read_text())
    stacks = {}
    for host in yaml.safe_load((example / "hosts.yml").read_text())["spot_stacks"]["hosts"]:
        stacks[host] = dict(shared, **yaml.safe_load((example / "host_vars" / ("%s.yml" % host)).read_text()))
    return stacks


def example_stacks(endpoint_url):
    """The stacks of examples/project/inventory, pointed at the emulator, with an image it knows."""
    return {
        name: dict(copy.deepcopy(stack), spot_region=REGION, spot_endpoint_url=endpoint_url, spot_image_id=IMAGES["arm64"])
        for name, stack in load_example_inventory().items()
    }


def with_state(stacks):
    """The stacks, the blog keeping Caddy's data in the state bucket as the example says, the uptime stack without
    state (so without a bucket): one stack of each kind."""
    changed = copy.deepcopy(stacks)
    assert changed["blog"]["spot_services"][0]["state"], "the example blog keeps its Caddy data as state"
    for service in changed["uptime"]["spot_services"]:
        service.pop("state", None)
    return changed
