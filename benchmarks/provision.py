#!/usr/bin/env python
"""Provisioning speed against the AWS emulator: 1, 2 and 4 stacks from empty, then re-run unchanged.

    .venv/bin/python benchmarks/provision.py [--sizes 1 2 4] [--repeat 1]

Starts its own emulator (sandbox/emulator, through the test harness) on a free loopback port and prints,
for each run, the wall seconds and the CPU seconds (user + system) of the ansible-playbook process
tree. The emulator's own CPU is printed apart. Targets: an unchanged re-run of one stack under 5 s
(provisioning skips the modules whose resources are already as wanted); 4 stacks in parallel under
2x one stack. The machine's load average is printed too:
other work on the machine slows every figure down.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
# pylint: disable=wrong-import-position
from harness.aws import REGION, Aws  # noqa: E402
from harness.emulator import running_emulator  # noqa: E402

# An arm64 image the emulator knows, for the default t4g instance types.
IMAGE = "ami-0e9271c829888680e"


def stacks(count, endpoint):
    """`count` stacks like the example blog: one service, a domain, the defaults otherwise."""
    return {
        "bench-%d" % index: {
            "spot_region": REGION,
            "spot_endpoint_url": endpoint,
            "spot_image_id": IMAGE,
            "spot_domain": "bench-%d.example.com" % index,
            "spot_pull_repo": "https://example.com/site.git",
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


def run(aws, stack_set, forks, unchanged):
    """(wall seconds, CPU seconds of the ansible-playbook tree) of one provisioning run."""
    cpu = cpu_of_children()
    result = aws.playbook("provision", stack_set, forks=forks)
    if result.rc != 0:
        sys.exit("ansible-playbook failed:\n%s" % result.explain())
    if unchanged and any(result.stats(host)["changed"] for host in result.hosts()):
        sys.exit("an unchanged re-run changed something: %s" % {host: result.changed_tasks(host) for host in result.hosts()})
    return result.seconds, cpu_of_children() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=1, help="unchanged re-runs per size (the best is kept)")
    args = parser.parse_args(argv)

    results = {}
    with tempfile.TemporaryDirectory() as workdir, running_emulator(Path(workdir) / "emulator") as emulator:
        aws = Aws(emulator, Path(workdir))
        print("load average at start: %.2f %.2f %.2f (%d CPUs)" % (os.getloadavg() + (os.cpu_count(),)))
        print("%-7s %-12s %8s %8s %13s" % ("stacks", "run", "wall s", "cpu s", "emulator cpu"))
        emulator_pid = int(emulator.pidfile.read_text())
        for size in args.sizes:
            aws.reset()
            stack_set = stacks(size, aws.url)
            for label, times in (("from empty", 1), ("unchanged", args.repeat)):
                best = None
                for _run in range(times):
                    emulator_cpu = cpu_of(emulator_pid)
                    wall, cpu = run(aws, stack_set, max(args.sizes), label == "unchanged")
                    emulator_cpu = cpu_of(emulator_pid) - emulator_cpu
                    if best is None or wall < best[0]:
                        best = (wall, cpu, emulator_cpu)
                results[(size, label)] = best
                print("%-7d %-12s %8.1f %8.1f %13.1f" % ((size, label) + best), flush=True)
    print("load average at end: %.2f %.2f %.2f" % os.getloadavg())
    if (1, "unchanged") in results:
        one = results[(1, "unchanged")][0]
        print("unchanged re-run of 1 stack: %.1f s (target < 5 s)" % one)
        for size in args.sizes:
            if size > 1 and (size, "unchanged") in results:
                print("unchanged re-run of %d stacks: %.2fx one stack (target for 4: < 2x)" % (size, results[(size, "unchanged")][0] / one))
    return 0


if __name__ == "__main__":
    sys.exit(main())
