"""Make `ansible_collections.spotkit.ec2` and the harness importable from this checkout; shared fixtures;
how parallel workers (pytest -n N, pytest-xdist) share the tests out."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from xdist.scheduler import LoadFileScheduling

REPO = Path(__file__).resolve().parent.parent
# collections/ansible_collections/spotkit/ec2 is a link back to the repository root.
sys.path.insert(0, str(REPO / "collections"))
# The test harness (tests/harness), importable as `harness`.
sys.path.insert(0, str(REPO / "tests"))

# The modules that run longest (several provisioning runs each), longest first: a worker that took
# one of them last would finish long after the others. The rest follow in xdist's order.
LONGEST = tuple("tests/integration/%s.py" % name for name in (
    "test_provision", "test_controller_policy", "test_iam_per_stack_and_region", "test_stack_image", "test_image_lookup",
    "test_alerting", "test_secrets_stay_out_of_output"))


class LongestModulesFirst(LoadFileScheduling):
    """Each module whole to one worker, the longest waiting one first."""

    def _assign_work_unit(self, node):
        first = min(self.workqueue, key=lambda scope: LONGEST.index(scope) if scope in LONGEST else len(LONGEST))
        self.workqueue.move_to_end(first, last=False)
        super()._assign_work_unit(node)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Whatever --dist says: the tests of a module share one emulated account and build on each other."""
    return LongestModulesFirst(config, log)


@pytest.fixture(scope="session")
def cloudwatch_reference():
    """The CloudWatch agent's official schema and samples (read-only reference, outside the repository)."""
    base = Path(os.environ.get("SPOTKIT_REFERENCE_DIR", REPO.parent / "shared" / "reference"))
    path = base / "cloudwatch-agent"
    if not (path / "schema.json").is_file():
        pytest.fail("CloudWatch agent reference not found at %s (set SPOTKIT_REFERENCE_DIR)" % path)
    return path
