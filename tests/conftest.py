"""Make `ansible_collections.spotkit.ec2` and the harness importable from this checkout; shared fixtures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# collections/ansible_collections/spotkit/ec2 is a link back to the repository root.
sys.path.insert(0, str(REPO / "collections"))
# The test harness (tests/harness), importable as `harness`.
sys.path.insert(0, str(REPO / "tests"))


@pytest.fixture(scope="session")
def cloudwatch_reference():
    """The CloudWatch agent's official schema and samples (read-only reference, outside the repository)."""
    base = Path(os.environ.get("SPOTKIT_REFERENCE_DIR", REPO.parent / "shared" / "reference"))
    path = base / "cloudwatch-agent"
    if not (path / "schema.json").is_file():
        pytest.fail("CloudWatch agent reference not found at %s (set SPOTKIT_REFERENCE_DIR)" % path)
    return path
