"""The ansible_pull role refuses bad input before it changes anything, naming the variable and the value."""

from __future__ import annotations

import json
import os

import pytest

from harness import REPO
from harness.playbook import run_playbook

GOOD = {"ansible_pull_repo_url": "file:///srv/repo.git"}
CASES = [
    ({"ansible_pull_repo_url": ""}, "ansible_pull_repo_url must be the git URL", '""'),
    ({"ansible_pull_playbook": "/etc/pull.yml"}, "ansible_pull_playbook must be a path inside the checkout", '"/etc/pull.yml"'),
    ({"ansible_pull_interval": "every hour"}, "ansible_pull_interval must be a systemd time span", '"every hour"'),
    ({"ansible_pull_randomized_delay": "5 mins!"}, "ansible_pull_randomized_delay must be a systemd time span", '"5 mins!"'),
    ({"ansible_pull_start_delay": ""}, "ansible_pull_start_delay must be a systemd time span", '""'),
    ({"ansible_pull_credential_parameter": "/spotkit/blog/key"}, "ansible_pull_credential_parameter must be the name of an SSM",
     '"file:///srv/repo.git"'),
    ({"ansible_pull_repo_url": "http://example.com/site.git", "ansible_pull_credential_parameter": "/spotkit/blog/token"},
     "ansible_pull_repo_url an https:// or SSH URL", '"http://example.com/site.git"'),
    ({"ansible_pull_repo_url": "https://example.com/site.git", "ansible_pull_credential_parameter": "deploy-key"},
     "ansible_pull_credential_parameter must be the name of an SSM", '"deploy-key"'),
    ({"ansible_pull_allowed_signers": ["a@b ssh-ed25519 AAAA\nc@d ssh-ed25519 BBBB"]},
     "ansible_pull_allowed_signers must be a list of single lines", "a@b ssh-ed25519 AAAA"),
    ({"ansible_pull_known_hosts": ["github.com ssh-ed25519 AAAA\r"]}, "ansible_pull_known_hosts must be a list of single lines",
     "github.com"),
]


def run_role(tmp_path, variables):
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: spotkit.ec2.ansible_pull\n"
    )
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"))
    return run_playbook("-i", "localhost,", "-c", "local", "-e", json.dumps(variables), playbook,
                        cwd=tmp_path, env=env, timeout=120)


@pytest.mark.parametrize(("override", "message", "value"), CASES, ids=[next(reversed(c[0])) for c in CASES])
def test_bad_input_fails_in_preflight_naming_variable_and_value(tmp_path, override, message, value):
    run = run_role(tmp_path, dict(GOOD, **override))
    assert run.rc != 0
    _task, failure = run.failure("localhost")
    assert message in failure
    assert value in failure
    # Refused before the first change: preflight is all that ran.
    assert run.stats("localhost")["changed"] == 0
    assert not [name for name, _result in run.task_results("localhost") if name.startswith("Install")]
