"""Provisioning tests: the real ansible-playbook against the AWS emulator (moto in server mode with
the sandbox's gap layer, sandbox/emulator/moto_gaps.py), nothing in between.

One emulator process serves the whole session, on a free loopback port; each test module resets
its state. The fixture's API is harness.aws.Aws. In parallel (pytest -n N), each worker is a session
of its own, with its own emulator, and runs whole modules (tests/conftest.py).
"""

from __future__ import annotations

import pytest

from harness.aws import Aws
from harness.emulator import running_emulator


@pytest.fixture(scope="session")
def aws(tmp_path_factory):
    with running_emulator(tmp_path_factory.mktemp("emulator")) as emulator:
        yield Aws(emulator, tmp_path_factory.mktemp("aws"))
