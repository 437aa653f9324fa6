"""Shared by every scenario's testinfra verifier."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

# The test harness (tests/harness): the one way to run a playbook.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from harness.playbook import run_playbook as run_ansible_playbook  # noqa: E402 pylint: disable=wrong-import-position


def pytest_collection_modifyitems(items):
    """One xdist group per host: a scenario whose verifier runs `-n 2 --dist loadgroup` checks its hosts side
    by side, each host's tests in file order on one worker (they build on each other's state)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "_testinfra_host" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(callspec.params["_testinfra_host"].backend.get_pytest_id()))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    """When a check fails, attach the end of the host's journal to the report: it usually says why."""
    outcome = yield
    report = outcome.get_result()
    host = item.funcargs.get("host") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and host is not None:
        journal = host.run("journalctl --no-pager --lines 80 --output short-iso")
        report.sections.append(("journal (last 80 lines)", journal.stdout or journal.stderr))


@pytest.fixture
def run_playbook(host):
    """Run a playbook of this scenario against the host under test, as molecule's converge does.

    For steps a test must drive itself (a second converge after a change, check mode); molecule puts
    its inventory, scenario directory and Ansible settings in the environment of the verifier. The
    result is a harness.playbook.PlaybookRun of the one host.
    """

    def run(playbook, *args, extra_vars=None):
        name = host.backend.host
        command = ["--inventory", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", name,
                   os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], playbook), *args]
        if extra_vars is not None:
            command += ["--extra-vars", json.dumps(extra_vars)]
        return run_ansible_playbook(*command, cwd=None, timeout=900)

    return run
