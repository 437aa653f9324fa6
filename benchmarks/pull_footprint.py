"""Footprint of a no-change pull run on a converged instance: peak memory and CPU seconds.

    make sandbox                                  # a converged instance, booted by real cloud-init
    .venv/bin/python benchmarks/pull_footprint.py [--runs 3]

Inside the sandbox's instance container, runs `/usr/local/sbin/spotkit-pull` (the whole of
playbooks/pull.yml through ansible-pull, as the timer does when the repository changed) under
benchmarks/measure_tree.py, and prints for each run: wall and CPU seconds of the process tree, its
peak memory (sum of PSS) and the largest single process (RSS), and the changed count of the play's
recap, which must be 0 for the figures to be those of a no-change run. Then one timer tick with no
new commit (`spotkit-pull --only-if-changed`, which runs no play). Targets for a 512 MiB t4g.nano:
peak under 150 MiB, under 10 CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABEL = "spotkit.sandbox"
# Not /tmp: a tmpfs in the instance hides what docker cp writes under it.
MEASURE = "/var/tmp/measure_tree.py"
RECAP = re.compile(r"^localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def instance_container():
    names = subprocess.run(
        ["docker", "ps", "--filter", "label=%s=instance" % LABEL, "--format", "{{.Names}}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    if len(names) != 1:
        sys.exit("expected one running sandbox instance, found %d: bring the sandbox up with `make sandbox`" % len(names))
    return names[0]


def measured_pull(container, *args):
    result = subprocess.run(
        ["docker", "exec", container, "python3", MEASURE, "--", "/usr/local/sbin/spotkit-pull", *args],
        capture_output=True, text=True, check=False,
    )
    if not result.stdout.strip():
        sys.exit("measure_tree.py printed nothing (exit %d):\n%s" % (result.returncode, result.stderr[-3000:]))
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    del figures["command"]
    if figures["returncode"] != 0:
        sys.exit("the pull run failed (exit %s):\n%s" % (figures["returncode"], result.stdout[-3000:]))
    if args:
        # The timer's tick: with no new commit it runs no play, so there is no recap.
        return figures
    recaps = RECAP.findall(result.stdout)
    if not recaps:
        sys.exit("the pull run printed no play recap:\n%s" % result.stdout[-3000:])
    changed, unreachable, failed = (int(value) for value in recaps[-1])
    figures.update(changed=changed, unreachable=unreachable, failed=failed)
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    container = instance_container()
    subprocess.run(["docker", "cp", str(HERE / "measure_tree.py"), "%s:%s" % (container, MEASURE)], check=True)
    runs = [measured_pull(container) for run in range(args.runs)]
    for number, figures in enumerate(runs, 1):
        print("run %d: %s" % (number, json.dumps(figures)))
    print("instance %s, %d no-change runs of playbooks/pull.yml through spotkit-pull:" % (container, len(runs)))
    for key, unit in (("wall_seconds", "s"), ("cpu_seconds", "s"), ("peak_tree_pss_mib", "MiB"), ("peak_single_rss_mib", "MiB")):
        values = [figures[key] for figures in runs]
        print("  %-20s median %7.1f %-3s max %7.1f %s" % (key, statistics.median(values), unit, max(values), unit))
    tick = measured_pull(container, "--only-if-changed")
    print("timer tick with no new commit (spotkit-pull --only-if-changed): %s" % json.dumps(tick))
    if any(figures["changed"] for figures in runs):
        print("  NOTE: a run changed something; these are not the figures of a no-change run")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
