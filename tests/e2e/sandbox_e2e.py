"""What the end-to-end tests share: run the project's playbooks as a user would, look at the sandbox.

A module of its own name, not conftest, so that it does not clash with the other test folders' conftest."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from harness import REPO
from harness.playbook import run_playbook

sys.path.insert(0, str(REPO / "sandbox" / "tools"))
from site_fetch import fetch  # noqa: E402 pylint: disable=wrong-import-position

STATE_DIR = REPO / ".sandbox"
EMULATOR = "http://127.0.0.1:4566"
DOMAIN = "blog.localhost"
SITE = "https://%s:8443/" % DOMAIN
SITE_HTTP = "http://%s:8080/" % DOMAIN
# The roots of the sandbox's ACME CA (pebble), which verify the site's certificate.
ACME_CA = STATE_DIR / "acme-ca.pem"
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
    """(status, body); status 0 when nothing answers. HTTPS verified with the sandbox's ACME CA; no redirect followed."""
    result = fetch(url, str(ACME_CA) if ACME_CA.exists() else None, timeout)
    return result["status"], result["body"] if result["status"] == 200 else ""


def acme_orders():
    """How many orders the sandbox's ACME CA (pebble) took, from its log (which names no domain there)."""
    log = (STATE_DIR / "acme.log").read_text(errors="replace")
    return sum(1 for line in log.splitlines() if "Added order" in line)


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


def stack_group(autoscaling):
    """The stack's Auto Scaling group, as the emulator describes it."""
    return autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["spotkit-" + STACK])["AutoScalingGroups"][0]


def group_states(group):
    """[(instance id, lifecycle state)] of the group's instances."""
    return [(instance["InstanceId"], instance["LifecycleState"]) for instance in group["Instances"]]


def drill_line(run, kind, serving):
    """(down seconds, failed, requests) from the drill's line `drill <kind> <stack>: down <D> s, failed requests <K>/<M>,
    serving instance <id>`, which must name the instance that serves; the figure goes to $SPOTKIT_FIGURES when set."""
    (line,) = [message for message in run.messages() if message.startswith("drill %s " % kind)]
    match = re.fullmatch(r"drill %s %s: down (\d+\.\d) s, failed requests (\d+)/(\d+), serving instance %s" % (kind, STACK, serving), line)
    assert match, line
    if os.environ.get("SPOTKIT_FIGURES"):
        with open(os.environ["SPOTKIT_FIGURES"], "a", encoding="utf-8") as stream:
            stream.write(line + "\n")
    return float(match.group(1)), int(match.group(2)), int(match.group(3))
