#!/usr/bin/env python
"""Provisioning speed against the AWS emulator: 1, 2 and 4 stacks from empty, then re-run unchanged.

    .venv/bin/python benchmarks/provision.py [--sizes 1 2 4] [--repeat 1]

Starts its own emulator (roles/sandbox/files/aws_emulator.py) on a free loopback port and prints,
for each run, the wall seconds and the CPU seconds (user + system) of the ansible-playbook process
tree. The emulator's own CPU is printed apart. Targets (issue 3): an unchanged re-run of one stack
under 15 s; 4 stacks in parallel under 2x one stack. The machine's load average is printed too:
other work on the machine slows every figure down.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
import yaml

REPO = Path(__file__).resolve().parent.parent
EMULATOR = REPO / "roles" / "sandbox" / "files" / "aws_emulator.py"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
REGION = "eu-west-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "spotkit-bench-access-key", "AWS_SECRET_ACCESS_KEY": "spotkit-bench-secret-key"}
# An arm64 image the emulator knows, for the default t4g instance types.
IMAGE = "ami-0e9271c829888680e"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stacks(count, endpoint):
    """`count` stacks like the example blog: one service, a domain, the defaults otherwise."""
    return {
        "bench-%d" % index: {
            "spot_region": REGION,
            "spot_endpoint_url": endpoint,
            "spot_image_id": IMAGE,
            "spot_domain": "bench-%d.example.com" % index,
            "spot_services": [{"name": "blog", "image": "ghcr.io/you/blog:latest", "ports": ["80:80", "443:443"]}],
        }
        for index in range(1, count + 1)
    }


def cpu_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(pid):
    """User + system seconds a running process has used so far."""
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(inventory, env):
    """(wall seconds, CPU seconds of the ansible-playbook tree) of one provisioning run."""
    cpu, start = cpu_of_children(), time.monotonic()
    process = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", str(inventory), "playbooks/provision.yml"],
                             cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if process.returncode != 0:
        sys.exit("ansible-playbook failed:\n%s\n%s" % (process.stdout[-3000:], process.stderr[-3000:]))
    if " changed=0 " not in process.stdout and "unchanged" in str(inventory):
        sys.exit("an unchanged re-run changed something:\n%s" % process.stdout[-3000:])
    return wall, cpu_of_children() - cpu


def reset(endpoint):
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"), timeout=30).read()
    route53 = boto3.client("route53", endpoint_url=endpoint, region_name=REGION,
                           aws_access_key_id="bench", aws_secret_access_key="bench")
    route53.create_hosted_zone(Name="example.com", CallerReference="bench")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=1, help="unchanged re-runs per size (the best is kept)")
    args = parser.parse_args(argv)

    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
    env.update(CREDENTIALS, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               ANSIBLE_DEPRECATION_WARNINGS="false", ANSIBLE_FORKS=str(max(args.sizes)))
    port = free_port()
    endpoint = "http://127.0.0.1:%d" % port
    emulator = subprocess.Popen([sys.executable, str(EMULATOR), "--listen", "127.0.0.1:%d" % port],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {}
    try:
        for _attempt in range(100):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        print("load average at start: %.2f %.2f %.2f (%d CPUs)" % (os.getloadavg() + (os.cpu_count(),)))
        print("%-7s %-12s %8s %8s %13s" % ("stacks", "run", "wall s", "cpu s", "emulator cpu"))
        with tempfile.TemporaryDirectory() as workdir:
            for size in args.sizes:
                reset(endpoint)
                inventory = Path(workdir) / ("%d-stacks.yml" % size)
                inventory.write_text(yaml.safe_dump({"spot_stacks": {"hosts": stacks(size, endpoint)}}))
                unchanged = Path(workdir) / ("%d-stacks-unchanged.yml" % size)
                unchanged.write_text(inventory.read_text())
                for label, path, times in (("from empty", inventory, 1), ("unchanged", unchanged, args.repeat)):
                    best = None
                    for _run in range(times):
                        emulator_cpu = cpu_of(emulator.pid)
                        wall, cpu = run(path, env)
                        emulator_cpu = cpu_of(emulator.pid) - emulator_cpu
                        if best is None or wall < best[0]:
                            best = (wall, cpu, emulator_cpu)
                    results[(size, label)] = best
                    print("%-7d %-12s %8.1f %8.1f %13.1f" % ((size, label) + best), flush=True)
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    print("load average at end: %.2f %.2f %.2f" % os.getloadavg())
    if (1, "unchanged") in results:
        one = results[(1, "unchanged")][0]
        print("unchanged re-run of 1 stack: %.1f s (target < 15 s)" % one)
        for size in args.sizes:
            if size > 1 and (size, "unchanged") in results:
                print("unchanged re-run of %d stacks: %.2fx one stack (target for 4: < 2x)" % (size, results[(size, "unchanged")][0] / one))
    return 0


if __name__ == "__main__":
    sys.exit(main())
