"""The ansible_pull role refuses bad input before it changes anything, naming the variable and the value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
GOOD = {"ansible_pull_repo_url": "file:///srv/repo.git"}
CASES = [
    ({"ansible_pull_repo_url": ""}, "ansible_pull_repo_url must be the git URL", '""'),
    ({"ansible_pull_playbook": "/etc/pull.yml"}, "ansible_pull_playbook must be a path inside the checkout", '"/etc/pull.yml"'),
    ({"ansible_pull_interval": "every hour"}, "ansible_pull_interval must be a systemd time span", '"every hour"'),
    ({"ansible_pull_randomized_delay": "5 mins!"}, "ansible_pull_randomized_delay must be a systemd time span", '"5 mins!"'),
    ({"ansible_pull_start_delay": ""}, "ansible_pull_start_delay must be a systemd time span", '""'),
]


def run_role(tmp_path, variables):
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: spotkit.ec2.ansible_pull\n"
    )
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        [Path(sys.executable).with_name("ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", json.dumps(variables), str(playbook)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )


@pytest.mark.parametrize(("override", "message", "value"), CASES, ids=[next(iter(c[0])) for c in CASES])
def test_bad_input_fails_in_preflight_naming_variable_and_value(tmp_path, override, message, value):
    result = run_role(tmp_path, dict(GOOD, **override))
    assert result.returncode != 0
    assert message in result.stdout
    assert value in result.stdout
    # Refused before the first change: preflight is all that ran.
    assert "changed=0" in result.stdout
    assert "TASK [spotkit.ec2.ansible_pull : Install" not in result.stdout
