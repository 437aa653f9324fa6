"""What the end-to-end tests share: run the project's playbooks as a user would, look at the sandbox.

A module of its own name, not conftest, so that it does not clash with the other test folders' conftest."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from harness import REPO
from harness.playbook import run_playbook

STATE_DIR = REPO / ".sandbox"
EMULATOR = "http://127.0.0.1:4566"
SITE = "http://127.0.0.1:8080/"
STACK = "blog"
LABEL = "spotkit.sandbox"


def ansible_playbook(*args, timeout=1200):
    """Run ansible-playbook from the checkout with its ansible.cfg (default inventory: the sandbox)."""
    run = run_playbook(*args, timeout=timeout)
    if run.rc != 0:
        pytest.fail("ansible-playbook %s failed (%d):\n%s\n%s" % (" ".join(args), run.rc, run.explain(), run.stdout[-3000:]))
    return run


def said(run, text):
    """True when a message of the run (a debug message, say) holds text."""
    return any(text in message for message in run.messages())


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=300)


def sandbox_containers(kind=None):
    """Names of the sandbox's containers (all, or those labelled kind: instance, registry)."""
    label = LABEL if kind is None else "%s=%s" % (LABEL, kind)
    names = docker("ps", "--all", "--filter", "label=" + label, "--format", "{{.Names}}").stdout.split()
    return sorted(names)


def instance_ids():
    """Instance ids of the running instance containers."""
    output = docker("ps", "--filter", "label=%s=instance" % LABEL,
                    "--format", '{{.Label "%s.instance-id"}}' % LABEL).stdout
    return sorted(output.split())


def instance_exec(instance_id, *command, check=True):
    return docker("exec", "spotkit-sandbox-" + instance_id, *command, check=check)


def http_get(url, timeout=5):
    """(status, body); status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


def wait_for(predicate, timeout, interval=3, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(interval)


def stack_address(emulator):
    """The one Elastic IP tagged with the sandbox stack, as the emulator describes it."""
    addresses = emulator("ec2").describe_addresses(
        Filters=[{"Name": "tag:spotkit:stack", "Values": [STACK]}])["Addresses"]
    assert len(addresses) == 1, json.dumps(addresses, default=str)
    return addresses[0]
