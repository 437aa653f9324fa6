"""Run a command and print, as JSON, its wall time, CPU seconds and peak memory.

Peak memory is sampled from /proc every 20 ms: the sum of the proportional set sizes (PSS: shared
pages divided among the processes sharing them, so forked workers are not counted twice) of the
command and all its descendants, which is what the machine must hold at once; and the largest
resident set (RSS) of a single process. CPU seconds
are the user + system time of the whole tree, from the kernel's accounting of waited-for children.
Runs with the standard library only, so it can be copied into a test container or an instance.

    python3 measure_tree.py -- ansible-playbook pull.yml
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children():
    """Map pid -> list of child pids, from /proc."""
    tree = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                # The command name may hold spaces and parentheses: split after the last ')'.
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _rss(pid):
    try:
        with open("/proc/%d/statm" % pid) as handle:
            return int(handle.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def tree_memory(root):
    """Return (sum of PSS over root and its descendants, largest single RSS) in bytes."""
    tree = _children()
    total = largest = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        total += _pss(pid)
        largest = max(largest, _rss(pid))
        stack.extend(tree.get(pid, ()))
    return total, largest


def measure(command, interval=0.02):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    process = subprocess.Popen(command)
    peaks = {"tree": 0, "single": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            total, largest = tree_memory(process.pid)
            peaks["tree"] = max(peaks["tree"], total)
            peaks["single"] = max(peaks["single"], largest)
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    returncode = process.wait()
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    mib = 1024.0 * 1024.0
    return {
        "command": command,
        "returncode": returncode,
        "wall_seconds": round(time.monotonic() - start, 2),
        "cpu_seconds": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
        "peak_tree_pss_mib": round(peaks["tree"] / mib, 1),
        "peak_single_rss_mib": round(peaks["single"] / mib, 1),
    }


def main(argv):
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        sys.exit("usage: measure_tree.py -- COMMAND [ARG...]")
    print(json.dumps(measure(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
