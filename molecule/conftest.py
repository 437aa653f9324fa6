"""Shared by every scenario's testinfra verifier."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    """When a check fails, attach the end of the host's journal to the report: it usually says why."""
    outcome = yield
    report = outcome.get_result()
    host = item.funcargs.get("host") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and host is not None:
        journal = host.run("journalctl --no-pager --lines 80 --output short-iso")
        report.sections.append(("journal (last 80 lines)", journal.stdout or journal.stderr))


class PlaybookRun:
    """A finished ansible-playbook run against one host: its output and its PLAY RECAP counts."""

    def __init__(self, host_name, completed):
        self.returncode = completed.returncode
        self.output = completed.stdout + completed.stderr
        match = re.search(r"^%s\s*:\s*(.*)$" % re.escape(host_name), completed.stdout, re.MULTILINE)
        self.recap = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))} if match else {}

    def __repr__(self):
        return "PlaybookRun(returncode=%d, recap=%r)\n%s" % (self.returncode, self.recap, self.output[-6000:])


@pytest.fixture
def run_playbook(host):
    """Run a playbook of this scenario against the host under test, as molecule's converge does.

    For steps a test must drive itself (a second converge after a change, check mode); molecule puts
    its inventory, scenario directory and Ansible settings in the environment of the verifier.
    """

    def run(playbook, *args, extra_vars=None):
        name = host.backend.host
        command = [
            "ansible-playbook", "--inventory", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", name,
            os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], playbook), *args,
        ]
        if extra_vars is not None:
            command += ["--extra-vars", json.dumps(extra_vars)]
        # Molecule forces colour on; the recap is parsed, so switch it off.
        env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
        completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
        return PlaybookRun(name, completed)

    return run
