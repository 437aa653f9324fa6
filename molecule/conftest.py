"""Shared by every scenario's testinfra verifier."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

# The test harness (tests/harness): the one way to run a playbook.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from harness.playbook import run_playbook as run_ansible_playbook  # noqa: E402 pylint: disable=wrong-import-position


# A test's host, from testinfra's id: `[ansible://debian12-ansible_pull...]` -> `ansible://debian12`. Platform names
# are `<system>-<scenario>` (.config/molecule/config.yml); other parameters follow the host, after a dash.
HOST_ID = re.compile(r"\[(\w+://[^-\]]+)")


class HostsSideBySide(LoadScopeScheduling):
    """Each host's tests whole on one worker, in file order: they build on each other's state, hosts do not."""

    def _split_scope(self, nodeid):
        match = HOST_ID.search(nodeid)
        return match.group(1) if match else super()._split_scope(nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """A scenario whose verifier runs `-n 2` checks its hosts side by side (xdist's own loadgroup does not work
    with this pytest: it renames nodes through an attribute pytest 9 no longer reads)."""
    return HostsSideBySide(config, log)


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
