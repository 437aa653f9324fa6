"""The cloudwatch_agent role's preflight: bad input fails before any change, naming the variable
and the bad value. One ansible-playbook run checks every case: each case is an inventory host
(a local connection) with its own variables and facts (set by a small module, case_facts)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from harness import REPO
from harness.playbook import run_playbook

AWS_KEY = "9376 16F3 450B 7D80 6CBD 9725 D581 6730 3B78 9C72"
GOOD = {"cloudwatch_agent_stack": "blog", "cloudwatch_agent_services": [{"name": "blog"}]}
FACTS = {"architecture": "x86_64", "distribution": "Debian", "service_mgr": "systemd"}

# case: (variables over GOOD and the facts, words the error must hold)
CASES = {
    "good": ({}, None),
    "no-stack": ({"cloudwatch_agent_stack": ""}, ["cloudwatch_agent_stack", "got ''"]),
    "bad-stack": ({"cloudwatch_agent_stack": "Blog"}, ["cloudwatch_agent_stack", "got 'Blog'"]),
    "reserved-service": ({"cloudwatch_agent_services": [{"name": "syslog"}]},
                         ["cloudwatch_agent_services", "'syslog' is reserved"]),
    "extra-log-without-path": ({"cloudwatch_agent_extra_logs": [{"name": "app"}]},
                               ["cloudwatch_agent_extra_logs", "missing required field 'file_path'"]),
    "bad-region": ({"cloudwatch_agent_region": "Europe"}, ["cloudwatch_agent_region", "got 'Europe'"]),
    "bad-version": ({"cloudwatch_agent_version": "newest"}, ["cloudwatch_agent_version", "got 'newest'"]),
    "ftp-mirror": ({"cloudwatch_agent_package_base_url": "ftp://mirror"},
                   ["cloudwatch_agent_package_base_url", "got 'ftp://mirror'"]),
    "credentials-in-url": ({"cloudwatch_agent_package_base_url": "https://me:s3cret@mirror"},
                           ["cloudwatch_agent_package_base_url", "got 'https://***@mirror'"]),
    "short-fingerprint": ({"cloudwatch_agent_gpg_fingerprint": "3B78 9C72"},
                          ["cloudwatch_agent_gpg_fingerprint", "got '3B78 9C72'"]),
    "config-in-agent-folder": (
        {"cloudwatch_agent_config_file": "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"},
        ["cloudwatch_agent_config_file", "got '/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json'"]),
    "unknown-architecture": ({"case_facts": dict(FACTS, architecture="riscv64")}, ["architecture 'riscv64'"]),
    "unknown-distribution": ({"case_facts": dict(FACTS, distribution="Fedora")}, ["distribution 'fedora'"]),
    "no-systemd": ({"case_facts": dict(FACTS, service_mgr="openrc")}, ["service_mgr", "'openrc'"]),
}

PLAYBOOK = """
- name: Preflight of the cloudwatch_agent role
  hosts: all
  gather_facts: false
  tasks:
    - name: Set the facts of the case
      case_facts:
        facts: "{{ case_facts }}"

    - name: Run the preflight
      ansible.builtin.include_role:
        name: spotkit.ec2.cloudwatch_agent
        tasks_from: preflight.yml
"""

# Returns its argument as the host's facts, as setup would.
CASE_FACTS_MODULE = """
from ansible.module_utils.basic import AnsibleModule

module = AnsibleModule(argument_spec={"facts": {"type": "dict", "required": True}})
module.exit_json(changed=False, ansible_facts=module.params["facts"])
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    work = tmp_path_factory.mktemp("preflight")
    hosts = {}
    for case, (variables, _words) in CASES.items():
        hosts[case] = dict(GOOD, ansible_connection="local", ansible_python_interpreter=sys.executable, case_facts=FACTS)
        hosts[case].update(variables)
    (work / "inventory.json").write_text(json.dumps({"all": {"hosts": hosts}}))
    (work / "preflight.yml").write_text(PLAYBOOK)
    (work / "library").mkdir()
    (work / "library" / "case_facts.py").write_text(CASE_FACTS_MODULE)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"), ANSIBLE_INVENTORY_ENABLED="yaml",
               ANSIBLE_HOST_KEY_CHECKING="false")
    run = run_playbook("-i", work / "inventory.json", work / "preflight.yml", cwd=work, env=env)
    # A loop task's message is its failed items' (PlaybookRun.failure).
    failures = {host: run.failure(host)[1] for host in run.hosts() if run.failure(host)}
    return run.result["stats"], failures


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_the_preflight_naming_the_variable(outcomes, case):
    stats, failures = outcomes
    words = CASES[case][1]
    if words is None:
        assert stats[case]["failures"] == 0, failures.get(case)
        return
    assert stats[case]["failures"] == 1
    for word in words:
        assert word in failures[case]
